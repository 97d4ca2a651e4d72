"""A red team's hostile actions, sent through `SynthMLEnv.step` to the real bubblewrap sandbox.

Every case asserts containment (nothing reached the host, leaked, or changed the score) and that the
env still works afterwards. A case marked `xfail(strict=True)` is a real containment bug; its reason
says what leaks and where. Host-side checks look at the episode's folders through `env._session`.
The suite runs as root (`make test`) and as uid 65534 (`make test-unprivileged`), where the sandbox
shares the user's uid and host-side checks tell its processes by their PID namespace.
"""

import socket
import socketserver
import threading

import pytest

from synthml.envs.env import SynthMLEnv
from tests.security.helpers import CANARY, TOKEN, module_env, run, session_dir


@pytest.fixture(scope="module")
def shared(runtime):
    yield from module_env(command_timeout=3)


@pytest.fixture
def fresh(shared):
    """A new episode (workspace, sandbox) on the module's env."""
    shared.reset(seed=0)
    return shared


@pytest.fixture(scope="module")
def limited(runtime):
    yield from module_env(command_timeout=3, sandbox={"type": "bwrap", "limits": {"memory_mb": 2048, "file_mb": 64}})


@pytest.fixture
def fresh_limited(limited):
    limited.reset(seed=0)
    return limited


@pytest.fixture(scope="module")
def baseline_files(shared) -> dict[str, str]:
    """What `python baseline.py` writes, run once; tests put these bytes back instead of re-running it."""
    shared.reset(seed=0)
    assert "wrote" in run(shared, "python baseline.py")
    workspace = session_dir(shared) / "home" / "workspace"
    return {name: (workspace / name).read_text() for name in ("submission.csv", "validation_predictions.csv")}


class _Recorder(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.seen.append(self.client_address)
        self.request.sendall(b"HTTP/1.0 200 OK\r\n\r\nHOST-SECRET\n")


@pytest.fixture(scope="module")
def server():
    """A real TCP server on the host's loopback, in a thread, that records every connection."""
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Recorder)
    srv.seen = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with socket.create_connection(srv.server_address, 2) as probe:
        assert probe.recv(100).endswith(b"HOST-SECRET\n")  # it answers from the host
    srv.seen.clear()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def abstract_socket():
    """A listening abstract unix socket (scoped by network namespace, no file to mount)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(f"\0synthml-{TOKEN}")
    sock.listen()
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture
def canary_env(task_dir, runtime):
    """The sample task with the canary as an extra column of the hidden labels (the evaluator ignores it)."""
    labels = task_dir / "hidden" / "test_labels.csv"
    header, *rows = labels.read_text().splitlines()
    labels.write_text("\n".join([f"{header},{CANARY}", *(f"{row}," for row in rows)]) + "\n")
    env = SynthMLEnv(task=task_dir, command_timeout=120)
    env.reset(seed=0)
    yield env
    env.close()
