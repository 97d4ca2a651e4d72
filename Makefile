# Set-up on a fresh Debian/Ubuntu machine: `make run` (main job) or `make test` (test suite).
PY ?= python3
BIN := .venv/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test system install

run: install
	$(BIN)/synthml run

test: install
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q

install: system $(BIN)/synthml
	$(BIN)/synthml runtime

system:
	@command -v bwrap >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq bubblewrap; }

$(BIN)/synthml: pyproject.toml
	$(PY) -m venv .venv
	$(BIN)/pip install -q -e '.[dev]'
	touch $@
