"""Network escapes: a server on the host's loopback, a host abstract unix socket, the internet."""

import time

import pytest

from tests.security.helpers import TOKEN, assert_alive, run

NETWORK = {
    "python-socket": "python -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 3)\"",
    "curl": "curl -sS -m 3 http://127.0.0.1:{port}/",
    "curl-localhost-name": "curl -sS -m 3 http://localhost:{port}/",
    "wget": "wget -q -T 3 -t 1 -O- http://127.0.0.1:{port}/",
    "bash-dev-tcp": "(echo GET > /dev/tcp/127.0.0.1/{port})",
    "internet": "curl -sS -m 3 http://1.1.1.1/",
}


@pytest.mark.parametrize("client", NETWORK)
def test_no_connection_to_a_server_on_the_host_loopback(fresh, server, client):
    probe = NETWORK[client].format(port=server.server_address[1])
    out = run(fresh, f"{probe} && echo CONNECTED || echo BLOCKED")
    assert "BLOCKED" in out and "CONNECTED" not in out and "HOST-SECRET" not in out, out
    time.sleep(0.1)
    assert server.seen == []
    assert_alive(fresh)


def test_no_connection_to_a_host_abstract_unix_socket(fresh, abstract_socket):
    out = run(fresh, f"python -c 'import socket; socket.socket(socket.AF_UNIX).connect(\"\\0synthml-{TOKEN}\")'"
                     " && echo CONNECTED || echo BLOCKED")
    assert "BLOCKED" in out and "ConnectionRefusedError" in out
    with pytest.raises(BlockingIOError):
        abstract_socket.accept()
    assert_alive(fresh)
