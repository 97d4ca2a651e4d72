"""`VLLMServer`: a Ray actor that runs one model server on the GPUs Ray gave it, and keeps it up.

The command is a template, so the same launcher starts vLLM on a GPU node or the llama.cpp server on a
CPU machine (the tests do that):

    vllm serve {model} --tensor-parallel-size {gpus} --host {host} --port {port}      (the default)
    synthml serve-llm --host {host} --port {port}                                     (CPU, SmolLM2-135M)

Ray sets CUDA_VISIBLE_DEVICES for an actor that asks for GPUs; the server inherits it. The server listens
on the node's address (reachable by workers on other nodes), on a port picked once, so its URL survives a
restart. It is ready when `GET /v1/models` answers; a watcher restarts it when it exits, at most
`max_restarts` times; it dies with the actor.
"""

import ctypes
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthml.errors import SynthMLError, remote_message
from synthml.training.endpoints import answers, served_models

DEFAULT_COMMAND = "vllm serve {model} --tensor-parallel-size {gpus} --host {host} --port {port}"
PLACEHOLDERS = ("model", "gpus", "host", "port")
WATCH_S = 1.0
LOG_TAIL = 2000


class ServerSpec(BaseModel):
    """How to start one model server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, description="The model to serve (a path or a hub name the node has offline).")
    gpus: int = Field(1, ge=0, description="GPUs per server (vLLM's tensor parallel size); 0 runs on CPU.")
    cpus: float = Field(1.0, ge=0, description="CPUs Ray reserves for each server.")
    command: str = Field(DEFAULT_COMMAND, description="Command template; placeholders {model} {gpus} {host} {port}.")
    ready_timeout_s: float = Field(900.0, gt=0, description="Seconds a (re)start may take to answer /v1/models.")
    max_restarts: int = Field(3, ge=0, description="Restarts after the server exits, before it is left down.")

    @field_validator("command")
    @classmethod
    def _known_placeholders(cls, command: str) -> str:
        try:
            command.format(**dict.fromkeys(PLACEHOLDERS, "x"))
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"placeholder {e} is not one of {{{'} {'.join(PLACEHOLDERS)}}}") from None
        if "{port}" not in command:
            raise ValueError("the command must listen on {port} (the launcher picks the port)")
        return command

    def argv(self, host: str, port: int) -> list[str]:
        return shlex.split(self.command.format(model=self.model, gpus=max(self.gpus, 1), host=host, port=port))


class VLLMServer:
    """One model server, started in __init__ (which returns once it answers), restarted when it exits."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec, self.restarts = spec, 0
        self.host = _node_address()
        self.port = _free_port(self.host)
        self.log = Path(tempfile.mkdtemp(prefix="synthml-server-")) / "server.log"
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process: subprocess.Popen | None = None
        self._start()
        threading.Thread(target=self._watch, name="server-watch", daemon=True).start()

    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def models(self) -> list[str]:
        return served_models(self.base_url())

    def ensure_ready(self) -> bool:
        """Restarts the server if it exited (within max_restarts); True once it answers /v1/models."""
        with self._lock:
            if self._process is not None and self._process.poll() is not None:
                self._restart()
            return self._process is not None and answers(self.base_url())

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            _terminate(self._process)

    def _start(self) -> None:
        argv = self.spec.argv(self.host, self.port)
        argv[0] = _executable(argv[0])
        with open(self.log, "ab") as log:
            try:
                self._process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                 start_new_session=True, preexec_fn=_die_with_parent)
            except OSError as e:
                raise SynthMLError(f"--server-command: cannot run {argv[0]!r}: {e}; install it on every GPU node "
                                   "or fix the command") from None
        self._wait_ready(argv)

    def _wait_ready(self, argv: list[str]) -> None:
        deadline = time.monotonic() + self.spec.ready_timeout_s
        while not answers(self.base_url()):
            if self._process.poll() is not None:
                raise SynthMLError(f"model server `{shlex.join(argv)}` exited with {self._process.returncode} "
                                   f"before answering; its log ends:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                _terminate(self._process)
                raise SynthMLError(f"model server `{shlex.join(argv)}` did not answer {self.base_url()}/models in "
                                   f"{self.spec.ready_timeout_s:g} s; its log ends:\n{self._log_tail()}")
            time.sleep(0.5)

    def _restart(self) -> None:
        if self.restarts >= self.spec.max_restarts or self._stopping.is_set():
            self._process = None
            return
        self.restarts += 1
        try:
            self._start()
        except SynthMLError:
            self._process = None

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_S):
            with self._lock:
                if self._process is not None and self._process.poll() is not None:
                    self._restart()

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-LOG_TAIL:] if self.log.is_file() else "(no log)"


def launch_servers(spec: ServerSpec, count: int, prefix: str) -> dict[str, object]:
    """Starts `count` servers as Ray actors (each on `spec.gpus` GPUs); returns {base_url: actor handle}
    once all answer. A server that fails to start raises SynthMLError with its log."""
    import ray

    actor = ray.remote(num_gpus=spec.gpus, num_cpus=spec.cpus, max_restarts=0)(VLLMServer)
    handles = [actor.options(name=f"{prefix}-server-{n}").remote(spec) for n in range(count)]
    try:
        urls = ray.get([handle.base_url.remote() for handle in handles], timeout=spec.ready_timeout_s + 60)
    except ray.exceptions.GetTimeoutError:
        raise SynthMLError(f"--vllm: {count} server(s) not placed and ready in {spec.ready_timeout_s:g} s; does "
                           f"the cluster have {count} x {spec.gpus} free GPU(s)? (`ray status`)") from None
    except ray.exceptions.RayActorError as e:
        raise SynthMLError(f"--vllm: a model server failed to start: {remote_message(e)}") from None
    return dict(zip(urls, handles, strict=True))


def _executable(name: str) -> str:
    """`name` from PATH, else from beside this Python (a virtualenv's bin, not always on the actor's PATH)."""
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent)) or name


def _node_address() -> str:
    """The address Ray knows this node by (what other nodes reach it at)."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    return next(entry["NodeManagerAddress"] for entry in ray.nodes() if entry["NodeID"] == node)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: SIGTERM when the actor's process dies (Linux prctl PR_SET_PDEATHSIG)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _terminate(process: subprocess.Popen | None, grace_s: float = 10.0) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
