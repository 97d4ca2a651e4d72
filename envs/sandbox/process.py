"""Run one sandbox process tree with a wall-clock deadline and bounded output.

The process starts in its own session; on timeout or an output flood the whole group is killed
(for bwrap that takes its PID namespace, and with it every process the command started).
"""

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from synthml.envs.sandbox.limits import Capture


@dataclass(frozen=True)
class Finished:
    output: str
    exit_code: int
    timed_out: bool
    flooded: bool
    side: dict[int, bytes]
    """What the process wrote to each side descriptor (e.g. the shell state, bwrap's info)."""


def run_process(argv: list[str], *, timeout: float, stdin_fd: int | None, side_fds: tuple[int, ...],
                preexec: Callable[[], None], kept: int, kill_bytes: int) -> Finished:
    """Run `argv`; each of `side_fds` is a pipe in the child, read into `Finished.side`."""
    pipes = {fd: os.pipe() for fd in side_fds}

    def child_setup() -> None:
        for fd, (_, write_end) in pipes.items():
            os.dup2(write_end, fd)  # the child keeps `fd` only: close_fds runs after this
        preexec()

    proc = subprocess.Popen(
        argv, stdin=stdin_fd if stdin_fd is not None else subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=child_setup, pass_fds=side_fds,
        close_fds=True,
    )
    for _, write_end in pipes.values():
        os.close(write_end)
    try:
        return _collect(proc, {fd: r for fd, (r, _) in pipes.items()}, time.monotonic() + timeout, kept,
                        kill_bytes)
    finally:
        _kill(proc)
        for read_end, _ in pipes.values():
            os.close(read_end)


def _collect(proc: subprocess.Popen, side_reads: dict[int, int], deadline: float, kept: int,
             kill_bytes: int) -> Finished:
    capture = Capture(kept)
    side = {fd: bytearray() for fd in side_reads}
    streams = {proc.stdout.fileno(): capture.add} | {r: side[fd].extend for fd, r in side_reads.items()}
    timed_out = flooded = False
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in selector.select(min(remaining, 1.0)):
                chunk = os.read(key.fd, 1 << 16)
                if chunk:
                    streams[key.fd](chunk)
                else:
                    selector.unregister(key.fd)
            if capture.total > kill_bytes:
                flooded = True
                break
    if timed_out or flooded:
        _kill(proc)
    exit_code = proc.wait()
    return Finished(capture.text(), exit_code, timed_out, flooded, {fd: bytes(b) for fd, b in side.items()})


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if proc.stdout and not proc.stdout.closed:
        proc.stdout.close()
