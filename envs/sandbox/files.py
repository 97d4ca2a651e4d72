"""Host-side file operations on folders a sandbox wrote: copying out of them, handing them over, removing them.

Copying out trusts nothing the agent left. Only regular files and folders are copied: symlinks (which
could lead to a host file or, inside an evaluation sandbox, to the hidden labels), devices, fifos and
sockets are skipped. Every folder and file is opened relative to its parent's descriptor with
O_NOFOLLOW, so no path handed to the kernel grows past PATH_MAX and a link swapped in mid-copy is never
followed. What would be copied is surveyed and held to `CopyLimits` (apparent sizes, each hard link
counted; depth; path length; entries) before a byte is written, and files are copied sparsely. Anything
over a bound raises `CopyRefused`: the failure of whoever wrote the files, never the host's.
"""

import contextlib
import errno
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field

from synthml.errors import CopyRefused

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
"""O_NONBLOCK: a fifo swapped in for a file opens at once instead of blocking the host."""
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK = 1 << 20
ZEROS = memoryview(bytes(CHUNK))
KINDS = {stat.S_IFIFO: "a fifo", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device"}
GONE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)
"""What opening a surveyed entry raises when something else was swapped in for it."""


class CopyLimits(BaseModel):
    """Bounds on one copy out of a sandbox; the defaults hold any submission a CPU task asks for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file_bytes: int = Field(1 << 30, gt=0, description="Largest apparent size of one file (sparse ones count in full).")
    total_bytes: int = Field(4 << 30, gt=0, description="Apparent sizes of every file copied, added up (each "
                             "hard link counted, as each becomes a file of its own).")
    depth: int = Field(64, gt=0, description="Folders nested below the copied path.")
    path_bytes: int = Field(2048, gt=0, description="Longest path copied, in bytes from the workspace, so every "
                            "host path built from it stays under PATH_MAX.")
    entries: int = Field(100_000, gt=0, description="Entries listed under the copied path, skipped ones included.")


DEFAULT_LIMITS = CopyLimits()


@dataclass
class _Entry:
    """A file (`children` None) or folder to copy, as the survey found it."""

    name: str
    size: int = 0
    children: "list[_Entry] | None" = None


@dataclass
class _Tally:
    """What the survey has counted so far against the limits."""

    limits: CopyLimits
    top: str
    entries: int = 0
    total: int = 0

    def listed(self) -> None:
        self.entries += 1
        if self.entries > self.limits.entries:
            raise CopyRefused(f"{_shown(self.top)} holds more than {self.limits.entries:,} files and folders, the "
                              "limit on what is copied out; keep fewer files there")

    def copied(self, path: str, depth: int, size: int = 0) -> None:
        """A file (of apparent `size`) or folder `depth` folders below the copied path."""
        length = len(os.fsencode(path))
        if length > self.limits.path_bytes:
            raise CopyRefused(f"{_shown(path)} is a path of {length} bytes, over the {self.limits.path_bytes}-byte "
                              "limit on what is copied out; use shorter names or fewer folders")
        if depth > self.limits.depth:
            raise CopyRefused(f"{_shown(path)} lies {depth} folders deep, over the limit of {self.limits.depth} on "
                              "what is copied out; flatten the tree")
        if size > self.limits.file_bytes:
            raise CopyRefused(f"{_shown(path)} is {_size(size)} apparent size, over the {_size(self.limits.file_bytes)}"
                              " limit on one file copied out; write less (a sparse or truncated file counts in full)")
        self.total += size
        if self.total > self.limits.total_bytes:
            raise CopyRefused(f"{_shown(self.top)} adds up to at least {_size(self.total)} (apparent sizes, each hard "
                              f"link counted), over the {_size(self.limits.total_bytes)} limit on one copy out; keep "
                              "only what the submission needs there")


def copy_out(root: Path, relative: str, dest: Path, limits: CopyLimits = DEFAULT_LIMITS) -> bool:
    """Copy `root/relative` (a file or folder; "." is all of it) to `dest`. False when it is absent or a
    symlink is on the way (the root included); CopyRefused when it is over `limits`, neither a file nor a
    folder, unreadable, or changed while copied (then nothing of it is left at `dest`)."""
    parts = PurePosixPath(relative).parts
    if PurePosixPath(relative).is_absolute() or ".." in parts:
        return False
    top = str(PurePosixPath(*parts)) if parts else "."
    with _opened_parent(root, parts) as parent:
        if parent is None:
            return False
        plan = _survey(parent, parts[-1] if parts else None, top, limits)
        if plan is None:
            return False
        _write(parent, plan, top, dest)
    return True


def check_listing(top: str, listing: Iterable[tuple[str, int | None]], limits: CopyLimits = DEFAULT_LIMITS) -> None:
    """Hold a listing made elsewhere (an archive's members: a path under `top` and a file's apparent size,
    None for a folder) to `limits` before anything of it is written; CopyRefused when over."""
    tally, below = _Tally(limits, top), len(PurePosixPath(top).parts)
    for path, size in listing:
        tally.listed()
        depth = len(PurePosixPath(path).parts) - below - (size is not None)
        tally.copied(path, max(depth, 0), size or 0)


@contextlib.contextmanager
def _opened_parent(root: Path, parts: tuple[str, ...]) -> Iterator[int | None]:
    """A descriptor of the folder holding the copied entry (the root itself for "."); None when absent
    or a link is on the way."""
    fd = _open_on_the_way(None, str(root), ".")
    for depth, part in enumerate(parts[:-1], 1):
        if fd is None:
            break
        try:
            child = _open_on_the_way(fd, part, str(PurePosixPath(*parts[:depth])))
        finally:
            os.close(fd)
        fd = child
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


def _open_on_the_way(parent: int | None, name: str, path: str) -> int | None:
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent)
    except OSError as e:
        if e.errno in GONE:
            return None
        raise CopyRefused(f"{_shown(path)} cannot be read ({e.strerror}); leave it readable") from None


def _survey(parent: int, name: str | None, top: str, limits: CopyLimits) -> _Entry | None:
    """What `name` in `parent` (None: `parent` itself) holds, checked against `limits`; None when absent or a link."""
    tally = _Tally(limits, top)
    if name is None:
        return _Entry(".", children=_survey_folder(parent, "", 0, tally))
    found = _lstat(parent, name, top)
    if found is None or stat.S_ISLNK(found.st_mode):
        return None
    mode, size = found.st_mode, found.st_size
    if stat.S_ISREG(mode):
        tally.copied(top, 0, size)
        return _Entry(name, size)
    if not stat.S_ISDIR(mode):
        raise CopyRefused(f"{_shown(top)} is {KINDS.get(stat.S_IFMT(mode), 'no regular file')}, neither a regular "
                          "file nor a folder, and only those are copied out; write a regular file there")
    tally.copied(top, 0)
    with _source_dir(parent, name, top) as fd:
        return _Entry(name, children=_survey_folder(fd, top, 0, tally))


def _survey_folder(fd: int, where: str, depth: int, tally: _Tally) -> list[_Entry]:
    """The files and folders below `fd` (links, devices, fifos and sockets skipped); recursion is bounded
    by `tally.limits.depth`."""
    found = []
    with _refused_if_unreadable(where or "."), os.scandir(fd) as listing:
        for item in listing:
            path = f"{where}/{item.name}" if where else item.name
            tally.listed()
            st = _lstat(fd, item.name, path)
            if st is None:  # gone since it was listed: as if it had never been there
                continue
            if stat.S_ISREG(st.st_mode):
                tally.copied(path, depth, st.st_size)
                found.append(_Entry(item.name, st.st_size))
            elif stat.S_ISDIR(st.st_mode):
                tally.copied(path, depth + 1)
                with _source_dir(fd, item.name, path) as child:
                    found.append(_Entry(item.name, children=_survey_folder(child, path, depth + 1, tally)))
    return found


def _lstat(fd: int, name: str, path: str) -> os.stat_result | None:
    """`name` in `fd`, not following a link; None when absent."""
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CopyRefused(f"{_shown(path)} cannot be read ({e.strerror}); leave it readable") from None


def _write(parent: int, plan: _Entry, top: str, dest: Path) -> None:
    """Copy what the survey planned to `dest`, re-checking each entry as it is opened; on a refusal
    nothing new is left at `dest`."""
    existed = dest.exists()
    dest.parent.mkdir(parents=True, exist_ok=True)
    target = os.open(dest.parent, DIR_FLAGS)
    try:
        if plan.children is None:
            _write_file(parent, target, plan, top, dest.name)
        elif plan.name == ".":
            with _dest_dir(target, dest.name) as into:
                _write_folder(parent, into, plan.children, "")
        else:
            with _source_dir(parent, plan.name, top) as source, _dest_dir(target, dest.name) as into:
                _write_folder(source, into, plan.children, top)
    except CopyRefused:
        if not existed:
            remove_tree(dest)
        raise
    finally:
        os.close(target)


def _write_folder(source: int, target: int, entries: list[_Entry], where: str) -> None:
    for entry in entries:
        path = f"{where}/{entry.name}" if where else entry.name
        if entry.children is None:
            _write_file(source, target, entry, path, entry.name)
            continue
        with _source_dir(source, entry.name, path) as inner, _dest_dir(target, entry.name) as into:
            _write_folder(inner, into, entry.children, path)


def _write_file(source: int, target: int, entry: _Entry, path: str, dest_name: str) -> None:
    """Copy one surveyed file, refusing it if it is no longer a regular file or grew past its surveyed size."""
    with _refused_if_unreadable(path):
        fd = os.open(entry.name, FILE_FLAGS, dir_fd=source)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > entry.size:
            raise CopyRefused(f"{_shown(path)} changed while it was copied out; stop whatever still writes to it")
        with contextlib.suppress(FileNotFoundError):  # never write through what is there (a link, a hard link)
            os.unlink(dest_name, dir_fd=target)
        out = os.open(dest_name, NEW_FILE_FLAGS, 0o666, dir_fd=target)
        try:
            _copy_sparsely(fd, out, st.st_size)
        finally:
            os.close(out)
    finally:
        os.close(fd)


def _copy_sparsely(source: int, target: int, size: int) -> None:
    """Only data regions are read and only chunks that are not all zeros written, so the host holds what
    was written, not the apparent size."""
    offset = 0
    while offset < size:
        start, end = _data_region(source, offset, size)
        for at in range(start, end, CHUNK):
            chunk = os.pread(source, min(CHUNK, end - at), at)
            if not chunk:  # shrunk meanwhile: the rest reads as zeros
                break
            if ZEROS[: len(chunk)] != chunk:
                _write_at(target, chunk, at)
        offset = end
    os.ftruncate(target, size)


def _data_region(fd: int, offset: int, size: int) -> tuple[int, int]:
    """The next run of data at or after `offset` (SEEK_DATA/SEEK_HOLE); (size, size) when only a hole is left."""
    try:
        start = os.lseek(fd, offset, os.SEEK_DATA)
    except OSError as e:
        if e.errno == errno.ENXIO:
            return size, size
        if e.errno == errno.EINVAL:  # a file system that cannot tell: read it all
            return offset, size
        raise
    return min(start, size), min(os.lseek(fd, start, os.SEEK_HOLE), size)


def _write_at(fd: int, data: bytes, at: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, at)
        view, at = view[written:], at + written


@contextlib.contextmanager
def _source_dir(parent: int, name: str, path: str) -> Iterator[int]:
    """A descriptor of the agent's folder `name`, refused if something else is there now."""
    with _refused_if_unreadable(path):
        fd = os.open(name, DIR_FLAGS, dir_fd=parent)
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def _dest_dir(parent: int, name: str) -> Iterator[int]:
    """A descriptor of the host's folder `name`, made if absent (the host's own errors pass through)."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o777, dir_fd=parent)
    fd = os.open(name, DIR_FLAGS, dir_fd=parent)
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def _refused_if_unreadable(path: str) -> Iterator[None]:
    """Reading the agent's files: a failure there is the agent's doing (a swap, a chmod), not the host's."""
    try:
        yield
    except OSError as e:
        if e.errno in GONE:
            raise CopyRefused(f"{_shown(path)} changed while it was copied out; stop whatever still writes to it") \
                from None
        raise CopyRefused(f"{_shown(path)} cannot be read ({e.strerror}); leave it readable") from None


def _shown(path: str) -> str:
    """A path for a message: printable, and cut when long."""
    text = os.fsencode(path).decode("utf-8", "replace")
    return text if len(text) <= 120 else f"{text[:80]}...{text[-30:]} ({len(text)} characters)"


def _size(n: int) -> str:
    for unit, name in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= unit:
            return f"{n / unit:.1f}".removesuffix(".0") + f" {name}"
    return f"{n} bytes"


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
        if function in (os.open, os.scandir, os.listdir):  # a folder it could not enter: empty it now it opens
            remove_tree(Path(failed))
        else:
            function(failed)

    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):  # a file, link, fifo or socket (rmtree would open a fifo and block)
        path.unlink()
        return
    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=make_writable)
        else:
            shutil.rmtree(path, onerror=make_writable)
    except RecursionError:  # a folder nested thousands deep (Python 3.11's rmtree recurses)
        subprocess.run(["chmod", "-R", "u+rwx", "--", str(path)], capture_output=True)
        subprocess.run(["rm", "-rf", "--", str(path)], check=True, capture_output=True)
