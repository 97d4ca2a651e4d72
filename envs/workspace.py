"""Workspaces: the pristine initial workspace of a task, and per-episode copies of it.

The pristine copy (starter code, data, read-only marks, as MLGym lays a workspace out) is built once
per task version in the cache. Episodes copy it; evaluation views link it, so the evaluator's files
always come from here and never from what the agent left.
"""

import os
import shutil
import stat
import tempfile
from pathlib import Path

from filelock import FileLock

from synthml.envs.runtime import cache_dir
from synthml.envs.sandbox.files import remove_tree
from synthml.errors import TaskError
from synthml.tasks.mlgym import mlgym_answers
from synthml.tasks.paths import confined
from synthml.tasks.task import Task

READ_ONLY_FILE, READ_ONLY_DIR = 0o444, 0o555
LAYOUT = 2
"""Bumped when what a pristine workspace holds changes (2: MLGym's answers withheld), so older caches go unused."""


def pristine_workspace(task: Task) -> Path:
    path = _pristine_path(task)
    if path.is_dir():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not path.is_dir():
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=path.parent))
            _lay_out(task, staging / "workspace")
            (staging / "workspace").rename(path)
            staging.rmdir()
    return path


def forget_pristine_workspace(task: Task) -> None:
    """Drop a task version's cached workspace (the validator's, once the task's scores change its version)."""
    path = _pristine_path(task)
    with FileLock(str(path) + ".lock"):
        remove_tree(path)
    Path(str(path) + ".lock").unlink(missing_ok=True)


def _pristine_path(task: Task) -> Path:
    return confined(cache_dir() / "workspaces", f"{task.id}-{task.version}-l{LAYOUT}")


def clone_workspace(pristine: Path, dest: Path) -> None:
    """Copy for the agent; read-only files are hard-linked where the agent cannot chmod them (root)."""
    link = os.geteuid() == 0
    shutil.copytree(pristine, dest, symlinks=True, copy_function=_link_read_only if link else shutil.copy2)
    os.chmod(dest, 0o755)


def link_tree(source: Path, dest: Path) -> None:
    """A cheap copy for read-only use: every file hard-linked (copied across file systems)."""
    shutil.copytree(source, dest, symlinks=True, copy_function=_link_or_copy, dirs_exist_ok=True)


def _lay_out(task: Task, ws: Path) -> None:
    ws.mkdir(parents=True)
    local = [d for d in task.datasets if d.is_local]
    for i, dataset in enumerate(local):
        source = task.path(dataset.data_path)
        if not source.exists():
            raise TaskError(f"{task.yaml_path}: dataset '{dataset.name}' has data_path {dataset.data_path}, which "
                            f"does not exist under {task.root}; download or generate the data first")
        _copy(source, ws / "data" if i == 0 else ws / "data" / Path(dataset.data_path).name)
    for answer in mlgym_answers(task):  # the evaluation view gets them; the agent never does
        (ws / answer).unlink(missing_ok=True)
    if local:
        _make_read_only(ws / "data")
    for entry in task.config.starter_code:
        _copy(task.path(entry), ws / Path(entry).name)
    if task.config.evaluation_read_only:
        for entry in task.config.evaluation_paths:
            _make_read_only(ws / entry)


def _copy(source: Path, dest: Path) -> None:
    """Links are copied as links (the task's checks keep them inside the task root)."""
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest, follow_symlinks=False)


def _make_read_only(path: Path) -> None:
    for p in sorted([path, *path.rglob("*")], reverse=True) if path.is_dir() else [path]:
        os.chmod(p, READ_ONLY_DIR if p.is_dir() else READ_ONLY_FILE)


def _link_read_only(source: str, dest: str) -> None:
    if os.stat(source).st_mode & stat.S_IWUSR:
        shutil.copy2(source, dest)
    else:
        _link_or_copy(source, dest)


def _link_or_copy(source: str, dest: str) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)
