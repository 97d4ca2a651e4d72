#!/usr/bin/env sh
# The wheel holds the whole product and no more: built from this checkout and installed into an empty virtualenv,
# it imports every module of the source tree (those of an uninstalled extra fail only on that extra) except the
# speed benchmarks, which it must not hold (setup.py's NOT_SHIPPED); `synthml --help` and an episode run from it.
# Usage: scripts/check_wheel.sh [PYTHON] (default .venv/bin/python; run from the root).
set -eu
PY=${1:-.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf build  # setuptools packs what build/lib holds: a module removed since the last build would ship
"$PY" -m pip wheel -q --no-deps -w "$work/dist" .
rm -rf build
"$PY" -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$work"/dist/*.whl
"$PY" -c 'from tests.test_architecture import modules; print("\n".join(sorted(modules())))' > "$work/modules"
cd "$work"
venv/bin/python - modules <<'PYTHON'
import importlib, importlib.util, sys

EXTRAS = {"docker", "swerex", "aiohttp", "ray", "verl", "torch", "transformers", "gguf", "llama_cpp"}
NOT_SHIPPED = "synthml.benchmarks.speed"
if importlib.util.find_spec(NOT_SHIPPED) is not None:
    sys.exit(f"the wheel holds {NOT_SHIPPED}: the speed benchmarks are experiments, left out by setup.py")
names = [name for name in open(sys.argv[1]).read().split()
         if name != NOT_SHIPPED and not name.startswith(f"{NOT_SHIPPED}.")]
missing, extra_only = [], []
for name in names:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as e:
        (extra_only if e.name and e.name.split(".")[0] in EXTRAS else missing).append(f"{name}: {e}")
print(f"wheel: {len(names) - len(missing) - len(extra_only)} of {len(names)} modules import; "
      f"{len(extra_only)} need an extra that is not installed")
if missing:
    sys.exit("modules of the source tree that the wheel lacks or cannot import:\n" + "\n".join(missing))
PYTHON
venv/bin/synthml --help > /dev/null
HF_HUB_OFFLINE=1 venv/bin/synthml run --max-steps 5
