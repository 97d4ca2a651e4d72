"""Run one sandbox process tree with a wall-clock deadline and bounded output.

The process starts in its own session; on timeout or an output flood the whole group is killed
(for bwrap that takes its PID namespace, and with it every process the command started).
"""

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from synthml.envs.sandbox.capture import Capture
from synthml.process import signal_group, start_group

SIDE_LIMIT = 1 << 20
"""Bytes the side pipes may carry before the command is killed (a flood must not fill host memory)."""


@dataclass(frozen=True)
class Finished:
    output: str
    exit_code: int
    timed_out: bool
    flooded: str | None
    """Why the command was killed for writing too much: 'output' or 'state' (a side pipe)."""
    side: dict[int, bytes]
    """What the process wrote to each side pipe, by the pipe's write descriptor (e.g. the shell state)."""


@dataclass
class Started:
    """A process started by `start_process`, whose output is not collected yet."""

    proc: subprocess.Popen
    side_reads: dict[int, int]
    """The read end of each side pipe, by the write descriptor's number in the process."""
    running: set[int] | None
    released: bool = False

    def finish(self, *, timeout: float, kept: int, kill_bytes: int) -> Finished:
        """Collect its output until it ends, `timeout` seconds pass or it writes too much; then kill its group."""
        try:
            return _collect(self.proc, self.side_reads, time.monotonic() + timeout, kept, kill_bytes)
        finally:
            self.release()

    def release(self) -> None:
        """Kill its process group and close the pipes; idempotent."""
        if not self.released:
            self.released = True
            if self.running is not None:
                self.running.discard(self.proc.pid)
            _kill(self.proc)
            for read_end in self.side_reads.values():
                os.close(read_end)


def start_process(argv: Callable[[tuple[int, ...]], list[str]], *, stdin_fd: int | None, side_pipes: int,
                  env: dict[str, str] | None = None, passed_fds: tuple[int, ...] = (),
                  running: set[int] | None = None) -> Started:
    """Start `argv(fds)` where `fds` are the write ends of `side_pipes` pipes (read into `Finished.side`);
    `env` is the process's whole environment (None: the host's), `passed_fds` stay open in it, and its
    process group is in `running` until it is released (for `kill_groups` from another thread).

    No preexec function: it would force a full fork instead of vfork (about 5 ms a command)."""
    pipes = [os.pipe() for _ in range(side_pipes)]
    write_ends = tuple(w for _, w in pipes)
    try:
        proc = start_group(
            argv(write_ends), stdin=stdin_fd if stdin_fd is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(*write_ends, *passed_fds), close_fds=True,
            env=env,
        )
    except BaseException:
        for read_end, _ in pipes:
            os.close(read_end)
        raise
    finally:
        for write_end in write_ends:
            os.close(write_end)
    if running is not None:
        running.add(proc.pid)
    return Started(proc, {w: r for r, w in pipes}, running)


def _collect(proc: subprocess.Popen, side_reads: dict[int, int], deadline: float, kept: int,
             kill_bytes: int) -> Finished:
    capture = Capture(kept)
    side = {fd: bytearray() for fd in side_reads}
    streams = {proc.stdout.fileno(): capture.add} | {r: side[fd].extend for fd, r in side_reads.items()}
    timed_out, flooded = False, None
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
                flooded = "output"
            elif sum(map(len, side.values())) > SIDE_LIMIT:
                flooded = "state"
            if flooded:
                break
    if timed_out or flooded:
        _kill(proc)
    exit_code = proc.wait()
    return Finished(capture.text(), exit_code, timed_out, flooded, {fd: bytes(b) for fd, b in side.items()})


def kill_groups(running: set[int]) -> None:
    """Kill the process groups of commands still running (a sandbox closed while another thread waits)."""
    for group in list(running):
        signal_group(group, signal.SIGKILL)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
    if proc.stdout and not proc.stdout.closed:
        proc.stdout.close()
