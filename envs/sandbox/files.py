"""Copying out of a workspace folder on the host without following anything the agent planted.

A symlink in the agent's workspace could point at a host file (or, inside an evaluation sandbox, at
the hidden labels); copies here skip symlinks, devices and fifos, and refuse paths with `..`.
"""

import os
import shutil
import stat
from pathlib import Path, PurePosixPath


def copy_out(root: Path, relative: str, dest: Path) -> bool:
    """Copy `root/relative` (file or folder; "." is all of it) to `dest`; False when absent or
    not a plain file or folder."""
    parts = PurePosixPath(relative).parts
    if PurePosixPath(relative).is_absolute() or ".." in parts:
        return False
    path = root
    for part in parts:
        path = path / part
        if path.is_symlink() or not path.exists():
            return False
    return _copy(path, dest)


def _copy(path: Path, dest: Path) -> bool:
    mode = path.lstat().st_mode
    if stat.S_ISDIR(mode):
        dest.mkdir(parents=True, exist_ok=True)
        for child in path.iterdir():
            _copy(child, dest / child.name)
        return True
    if not stat.S_ISREG(mode):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as src, dest.open("wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    return True
