"""The whole-sandbox memory quota: one cgroup v1 `memory` group per sandbox.

Every command of the sandbox joins the group before bubblewrap starts (a small `sh` launcher writes its
own pid into `cgroup.procs`, then execs), so nothing it forks escapes: memory past the limit, the files
its processes keep in tmpfs included, is OOM-killed inside the group. Processes need no group: as root
each sandbox runs as a uid of its own, so RLIMIT_NPROC already counts all of them (a `pids` group would
also cost about 10 ms a command after another sandbox's group comes or goes: its attach waits on the
kernel). Creating groups needs root and the v1 hierarchy (the layout OFFLINE.md measured); elsewhere
there is no group and the per-process rlimits are all there is, which `available()` says once.

A closed sandbox's group, emptied, waits in this process's pool for the next sandbox: removing a memory
group makes the kernel hand its pages to the parent, which holds up every other group's joins for
about 10 ms (measured: the first steps of every other episode after a reset). Pooled groups go at exit;
a group is named after the process that made it, so the first sandbox of a later process removes the
groups of processes that died without closing theirs.
"""

import atexit
import contextlib
import errno
import functools
import logging
import os
import secrets
import signal
import threading
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PARENT = "synthml"
log = logging.getLogger(__name__)
JOIN = 'echo $$ > "$1" || exit 125; shift; exec "$@"'
"""Launcher script: join the group whose `cgroup.procs` is the first argument, then exec the rest (a failed
join: exit 125)."""


@functools.cache
def available() -> bool:
    """Whether this process can make v1 memory groups; the first `False` is logged with the reason."""
    reason = None
    if os.geteuid() != 0:
        reason = "not running as root"
    elif not (ROOT / "memory" / "cgroup.procs").is_file():
        reason = f"no cgroup v1 memory hierarchy under {ROOT}"
    else:
        try:
            (ROOT / "memory" / PARENT).mkdir(exist_ok=True)
        except OSError as e:
            reason = f"cannot create {ROOT}/memory/{PARENT}: {e.strerror}"
        else:
            _remove_orphans()
    if reason:
        log.warning("sandboxes get no whole-sandbox memory quota (%s): each process is bounded by its rlimits "
                    "only", reason)
    return reason is None


class SandboxCgroup:
    """A memory group for one sandbox at a time: taken from the pool or made, given back when it closes."""

    def __init__(self, memory_bytes: int) -> None:
        with _POOL_LOCK:
            self.dir = _POOL.pop() if _POOL else _new_group()
        try:
            _set_limit(self.dir, memory_bytes)
        except BaseException:
            _remove(self.dir)
            raise

    def launcher(self) -> list[str]:
        """The argv prefix that runs a command inside this group."""
        return ["/bin/sh", "-c", JOIN, "sh", str(self.dir / "cgroup.procs")]

    def oom_kills(self) -> int:
        """How many times the kernel killed a process of this group for its memory limit."""
        text = (self.dir / "memory.oom_control").read_text()
        return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("oom_kill ")), 0)

    def close(self) -> None:
        """Kill what is left (a command's tree is normally gone with its PID namespace), then pool the group."""
        if _empty(self.dir):
            with _POOL_LOCK:
                _POOL.append(self.dir)
        else:
            _remove(self.dir)


_POOL: list[Path] = []
_POOL_LOCK = threading.Lock()
os.register_at_fork(after_in_child=_POOL.clear)  # a forked worker makes its own groups, never shares its parent's


def _new_group() -> Path:
    folder = ROOT / "memory" / PARENT / f"sandbox-{os.getpid()}-{secrets.token_hex(6)}"
    folder.mkdir()
    return folder


def _set_limit(folder: Path, limit: int) -> None:
    """memory.memsw (memory and swap; only where swap accounting is on) may never be below memory: the
    two are written in the order that keeps it so whether the limit grows or shrinks."""
    memory, both = folder / "memory.limit_in_bytes", folder / "memory.memsw.limit_in_bytes"
    grows = limit > int(memory.read_text())
    for target in ((both, memory) if grows else (memory, both)):
        if target is memory or target.exists():
            target.write_text(str(limit))


@atexit.register
def _remove_pool() -> None:
    with _POOL_LOCK:
        while _POOL:
            _remove(_POOL.pop())


def _remove(folder: Path) -> None:
    _empty(folder)
    try:
        folder.rmdir()
    except FileNotFoundError:
        pass
    except OSError as e:
        log.warning("could not remove the sandbox cgroup %s: %s", folder, e.strerror)


def _remove_orphans() -> None:
    """Groups whose making process is gone (killed before it closed its sandboxes)."""
    for folder in (ROOT / "memory" / PARENT).glob("sandbox-*-*"):
        owner = folder.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            _remove(folder)


def _empty(folder: Path, attempts: int = 50) -> bool:
    """Kill the group's processes; whether it is empty now."""
    for _ in range(attempts):
        try:
            pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENODEV):  # ENODEV: another process removed it as we read
                return False
            raise
        if not pids:
            return True
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    return False
