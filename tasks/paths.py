"""Task ids and the host paths built from task data.

A generated task is untrusted: one that named `../../etc/shadow` as data, or shipped a symlink to a host
file, would copy host files into the agent's sandbox (`load_task` refuses both). Its id names host folders
(the workspace cache, a bank's task dir, a bench's run files), so it must be a slug, and every host path
built from task data goes through `confined`.
"""

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

from synthml.errors import TaskError

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


def inside(path: Path, root: Path, yaml_path: Path, field: str) -> Path:
    """Refuse paths that leave the task root (by `..`, an absolute path or a symlink)."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise TaskError(f"{yaml_path}: field '{field}': {path} leaves the task root {root}; "
                        "keep task files inside it")
    return path
