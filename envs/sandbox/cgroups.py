"""Whole-sandbox quotas on memory and processes: one cgroup v1 `memory` and `pids` group per sandbox.

Every command of the sandbox joins the group before bubblewrap starts (a small `sh` launcher writes its
own pid into `cgroup.procs`, then execs), so nothing it forks escapes: memory past the limit is
OOM-killed inside the group, and forks past `pids.max` fail. Creating groups needs root and the v1
hierarchy (the layout OFFLINE.md measured); elsewhere there is no group and the per-process rlimits
are all there is, which `available()` says once. A group is named after the process that made it, so
the first sandbox of a later process removes the groups of processes that died without closing theirs.
"""

import contextlib
import functools
import logging
import os
import secrets
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PARENT = "synthml"
log = logging.getLogger(__name__)
JOIN = 'for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; shift; done; shift; exec "$@"'
"""Launcher script: join each group file given before `--`, then exec the rest (a failed join: exit 125)."""


@functools.cache
def available() -> bool:
    """Whether this process can make v1 memory and pids groups; the first `False` is logged with the reason."""
    reason = None
    if os.geteuid() != 0:
        reason = "not running as root"
    elif not all((ROOT / c / "cgroup.procs").is_file() for c in ("memory", "pids")):
        reason = f"no cgroup v1 memory and pids hierarchies under {ROOT}"
    else:
        try:
            for controller in ("memory", "pids"):
                (ROOT / controller / PARENT).mkdir(exist_ok=True)
        except OSError as e:
            reason = f"cannot create {ROOT}/memory/{PARENT}: {e.strerror}"
        else:
            _remove_orphans()
    if reason:
        log.warning("sandboxes get no whole-sandbox memory or process quota (%s): each process is bounded by "
                    "its rlimits only", reason)
    return reason is None


class SandboxCgroup:
    """A memory and pids group, made and removed with its sandbox."""

    def __init__(self, memory_bytes: int, processes: int) -> None:
        name = f"{PARENT}/sandbox-{os.getpid()}-{secrets.token_hex(6)}"
        self.dirs = [ROOT / "memory" / name, ROOT / "pids" / name]
        try:
            for folder in self.dirs:
                folder.mkdir()
            memory, pids = self.dirs
            (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):  # memsw exists only where swap accounting is on
                (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            (pids / "pids.max").write_text(str(processes))
        except BaseException:
            self.close()
            raise

    def launcher(self) -> list[str]:
        """The argv prefix that runs a command inside this group."""
        return ["/bin/sh", "-c", JOIN, "sh", *(str(d / "cgroup.procs") for d in self.dirs), "--"]

    def oom_kills(self) -> int:
        """How many times the kernel killed a process of this group for its memory limit."""
        text = (self.dirs[0] / "memory.oom_control").read_text()
        return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("oom_kill ")), 0)

    def close(self) -> None:
        """Kill what is left (a command's tree is normally gone with its PID namespace), then remove the groups;
        a group the kernel will not let go of yet is logged and left (a later process's sweep removes it)."""
        for folder in self.dirs:
            _remove(folder)


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
    for controller in ("memory", "pids"):
        for folder in (ROOT / controller / PARENT).glob("sandbox-*-*"):
            owner = folder.name.split("-")[1]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                _remove(folder)


def _empty(folder: Path, attempts: int = 50) -> None:
    for _ in range(attempts):
        try:
            pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except FileNotFoundError:
            return
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
