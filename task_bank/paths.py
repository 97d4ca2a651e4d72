"""The file paths a task names: all inside the task root, the required ones present, hidden files
kept out of everything that is copied into the agent's workspace, and no link leading out.

A generated task is untrusted: one that named `../../etc/shadow` as data, or shipped a symlink to a
host file, would copy host files into the agent's sandbox. Its id names host folders (the workspace
cache, a bank's task dir, a bench's run files), so it must be a slug, and every host path built from
task data goes through `confined`.
"""

import os
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator

from synthml.errors import TaskError

if TYPE_CHECKING:
    from synthml.task_bank.task import Task

TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""A task id: a letter or digit, then up to 127 letters, digits, `.`, `_` or `-` (no `..`)."""


def task_id_problem(task_id: str) -> str | None:
    """Why `task_id` cannot name a host folder, with the fix; None for a good id."""
    if TASK_ID.fullmatch(task_id) and ".." not in task_id:
        return None
    return (f"{task_id!r} is not a task id: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit and without '..' (e.g. house-prices-v2); it names host folders")


def _checked_task_id(task_id: str) -> str:
    if problem := task_id_problem(task_id):
        raise ValueError(problem)
    return task_id


TaskId = Annotated[str, AfterValidator(_checked_task_id)]
"""A task id field of a schema: refused at load unless it is a slug (see task_id_problem)."""


def confined(root: Path, *parts: str) -> Path:
    """`root / parts`, refused where it would lie outside `root` (`..`, an absolute part or a link out)."""
    path = Path(root).joinpath(*parts)
    if not path.resolve().is_relative_to(Path(root).resolve()):
        raise TaskError(f"{path}: task data ({'/'.join(parts)!r}) would place this outside {root}; the task id or "
                        "path must stay inside it (use a plain task id such as house-prices-v2)")
    return path


def check_task_paths(task: "Task") -> None:
    fields = _path_fields(task)
    for field, paths in fields.items():
        for p in paths:
            inside(task.path(p), task.root, task.yaml_path, field)
    for field in ("starter_code", "hidden_files", "requirements_path", "reference_solution"):
        for p in fields[field]:
            if not task.path(p).exists():
                raise TaskError(f"{task.yaml_path}: field '{field}': {p} does not exist under {task.root}")
    _check_workspace_paths(task)
    _check_unshipped(task, [*task.hidden_files, *fields["reference_solution"]],
                     [*fields["starter_code"], *fields["data_path"]])
    for p in (*fields["starter_code"], *fields["data_path"]):
        _check_links(task, task.path(p))


def inside(path: Path, root: Path, yaml_path: Path, field: str) -> Path:
    """Refuse paths that leave the task root (by `..`, an absolute path or a symlink)."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise TaskError(f"{yaml_path}: field '{field}': {path} leaves the task root {root}; "
                        "keep task files inside it")
    return path


def _path_fields(task: "Task") -> dict[str, list[str]]:
    config = task.config
    optional = {"requirements_path": config.requirements_path, "memory_path": config.memory_path,
                "sample_submission": config.sample_submission, "reference_solution": config.reference_solution}
    fields = {name: [value] if value else [] for name, value in optional.items()}
    return fields | {"starter_code": config.starter_code, "hidden_files": list(task.hidden_files),
                     "data_path": [d.data_path for d in task.datasets if d.is_local]}


def _check_workspace_paths(task: "Task") -> None:
    """evaluation_paths and baseline_paths are relative to the workspace and come from starter_code."""
    if not task.config.evaluation_paths:
        raise TaskError(f"{task.yaml_path}: field 'evaluation_paths' is empty; name the evaluation script")
    provided = {Path(p).name for p in task.config.starter_code}
    for field in ("evaluation_paths", "baseline_paths"):
        for p in getattr(task.config, field):
            parts = PurePosixPath(p).parts
            if PurePosixPath(p).is_absolute() or ".." in parts or parts[0] not in provided:
                raise TaskError(f"{task.yaml_path}: field '{field}': '{p}' (relative to the workspace) is not "
                                "provided by any starter_code entry; add it to starter_code")


def _check_unshipped(task: "Task", kept_back: list[str], shipped: list[str]) -> None:
    """Hidden files and the reference solution never reach the agent's workspace."""
    for private in kept_back:
        path = task.path(private).resolve()
        field = "reference_solution" if private == task.config.reference_solution else "hidden_files"
        for entry in shipped:
            if path.is_relative_to(task.path(entry).resolve()):
                raise TaskError(f"{task.yaml_path}: field '{field}': {private} lies in '{entry}', which is "
                                "copied into the agent's workspace; keep it apart (e.g. hidden/)")


def _check_links(task: "Task", top: Path) -> None:
    candidates = [top]
    if top.is_dir() and not top.is_symlink():
        for folder, dirs, files in os.walk(top):
            candidates += [Path(folder) / name for name in (*dirs, *files)]
    for path in candidates:
        if path.is_symlink() and not path.resolve().is_relative_to(task.root.resolve()):
            raise TaskError(f"{task.yaml_path}: {path} is a symlink out of the task root; ship the file itself")
