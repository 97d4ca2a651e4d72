"""`VLLMServer`: a Ray actor that runs one model server on the GPUs Ray gave it, and keeps it up.

The command is a template, so the same launcher starts vLLM on a GPU node or the llama.cpp server on a
CPU machine (the tests do that):

    vllm serve {model} --tensor-parallel-size {gpus} --host {host} --port {port}      (the default)
    synthml serve-llm --host {host} --port {port}                                     (CPU, SmolLM2-135M)

Ray sets CUDA_VISIBLE_DEVICES for an actor that asks for GPUs; the server inherits it. The server listens
on the node's address (reachable by workers on other nodes), on a port picked once, so its URL survives a
restart. It is ready when `GET /v1/models` answers; a watcher restarts it when it exits or stops answering,
at most `max_restarts` times (with backoff); its process group is stopped with it and dies with the actor.
"""

import contextlib
import ctypes
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthml.agents.serve import executable
from synthml.errors import SynthMLError, remote_message
from synthml.process import end_group, free_port, start_group
from synthml.training.endpoints import is_up, served_models

DEFAULT_COMMAND = "vllm serve {model} --tensor-parallel-size {gpus} --host {host} --port {port}"
PLACEHOLDERS = ("model", "gpus", "host", "port")
WATCH_S = 2.0
HUNG_PROBES = 6
"""Probes in a row a running server may leave unanswered before it is restarted as hung."""
STOP_TIMEOUT_S = 30.0
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
    """One model server, started in __init__ (which returns once it answers), restarted when it exits or hangs."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec, self.restarts, self.last_error = spec, 0, ""
        self.host = _node_address()
        self.port = free_port(self.host)
        self.log = Path(tempfile.mkdtemp(prefix="synthml-server-")) / "server.log"
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process: subprocess.Popen | None = None
        self._start()
        threading.Thread(target=self._watch, name="server-watch", daemon=True).start()

    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def pid(self) -> int | None:
        process = self._process
        return process.pid if process else None

    def models(self) -> list[str]:
        return served_models(self.base_url())

    def health(self) -> bool | None:
        """True: it answers; None: not now (starting, restarting); False: gone (out of restarts)."""
        if self._process is None and not self._lock.locked():
            return False
        return is_up(self.base_url()) or None

    def where(self) -> str:
        """Its URL, and where its log lies (on its node), for messages."""
        gave_up = self._process is None and not self._lock.locked()
        gone = f", gave up after {self.restarts} restart(s): {self.last_error[:300]}" if gave_up else ""
        return f"{self.base_url()} (log {self.host}:{self.log}{gone})"

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            _end(self._process)

    def _start(self) -> None:
        argv = self.spec.argv(self.host, self.port)
        argv[0] = executable(argv[0])
        with open(self.log, "ab") as log:
            try:
                self._process = start_group(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            preexec_fn=_die_with_parent)
            except OSError as e:
                raise SynthMLError(f"--server-command: cannot run {argv[0]!r}: {e}; install it on every GPU node "
                                   "or fix the command") from None
        self._wait_ready(argv)

    def _wait_ready(self, argv: list[str]) -> None:
        deadline = time.monotonic() + self.spec.ready_timeout_s
        while not is_up(self.base_url()):
            if self._process.poll() is not None:
                _end(self._process)
                raise SynthMLError(f"model server `{shlex.join(argv)}` exited with {self._process.returncode} "
                                   f"before answering; its log ends:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                _end(self._process)
                raise SynthMLError(f"model server `{shlex.join(argv)}` did not answer {self.base_url()}/models in "
                                   f"{self.spec.ready_timeout_s:g} s; its log ends:\n{self._log_tail()}")
            time.sleep(0.5)

    def _watch(self) -> None:
        """Restarts the server when it exits, or when it stops answering for HUNG_PROBES probes in a row."""
        misses = 0
        while not self._stopping.wait(WATCH_S):
            process = self._process
            if process is None:
                return
            misses = 0 if process.poll() is None and is_up(self.base_url()) else misses + 1
            if process.poll() is not None or misses >= HUNG_PROBES:
                with self._lock:
                    self._restart()
                misses = 0

    def _restart(self) -> None:
        """Kills what is left of the server (its whole process group), then starts it again, with backoff,
        until it answers or the restarts run out (then `_process` stays None: gone)."""
        _end(self._process)
        self._process = None
        while self.restarts < self.spec.max_restarts and not self._stopping.is_set():
            self.restarts += 1
            try:
                self._start()
                return
            except SynthMLError as e:
                self.last_error = str(e)
                self._process = None
                time.sleep(min(2.0 ** self.restarts, 30.0))

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-LOG_TAIL:] if self.log.is_file() else "(no log)"


def launch_servers(spec: ServerSpec, count: int, prefix: str) -> dict[str, object]:
    """Starts `count` servers as Ray actors (each on `spec.gpus` GPUs); returns {base_url: actor handle}
    once all answer. A server that fails to start raises SynthMLError with its log, and none is left running."""
    import ray

    actor = ray.remote(num_gpus=spec.gpus, num_cpus=spec.cpus, max_restarts=0)(VLLMServer)
    handles = [actor.options(name=f"{prefix}-server-{n}").remote(spec) for n in range(count)]
    try:
        urls = ray.get([handle.base_url.remote() for handle in handles], timeout=spec.ready_timeout_s + 60)
    except BaseException as e:
        stop_servers(handles)
        if isinstance(e, ray.exceptions.GetTimeoutError):
            raise SynthMLError(f"--vllm: {count} server(s) not placed and ready in {spec.ready_timeout_s:g} s; does "
                               f"the cluster have {count} x {spec.gpus} free GPU(s)? (`ray status`)") from None
        if isinstance(e, ray.exceptions.RayActorError):
            raise SynthMLError(f"--vllm: a model server failed to start: {remote_message(e)}") from None
        raise
    return dict(zip(urls, handles, strict=True))


def stop_servers(handles: list) -> None:
    """Stops each server's whole process group, then its actor (a killed actor only takes the group's leader)."""
    import ray

    with contextlib.suppress(ray.exceptions.RayError):  # dead or stuck: the kill and the parent-death signal remain
        ray.get([handle.stop.remote() for handle in handles], timeout=STOP_TIMEOUT_S)
    for handle in handles:
        ray.kill(handle)


def _node_address() -> str:
    """The address Ray knows this node by (what other nodes reach it at)."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    return next(entry["NodeManagerAddress"] for entry in ray.nodes() if entry["NodeID"] == node)


def _end(process: subprocess.Popen | None) -> None:
    """Stops the server's whole process group (its workers too, even once the leader is gone)."""
    if process is not None:
        end_group(process, grace_s=10.0)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the actor's process dies (Linux prctl PR_SET_PDEATHSIG)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
