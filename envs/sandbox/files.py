"""Copying out of a workspace folder on the host without following anything the agent planted.

A symlink in the agent's workspace could point at a host file (or, inside an evaluation sandbox, at
the hidden labels); copies here skip symlinks, devices and fifos, and refuse paths with `..`.
"""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path, PurePosixPath


def copy_out(root: Path, relative: str, dest: Path) -> bool:
    """Copy `root/relative` (file or folder; "." is all of it) to `dest`; False when absent, a symlink
    anywhere on the way (the root included), or neither a plain file nor a folder."""
    parts = PurePosixPath(relative).parts
    if PurePosixPath(relative).is_absolute() or ".." in parts:
        return False
    path = root
    for part in ("", *parts):
        path = path / part
        if path.is_symlink() or not path.exists():
            return False
    return _copy(path, dest)


def _copy(source: Path, dest: Path) -> bool:
    """Iterative, so a deeply nested folder cannot exhaust the recursion limit."""
    copied, pending = False, [(source, dest)]
    while pending:
        path, target = pending.pop()
        mode = path.lstat().st_mode
        if stat.S_ISDIR(mode):
            target.mkdir(parents=True, exist_ok=True)
            pending += [(child, target / child.name) for child in path.iterdir()]
        elif stat.S_ISREG(mode):
            _copy_file(path, target)
        else:
            continue
        copied = True
    return copied


def _copy_file(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as src, target.open("wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)


def give_writable_to(root: Path, uid: int) -> None:
    """Hand files the task left writable to the sandbox user; read-only ones stay the host's."""
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & stat.S_IWUSR:
            os.chown(path, uid, uid)


def remove_tree(path: Path) -> None:
    """Remove a file or folder, even where the task or the agent made parts of it read-only."""

    def make_writable(function, failed: str, _error) -> None:
        os.chmod(os.path.dirname(failed), 0o755)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, 0o755)
        function(failed)

    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    if not path.exists():
        return
    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=make_writable)
        else:
            shutil.rmtree(path, onerror=make_writable)
    except RecursionError:  # a folder nested thousands deep (Python 3.11's rmtree recurses)
        subprocess.run(["chmod", "-R", "u+rwx", "--", str(path)], capture_output=True)
        subprocess.run(["rm", "-rf", "--", str(path)], check=True, capture_output=True)
