"""Files that several processes share, or that a kill must not leave half-written.

Three things, each written once: append-only JSONL (a killed writer can tear only the last line, and each
reader chooses how to mend it), atomic writes (a reader sees the old file or the new, never half), and an
exclusive lock on a run's folder (a second run fails at once instead of interleaving its writes).
"""

import fcntl
import json
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from synthml.errors import SynthMLError

log = logging.getLogger(__name__)
LOCK = ".lock"


# Append-only JSONL -----------------------------------------------------------------------------------------------


def append_line(path: str | Path, text: str) -> None:
    """Append `text` as one line, flushed and fsynced. One write() under an flock on an O_APPEND descriptor,
    so lines of concurrent writers (threads or processes) never interleave. If the file does not end in a
    newline (a writer was killed mid-line), the debris is closed first, so it cannot swallow this line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (text + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        view = memoryview(line)
        while view:  # one write() in practice; the loop only guards against a short write
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the flock


def read_lines(path: str | Path, skip_torn: bool = False) -> list[tuple[int, str]]:
    """The non-blank lines of a JSONL file with their 1-based numbers. Bytes are split on newlines only and
    decoded leniently, so a line a kill cut inside a character is still a line. `skip_torn`: leave out, with one
    warning, lines that are not JSON at all (what a killed writer leaves); otherwise the caller sees them."""
    lines, torn = [], []
    for number, raw in enumerate(Path(path).read_bytes().split(b"\n"), 1):
        line = raw.decode("utf-8", errors="replace")
        if not line.strip():
            continue
        if skip_torn and not _is_json(line):
            torn.append(number)
        else:
            lines.append((number, line))
    if torn:
        log.warning("%s: skipping line(s) %s, cut short by a process that was killed while writing", path,
                    ", ".join(map(str, torn)))
    return lines


def end_torn_line(path: str | Path) -> None:
    """Terminate a last line that has no newline, keeping its bytes: for a log whose reader skips torn lines
    and that must not lose even debris."""
    path = Path(path)
    if path.is_file() and (data := path.read_bytes()) and not data.endswith(b"\n"):
        with path.open("ab") as f:
            f.write(b"\n")


def cut_torn_line(path: str | Path) -> None:
    """Drop a last line that has no newline: for a store whose lines must all parse, opened under a run lock
    (no writer can be mid-line), where an unrecorded line is redone."""
    path = Path(path)
    if path.is_file() and (data := path.read_bytes()) and not data.endswith(b"\n"):
        with path.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


# Atomic writes ---------------------------------------------------------------------------------------------------


@contextmanager
def atomic_path(path: str | Path, fsync: bool = False) -> Iterator[Path]:
    """A fresh temp file beside `path` (same folder, so same file system) for the block to write, by any
    means (a library that takes a path included); moved over `path` with os.replace when the block ends, and
    removed if it raises. `fsync`: flush the data to disk before the rename, so a crash of the machine also
    leaves old or new. The parent folder must exist."""
    path = Path(path)
    temp = _fresh_beside(path)
    try:
        yield temp
        if fsync:
            with temp.open("rb") as f:
                os.fsync(f.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: str | bytes, fsync: bool = False) -> None:
    """Write `data` (text as UTF-8) to `path` so that a reader, or a kill, sees the old file or the new."""
    with atomic_path(path, fsync=fsync) as temp:
        temp.write_bytes(data.encode() if isinstance(data, str) else data)


def _fresh_beside(path: Path) -> Path:
    """A new hidden file next to `path`, named uniquely so concurrent writers never share one; created with
    the umask's mode, as the final file would be."""
    while True:
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temp


# Run locks -------------------------------------------------------------------------------------------------------


@contextmanager
def run_lock(folder: str | Path, busy: str, fix: str, error: type[SynthMLError] = SynthMLError) -> Iterator[Path]:
    """Hold an exclusive flock on FOLDER/.lock for the block: a second holder, in any process, fails at once
    with `error`("FOLDER: <busy> (it holds FOLDER/.lock); <fix>") instead of waiting or interleaving writes.
    The kernel drops the lock when its holder exits, so a killed run never leaves the folder locked."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise error(f"{folder}: {busy} (it holds {lock}); {fix}") from None
        yield lock
    finally:
        os.close(fd)
