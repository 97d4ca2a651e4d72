"""One episode's host resources: its folders, its agent sandbox, and scoring of what it holds.

What the agent's sandbox writes on the host (its home, with the workspace, and its /tmp) lies in one
folder, `sandbox/`, bounded in bytes and inodes where that can be done (disk.py)."""

import shutil
import tempfile
import weakref
from pathlib import Path

from synthml.envs.evaluation import Evaluation, Split, evaluate
from synthml.envs.runtime import generic_runtime, task_runtime
from synthml.envs.sandbox import Mounts, Sandbox, disk
from synthml.envs.sandbox.config import SandboxConfig
from synthml.envs.sandbox.fake import FakeConfig
from synthml.envs.sandbox.files import remove_tree
from synthml.envs.workspace import clone_workspace, pristine_workspace
from synthml.errors import SandboxError
from synthml.tasks.mlgym import mlgym_answers
from synthml.tasks.task import PROVENANCE, Task


class Session:
    def __init__(self, task: Task, sandbox: SandboxConfig, runtime: Path | None) -> None:
        self.task, self.sandbox, self.runtime = task, sandbox, runtime
        self.dir = Path(tempfile.mkdtemp(prefix="synthml-episode-"))
        self.disk = None
        try:
            self.disk = disk.bounded(getattr(sandbox, "limits", None), self.dir / "sandbox")
            self.home = self.dir / "sandbox" / "home"
            self.home.mkdir()
            clone_workspace(pristine_workspace(task), self.home / "workspace")
            if task.config.memory_path and task.path(task.config.memory_path).is_file():
                shutil.copy2(task.path(task.config.memory_path), self.home / "memory.json")
            self.box: Sandbox = sandbox.build(Mounts(
                workspace=self.home / "workspace", home=self.home, tmp=self.dir / "sandbox" / "tmp", runtime=runtime))
        except BaseException:
            _clean_up(None, self.disk, self.dir)
            raise
        self._cleanup = weakref.finalize(self, _clean_up, self.box, self.disk, self.dir)  # also if never closed
        try:
            _refuse_exposed(self.box, task)
        except SandboxError:
            self.close()
            raise

    def evaluate(self, split: Split) -> Evaluation:
        return evaluate(self.task, self.box, split, sandbox=self.sandbox, runtime=self.runtime, scratch=self.dir)

    def close(self) -> None:
        self._cleanup()


def _clean_up(box: Sandbox | None, bounded: "disk.BoundedFolder | None", folder: Path) -> None:
    try:
        if box is not None:
            box.close()
    finally:
        try:
            if bounded is not None:
                bounded.close()
        finally:
            remove_tree(folder)


def runtime_for(task: Task, sandbox: SandboxConfig) -> Path | None:
    """The task's runtime folder (built on first use); none for the fake sandbox."""
    if task.config.use_generic_conda or not task.config.requirements_path:
        return generic_runtime_for(sandbox)
    if isinstance(sandbox, FakeConfig):
        return None
    return task_runtime(task.path(task.config.requirements_path), task_root=task.root).path


def generic_runtime_for(sandbox: SandboxConfig) -> Path | None:
    """The generic runtime's folder (built on first use); none for the fake sandbox."""
    return None if isinstance(sandbox, FakeConfig) else generic_runtime().path


def _refuse_exposed(box: Sandbox, task: Task) -> None:
    """What the agent must not read (test labels, MLGym's shipped answers, the reference solution, the record
    of how the task was written) must not lie anywhere its sandbox shows (e.g. a bank under /usr)."""
    private = [*task.hidden_files, task.config.reference_solution, PROVENANCE]
    paths = [task.path(p) for p in private if p and task.path(p).exists()]
    for path in [*paths, *mlgym_answers(task).values()]:
        if box.exposes(path):
            raise SandboxError(f"{path}: the sandbox would show this file of task {task.id} to the agent; use "
                               "an isolating sandbox, or keep the bank out of the folders it shows")

