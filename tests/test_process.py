"""Process groups with real children: a shell that leads its group and a `sleep` it started in the background. Tests
wait for a process to be gone (with a generous bound), never for a duration."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from synthml.process import end_group, free_port, signal_group, start_group

GONE_WITHIN_S = 60.0
SPAWNER = 'sleep 600 & echo $!; wait'
"""A shell that starts a grandchild in its group, prints its pid and waits."""
STUBBORN = 'trap "" TERM; sleep 600 & echo $!; wait'
"""The same, with SIGTERM ignored by both (the grandchild inherits the ignored signal)."""
LEAVES_A_STUBBORN_CHILD = 'trap "" TERM; sleep 600 & trap - TERM; echo $!; wait'
"""The shell ends on SIGTERM, its grandchild ignores it."""


@pytest.fixture
def spawn() -> Iterator[Callable[..., tuple[subprocess.Popen, int]]]:
    """Starts a shell script in a group of its own; returns it and the pid of the grandchild it started. Whatever a
    failed test leaves in those groups is killed after it."""
    groups = []

    def start(script: str, **popen) -> tuple[subprocess.Popen, int]:
        process = start_group(["sh", "-c", script], stdout=subprocess.PIPE, text=True, **popen)
        groups.append(process.pid)
        with process.stdout:
            return process, int(process.stdout.readline())

    yield start
    for group in groups:
        signal_group(group, signal.SIGKILL)


def gone(pid: int) -> bool:
    """No such process, or only its zombie (ended, not yet reaped by whoever inherited it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def wait_gone(*pids: int) -> bool:
    deadline = time.monotonic() + GONE_WITHIN_S
    while not all(map(gone, pids)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_started_child_leads_its_own_session_and_group(spawn):
    process, grandchild = spawn(SPAWNER)
    try:
        assert os.getsid(process.pid) == os.getpgid(process.pid) == process.pid != os.getpgid(0)
        assert os.getpgid(grandchild) == process.pid
    finally:
        end_group(process, grace_s=10.0)


def test_end_group_ends_the_child_and_what_it_started(spawn):
    process, grandchild = spawn(SPAWNER, stdin=subprocess.PIPE)
    end_group(process, grace_s=10.0)
    assert process.returncode == -signal.SIGTERM
    assert wait_gone(process.pid, grandchild)
    assert process.stdin.closed  # the pipe a child may watch for its parent's end


def test_end_group_kills_a_group_that_ignores_sigterm_after_the_grace_period(spawn):
    process, grandchild = spawn(STUBBORN)
    end_group(process, grace_s=0.2)
    assert process.returncode == -signal.SIGKILL
    assert wait_gone(process.pid, grandchild)


def test_end_group_kills_what_the_leader_left_behind_in_its_group(spawn):
    process, grandchild = spawn(LEAVES_A_STUBBORN_CHILD)
    end_group(process, grace_s=10.0)
    assert process.returncode == -signal.SIGTERM
    assert wait_gone(grandchild)


def test_signalling_or_ending_a_group_already_gone_is_no_error():
    process = start_group(["true"])
    process.wait()
    signal_group(process.pid, signal.SIGKILL)
    end_group(process, grace_s=10.0)
    assert process.returncode == 0


def test_signal_group_reaches_every_process_of_the_group(spawn):
    process, grandchild = spawn(SPAWNER)
    signal_group(process.pid, signal.SIGKILL)
    process.wait()
    assert wait_gone(grandchild)


def test_a_free_port_can_be_listened_on():
    port = free_port("127.0.0.1")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", port))
        server.listen()
