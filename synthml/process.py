"""Child processes that lead a process group of their own, started, signalled and ended as a whole; a free port
for a server child.

A child started by `start_group` leads a new session, so its pid is its group's id and what it starts stays in
the group (unless that starts a session of its own): a signal to the group reaches all of it, even once the
leader is gone, and the terminal's Ctrl-C does not.
"""

import contextlib
import os
import signal
import socket
import subprocess
from typing import Any


def start_group(argv: list[str], **popen: Any) -> subprocess.Popen:
    """`subprocess.Popen(argv, **popen)` in a new session, leading its own process group."""
    return subprocess.Popen(argv, start_new_session=True, **popen)


def signal_group(group: int, sig: signal.Signals) -> None:
    """Sends `sig` to every process of `group`; a group already gone is no error."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def end_group(process: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM to the process's group, SIGKILL after the grace period, and SIGKILL to whatever the leader left
    in its group; then its stdin (a watched pipe, if it has one) is closed."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            break
        signal_group(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait_s)
    signal_group(process.pid, signal.SIGKILL)  # anything the leader left behind in its group
    if process.stdin:
        process.stdin.close()


def free_port(host: str) -> int:
    """A TCP port on `host` that nothing listens on now (the system's pick), for a server child to take."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
