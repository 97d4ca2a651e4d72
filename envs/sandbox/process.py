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
    state: bytes
    """What the command wrote to the state descriptor."""


def run_process(argv: list[str], *, timeout: float, stdin_fd: int | None, state_fd: int | None,
                preexec: Callable[[], None], kept: int, kill_bytes: int) -> Finished:
    state_r, state_w = os.pipe() if state_fd is not None else (None, None)

    def child_setup() -> None:
        if state_w is not None:
            os.dup2(state_w, state_fd)  # the child keeps `state_fd` only (close_fds runs after this)
        preexec()

    proc = subprocess.Popen(
        argv, stdin=stdin_fd if stdin_fd is not None else subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=child_setup,
        pass_fds=(state_fd,) if state_fd is not None else (), close_fds=True,
    )
    if state_w is not None:
        os.close(state_w)
    try:
        return _collect(proc, state_r, time.monotonic() + timeout, kept, kill_bytes)
    finally:
        _kill(proc)
        if state_r is not None:
            os.close(state_r)


def _collect(proc: subprocess.Popen, state_r: int | None, deadline: float, kept: int,
             kill_bytes: int) -> Finished:
    capture, state = Capture(kept), bytearray()
    streams = {proc.stdout.fileno(): capture.add}
    if state_r is not None:
        streams[state_r] = state.extend
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
    return Finished(capture.text(), exit_code, timed_out, flooded, bytes(state))


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if proc.stdout and not proc.stdout.closed:
        proc.stdout.close()
