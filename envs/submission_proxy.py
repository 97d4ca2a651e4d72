"""The agent's code runs beside the evaluator, never inside it (MLGym's Python-submission tasks).

MLGym's evaluators import the agent's module (`from strategy import row_strategy`), which could then
print its own score or patch the evaluator. Here the agent's code files leave the evaluation view: a
copy of the view without hidden files goes to a second sandbox, where `submission_wire.py` imports
the agent's modules, and the evaluator imports stand-ins of the same names that forward every call
over two FIFOs (hard-linked into both read-only views; a FIFO opens for writing on a read-only mount).
Only the evaluator's own output carries metrics. The host never reads the pipes: it only opens and
closes them to wake a side whose partner has ended.
"""

import contextlib
import keyword
import os
import shlex
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from synthml.envs.sandbox import WORKSPACE, Mounts, Output, Sandbox
from synthml.envs.sandbox.config import SandboxConfig
from synthml.envs.sandbox.files import remove_tree
from synthml.envs.sandbox.swerex import SwerexConfig
from synthml.envs.submission_wire import BYE
from synthml.envs.workspace import link_tree

CHANNEL = ".synthml-submission"
"""Folder, in both views, of the two FIFOs and the wire module."""
WIRE = Path(__file__).with_name("submission_wire.py")
PIPES = ("requests", "responses")
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".so", ".pyd")
"""What Python imports as code: none of the agent's such files stays in the evaluation view."""
HANG_UP_GRACE = 2.0
"""Seconds the submission's process gets to end once the evaluator has (it ends at once when it is honest)."""
PROXY = '''"""Written by SynthML: {module} runs in a sandbox of its own, and what is read from it is fetched there."""


def _synthml_bind():
    import importlib.util
    import sys

    wire = sys.modules.get("_synthml_wire")
    if wire is None:
        spec = importlib.util.spec_from_file_location("_synthml_wire", {wire!r})
        wire = importlib.util.module_from_spec(spec)
        sys.modules["_synthml_wire"] = wire
        spec.loader.exec_module(wire)
    wire.bind({module!r}, globals())


_synthml_bind()
del _synthml_bind
'''


def supports(sandbox: SandboxConfig) -> bool:
    """Whether both sandboxes see one host folder (SWE-ReX uploads copies, so no pipe joins them)."""
    return not isinstance(sandbox, SwerexConfig)


def isolate_submission(view: Path, own: Path, entries: list[str], kept: set[str], evaluator: str,
                       runtime: Path | None) -> list[str]:
    """Copy `view` (the pristine workspace and the submission, no hidden files yet) to `own`, the agent
    process's view; in `view`, replace each of the agent's code files under `entries` (but not `kept`)
    by a stand-in. Returns the modules the stand-ins forward to (none: no second sandbox is needed)."""
    code = _code_files(view, entries, kept)
    if not code:
        return []
    link_tree(view, own)
    shadowed = _shadowed(runtime)
    modules = []
    for relative in code:
        remove_tree(view / relative)  # unlinked first: `own` holds the same inode
        module = module_name(relative, PurePosixPath(evaluator).parent)
        if module and (relative in entries or module.split(".")[0] not in shadowed):  # the task named it
            (view / relative).write_text(PROXY.format(module=module, wire=f"{WORKSPACE}/{CHANNEL}/{WIRE.name}"))
            modules.append(module)
    _lay_channel(view, own)
    return modules


def module_name(relative: str, evaluator_dir: PurePosixPath) -> str | None:
    """The name the evaluator imports `relative` by (its folder is first on sys.path), None if it cannot."""
    path = PurePosixPath(relative)
    if path.suffix != ".py" or not path.is_relative_to(evaluator_dir):
        return None
    parts = list(path.relative_to(evaluator_dir).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return None
    return ".".join(parts)


def server_command(evaluator: str, modules: list[str]) -> str:
    """The agent sandbox's command: the wire module, isolated from PYTHON* variables, serving `modules`."""
    root = PurePosixPath(WORKSPACE, PurePosixPath(evaluator).parent)
    return shlex.join(["python", "-I", f"{WORKSPACE}/{CHANNEL}/{WIRE.name}", str(root), *modules])


@dataclass
class Beside:
    """What the evaluator and the submission's own process printed."""

    evaluator: Output
    submission: Output | None = None


def run_beside_submission(sandbox: SandboxConfig, runtime: Path | None, view: Path, own: Path,
                          command: str, serve: str, timeout: float) -> Beside:
    """Run the evaluator on `view` while the submission serves it from `own`, each in its own sandbox."""
    evaluator = sandbox.build(Mounts(workspace=view, read_only=True, runtime=runtime))
    try:
        process = _SubmissionProcess(sandbox.build(Mounts(workspace=own, read_only=True, runtime=runtime)),
                                     serve, timeout, [view / CHANNEL / pipe for pipe in PIPES])
        try:
            out = evaluator.run(command, timeout=timeout)
        finally:
            process.stop()
    finally:
        evaluator.close()
    return Beside(out, process.output)


@dataclass
class _SubmissionProcess:
    box: Sandbox
    command: str
    timeout: float
    pipes: list[Path]
    output: Output | None = None
    error: BaseException | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    evaluator_done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._serve, name="synthml-submission", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.output = self.box.run(self.command, self.timeout)
        except BaseException as e:  # raised again by stop() unless the evaluator had already finished
            self.error = e
        finally:
            self.ended.set()
            while not self.evaluator_done.wait(0.05):  # an evaluator still waiting on the pipes: wake it
                _hang_up(self.pipes)

    def stop(self) -> None:
        """After the evaluator: let the submission's process end, or close its sandbox (which kills what it
        still runs), then wait for it."""
        self.evaluator_done.set()
        _say_bye(self.pipes[0])
        deadline = time.monotonic() + HANG_UP_GRACE
        while not self.ended.wait(0.05) and time.monotonic() < deadline:
            _hang_up(self.pipes)
        closed_early = not self.ended.is_set()
        if closed_early:
            self.box.close()
        self.thread.join()
        self.box.close()
        if self.error is not None and not closed_early:
            raise self.error


def _hang_up(pipes: list[Path]) -> None:
    """Open and close each FIFO at both ends: a side blocked opening it goes on, and then finds no partner."""
    for pipe in pipes:
        with contextlib.suppress(OSError):
            os.close(os.open(pipe, os.O_RDWR | os.O_NONBLOCK))


def _say_bye(requests: Path) -> None:
    """Tell a submission still reading requests that the evaluator has ended (it may hold the pipe open)."""
    with contextlib.suppress(OSError):  # no reader: it has ended or never opened the pipe
        fd = os.open(requests, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, BYE)
        finally:
            os.close(fd)


def _lay_channel(view: Path, own: Path) -> None:
    """The FIFOs and the wire module, the same inodes in both views."""
    for root in (view, own):
        remove_tree(root / CHANNEL)  # the agent's own folder of that name, if any
        (root / CHANNEL).mkdir(mode=0o755)
        os.chmod(root / CHANNEL, 0o755)
    for pipe in PIPES:
        os.mkfifo(view / CHANNEL / pipe)
        os.chmod(view / CHANNEL / pipe, 0o666)  # each sandbox has a uid of its own as root
    (view / CHANNEL / WIRE.name).write_bytes(WIRE.read_bytes())
    for name in (*PIPES, WIRE.name):
        os.link(view / CHANNEL / name, own / CHANNEL / name)


def _code_files(view: Path, entries: list[str], kept: set[str]) -> list[str]:
    """The code files under `entries` of the view (iterative: a deep folder cannot exhaust recursion)."""
    found, pending = [], [view / entry for entry in entries]
    while pending:
        path = pending.pop()
        relative = path.relative_to(view).as_posix()
        if relative in kept or not os.path.lexists(path):
            continue
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            pending += list(path.iterdir())
        elif stat.S_ISREG(mode) and (path.name.endswith(CODE_SUFFIXES) or "__pycache__" in Path(relative).parts):
            found.append(relative)
    return sorted(found)


def _shadowed(runtime: Path | None) -> set[str]:
    """Top-level names the evaluator imports from Python itself or its runtime: an agent's module of such a
    name (one the task did not name as a submission file) gets no stand-in."""
    names = set(sys.stdlib_module_names) | {"_synthml_wire"}
    for packages in (runtime.glob("lib/python*/site-packages") if runtime else []):
        names |= {p.name.split(".")[0].split("-")[0] for p in packages.iterdir()}
    return names
