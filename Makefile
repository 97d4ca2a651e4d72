# Set-up on a fresh Debian/Ubuntu machine: `make run` (main job: generate a small bank, play one of
# its tasks) or `make test` (test suite).
PY ?= python3
BIN := .venv/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := $(SUDO) apt-get install -y -qq

.PHONY: run test system install

run: install
	$(BIN)/synthml generate --out bank --n 8 --seed 0
	$(BIN)/synthml run --bank bank

test: install
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q

install: system $(BIN)/synthml
	$(BIN)/synthml runtime

system:
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "SynthML needs Python >= 3.11; run make PY=python3.11 (or newer)"; exit 1; }
	@command -v bwrap >/dev/null || { $(SUDO) apt-get update -qq && $(APT) bubblewrap; }
	@$(PY) -c 'import ensurepip' 2>/dev/null || { $(SUDO) apt-get update -qq && $(APT) python3-venv; }

$(BIN)/synthml: pyproject.toml
	$(PY) -m venv .venv
	$(BIN)/pip install -q -e '.[dev]'
	touch $@
