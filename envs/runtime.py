"""Task runtimes: the Python that agents and evaluators use inside a sandbox.

A runtime is a virtualenv built on the host and mounted read-only. The generic one carries the
common ML stack (MLGym's `use_generic_conda`); a task with `requirements_path` gets its own, built on
demand and cached by the hash of its requirements. Neither contains SynthML or any secret; the
base interpreter's own site-packages are masked in the sandbox.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from filelock import FileLock

from synthml.errors import SandboxError, TaskError

GENERIC = "generic"
CPU_TORCH = (("torch==2.13.0+cpu",), ("torch==2.13.0", "--index-url", "https://download.pytorch.org/whl/cpu"))
"""Ways to add CPU torch to the generic runtime, tried in turn (a local wheel, then PyTorch's CPU
index); where none installs, the runtime goes without torch, with a note."""
_READY = "synthml-runtime.json"


@dataclass(frozen=True)
class Runtime:
    path: Path

    @property
    def facts(self) -> dict:
        return json.loads((self.path / _READY).read_text())

    def visible_paths(self) -> list[Path]:
        """Folders a sandbox must mount read-only for this runtime to work."""
        return [self.path, Path(self.facts["base_prefix"])]

    def masked_paths(self) -> list[Path]:
        """The base interpreter's site-packages: host packages (SynthML among them) stay unseen."""
        return [Path(p) for p in self.facts["base_site_packages"] if Path(p).is_dir()]


def cache_dir() -> Path:
    root = os.environ.get("SYNTHML_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "synthml"
    return Path(root).expanduser()


def generic_requirements() -> list[str]:
    text = (files("synthml.envs") / "runtime-generic.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def generic_runtime(*, torch: bool = True, log=print) -> Runtime:
    """The generic runtime, built on first use (needs the package index once)."""
    optional = [CPU_TORCH] if torch else []  # one group of alternatives
    return ensure_runtime(GENERIC, generic_requirements(), optional=optional, log=log)


def task_runtime(requirements_file: Path, *, log=print) -> Runtime:
    """A per-task runtime from a requirements.txt, cached by the file's content. A task is untrusted:
    only plain requirements (no pip options, URLs or paths) are accepted, and only wheels install,
    so no code of the task's choosing runs on the host."""
    lines = [ln.split("#", 1)[0].strip() for ln in requirements_file.read_text().splitlines()]
    requirements = [ln for ln in lines if ln]
    for line in requirements:
        if line.startswith("-") or "://" in line or "@" in line or "/" in line:
            raise TaskError(f"{requirements_file}: '{line}' is not a plain requirement (name and version "
                            "specifier); pip options, URLs and paths are not accepted")
    return ensure_runtime("task", requirements, log=log)


def ensure_runtime(name: str, requirements: list[str], *, optional: list[tuple[tuple[str, ...], ...]] = (),
                   log=print) -> Runtime:
    """Build once, cached by Python version and requirements; each `optional` group is a list of
    alternative pip arguments, the first that installs wins."""
    key = hashlib.sha256(json.dumps([sys.version, requirements, list(optional)]).encode()).hexdigest()[:16]
    path = cache_dir() / "runtimes" / f"{name}-{key}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not (path / _READY).is_file():
            log(f"building the {name} task runtime in {path} (once; needs the package index)")
            _build(path, requirements, optional, log)
    return Runtime(path)


def _build(path: Path, requirements: list[str], optional: list[tuple[tuple[str, ...], ...]], log) -> None:
    shutil.rmtree(path, ignore_errors=True)
    _check([sys.executable, "-m", "venv", str(path)], path)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--only-binary=:all:"]
    if requirements:
        _check([*pip, *requirements], path)
    installed_optional = []
    for alternatives in optional:
        chosen = next((args for args in alternatives
                       if subprocess.run([*pip, "--timeout", "20", *args], capture_output=True).returncode == 0), None)
        if chosen is None:
            log(f"note: {alternatives[0][0]} does not install here; the runtime goes without it")
        else:
            installed_optional.append(chosen[0])
    facts = {"requirements": requirements, "optional": installed_optional, "python": sys.version,
             "base_prefix": sys.base_prefix, "base_site_packages": _base_site_packages()}
    (path / _READY).write_text(json.dumps(facts, indent=1))
    os.chmod(path, 0o755)


def _base_site_packages() -> list[str]:
    """Site-packages of the base interpreter, asked of the base interpreter itself."""
    base_python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    probe = "import json, site; print(json.dumps(site.getsitepackages()))"
    out = subprocess.run([str(base_python), "-I", "-S", "-c", probe], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else []


def _check(command: list[str], path: Path) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        raise SandboxError(f"building the task runtime failed: `{' '.join(command)}` said:\n"
                           f"{result.stderr[-2000:]}\nFix: make the package index reachable once, or "
                           "correct the task's requirements_path")
