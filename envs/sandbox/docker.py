"""Docker sandbox: one long-lived container per sandbox, one `docker exec` per command.

The container (`sleep infinity` under Docker's init, as root with every capability dropped) has no
network, a read-only root filesystem, a private /tmp, memory and process limits, and shows the host
workspace as a bind mount. Commands run as an unprivileged uid with the same environment as bwrap
(never the host's). When a command ends, times out or floods its output, every process of that uid
is killed (`kill -9 -1` as that uid spares root's PID 1), so background jobs end with the step.
Needs the docker SDK (`pip install 'synthml[docker]'`) and a reachable Docker engine.
"""

import base64
import os
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from synthml.envs.runtime import Runtime
from synthml.envs.sandbox import HOME, WORKSPACE, Mounts, Output
from synthml.envs.sandbox.capture import Capture
from synthml.envs.sandbox.files import copy_out, give_writable_to
from synthml.envs.sandbox.limits import Limits
from synthml.envs.sandbox.process import SIDE_LIMIT
from synthml.envs.sandbox.shell import MAX_SCRIPT_BYTES, TOO_LONG, ShellState, read_file, script, write_file_command
from synthml.envs.sandbox.variables import sandbox_env
from synthml.errors import SandboxError, SandboxUnavailableError

WRAPPER = '/bin/bash --noprofile --norc -c "$1" 3>&1 1>&2; status=$?; kill -9 -1 2>/dev/null; exit $status'
"""Runs the command script with its output on stderr and its shell state (fd 3) on stdout, then
kills whatever the command left running."""
STAGED = "/tmp/.synthml-write"
CHUNK_BYTES = 64 << 10
"""Content bytes a `write_file` exec carries (base64 keeps the argument under MAX_SCRIPT_BYTES)."""


class DockerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["docker"] = "docker"
    image: str = Field("python:3.11-slim", description="Image of the container: it must provide bash, coreutils "
                       "and what the task needs (its Python packages), or set mount_runtime.")
    limits: Limits = Field(default_factory=Limits, description="Resource limits of the container and commands.")
    mount_runtime: bool = Field(False, description="Mount the task runtime and its base interpreter read-only at "
                                "their host paths (the base's site-packages hidden), so the host venv runs here.")
    docker_host: str | None = Field(None, description="Engine URL, e.g. unix:///var/run/docker.sock; "
                                    "None: DOCKER_HOST or the default.")

    def build(self, mounts: Mounts) -> "DockerSandbox":
        """Start the container; the docker SDK is imported only now, so it stays an optional extra."""
        return DockerSandbox(self, mounts)


class DockerSandbox:
    def __init__(self, config: DockerConfig, mounts: Mounts) -> None:
        self._docker = _import_docker()
        self.config, self.mounts = config, mounts
        self.client = _connect(self._docker, config.docker_host)
        self.uid = os.getuid() if os.geteuid() != 0 else 1_000_000 + secrets.randbelow(1 << 20)
        if os.geteuid() == 0 and not mounts.read_only:
            give_writable_to(mounts.home if mounts.home is not None else mounts.workspace, self.uid)
        runtime = mounts.runtime if config.mount_runtime else None
        self._env = sandbox_env(runtime, config.limits.thread_env() | mounts.env)
        self._state = ShellState()
        self._closed = False
        try:
            self.container = self._start_container()
        except BaseException:
            self.client.close()
            raise

    def run(self, command: str, timeout: float) -> Output:
        return self._exec(self._script(command), timeout)

    def read_file(self, path: str) -> str:
        return read_file(self.run, path)

    def write_file(self, path: str, content: str) -> None:
        data = content.encode()
        for start in range(0, max(len(data), 1), CHUNK_BYTES):
            chunk = base64.b64encode(data[start : start + CHUNK_BYTES]).decode()
            out = self._exec(f"printf %s {chunk} | base64 -d {'>' if start == 0 else '>>'} {STAGED}", 30)
            if out.exit_code != 0:
                raise SandboxError(f"could not stage {path} in /tmp of the container: {out.output.strip()}")
        command = f"{write_file_command(path)} < {STAGED}; status=$?; rm -f {STAGED}; exit $status"
        out = self._exec(self._script(command), 30)
        if out.exit_code != 0:
            raise PermissionError(out.output.strip() or f"cannot write {path}")

    def _script(self, command: str) -> str:
        """Per-process limits as in bwrap; the container's pids limit bounds processes."""
        return script(command, self._state, self._env, preamble=self.config.limits.ulimit(processes=False))

    def download(self, path: str, dest: Path) -> bool:
        return copy_out(self.mounts.workspace, path, dest)

    def exposes(self, host_path: Path) -> bool:
        return exposes(self.config, self.mounts, host_path)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.container.remove(force=True)
        except self._docker.errors.NotFound:
            pass
        except self._docker.errors.DockerException as e:
            raise SandboxError(f"could not remove container {self.container.short_id}: {e}") from e
        finally:
            self.client.close()

    def _exec(self, bash_script: str, timeout: float) -> Output:
        if self._closed:
            raise SandboxError("this sandbox is closed; reset the env to get a new one")
        if len(bash_script.encode()) > MAX_SCRIPT_BYTES:
            return TOO_LONG
        limits = self.config.limits
        try:
            exec_id = self._exec_create(["/bin/bash", "-c", WRAPPER, "synthml", bash_script])
            stream = self.client.api.exec_start(exec_id, stream=True, demux=True)
            drain = _Drain(Capture(limits.output_kept_bytes), limits.output_kill_bytes, self._kill_all)
            timed_out = _wait(drain, stream, timeout, self._kill_all)
            exit_code = self.client.api.exec_inspect(exec_id)["ExitCode"]
        except Exception as e:  # the engine or its connection failed: infrastructure, not an outcome
            raise SandboxError(f"docker exec in container {self.container.short_id} failed: {e}") from e
        note = {"output": f"\n[command killed: it printed more than {limits.output_kill_bytes} bytes]",
                "state": "\n[command killed: it flooded the shell's state pipe]", None: ""}[drain.flooded]
        if not drain.flooded:
            self._state, note = self._state.after(bytes(drain.state))
        code = -9 if timed_out or exit_code is None else exit_code
        return Output(drain.capture.text() + note, code, timed_out)

    def _exec_create(self, argv: list[str]) -> str:
        return self.client.api.exec_create(self.container.id, argv, user=f"{self.uid}:{self.uid}",
                                           workdir=WORKSPACE)["Id"]

    def _kill_all(self) -> None:
        """Kill every process of the sandbox uid; as that uid, `kill -1` spares only itself."""
        self.client.api.exec_start(self._exec_create(["/bin/sh", "-c", "kill -9 -1"]))

    def _start_container(self) -> Any:
        image, limits = self.config.image, self.config.limits
        try:
            return self.client.containers.run(
                image, ["sleep", "infinity"], detach=True, init=True, user="0:0", hostname="sandbox",
                network_mode="none", read_only=True, cap_drop=["ALL"], security_opt=["no-new-privileges"],
                mem_limit=f"{limits.memory_mb}m", pids_limit=limits.processes, ulimits=self._ulimits(),
                tmpfs={"/tmp": "rw,exec,nosuid,nodev,mode=1777"}, mounts=self._mounts(), environment=self._env,
                working_dir=WORKSPACE, labels={"synthml.sandbox": "docker"})
        except self._docker.errors.ImageNotFound as e:
            raise SandboxError(f"docker image '{image}' not found and not pullable: `docker pull {image}` "
                               "or set the sandbox's `image`") from e
        except self._docker.errors.DockerException as e:
            raise SandboxError(f"could not start a container from image '{image}': {e}") from e

    def _mounts(self) -> list[Any]:
        mount, read_only = self._docker.types.Mount, self.mounts.read_only
        if self.mounts.home is not None:
            mounts = [mount(HOME, str(self.mounts.home), type="bind", read_only=read_only)]
        else:
            mounts = [mount(HOME, None, type="tmpfs", tmpfs_mode=0o1777),
                      mount(WORKSPACE, str(self.mounts.workspace), type="bind", read_only=read_only)]
        visible, masked = _runtime_paths(self.config, self.mounts)
        mounts += [mount(str(path), str(path), type="bind", read_only=True) for path in visible]
        return mounts + [mount(str(path), None, type="tmpfs") for path in masked]  # Docker mounts parents first

    def _ulimits(self) -> list[Any]:
        limits, ulimit = self.config.limits, self._docker.types.Ulimit
        pairs = {"cpu": limits.cpu_seconds, "fsize": limits.file_mb << 20, "nofile": limits.open_files,
                 "core": 0}
        return [ulimit(name=name, soft=value, hard=value) for name, value in pairs.items()]


class _Drain:
    """Reads a demultiplexed exec stream: stderr is the command's output, stdout its shell state."""

    def __init__(self, capture: Capture, kill_bytes: int, kill: Any) -> None:
        self.capture, self.kill_bytes, self.kill = capture, kill_bytes, kill
        self.state = bytearray()
        self.flooded: str | None = None
        """What the command flooded: "output", or "state" (more than SIDE_LIMIT bytes to fd 3)."""
        self.error: BaseException | None = None

    def __call__(self, stream: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        try:
            for out, err in stream:
                self.state.extend((out or b"")[: max(0, SIDE_LIMIT + 1 - len(self.state))])
                self.capture.add(err or b"")
                if self.flooded is None and (self.capture.total > self.kill_bytes or len(self.state) > SIDE_LIMIT):
                    self.flooded = "output" if self.capture.total > self.kill_bytes else "state"
                    self.kill()
        except Exception as e:  # re-raised in the caller's thread
            self.error = e


def _wait(drain: _Drain, stream: Any, timeout: float, kill: Any) -> bool:
    """Drain the stream in a thread; past the deadline kill the command's processes. True if so."""
    reader = threading.Thread(target=drain, args=(stream,), name="synthml-docker-exec", daemon=True)
    reader.start()
    reader.join(timeout)
    timed_out = reader.is_alive()
    if timed_out:
        kill()
        reader.join(10)
        if reader.is_alive():  # the engine kept the stream open: drop it, and the reader's error with it
            stream.close()
            return True
    if drain.error is not None:
        raise drain.error
    return timed_out


def exposes(config: DockerConfig, mounts: Mounts, host_path: Path) -> bool:
    """Whether a container of this config could read `host_path`: under its bind mounts, not masked."""
    visible, masked = _runtime_paths(config, mounts)
    shown = [mounts.home if mounts.home is not None else mounts.workspace, *visible]
    path = host_path.resolve()
    return (any(path.is_relative_to(p.resolve()) for p in shown)
            and not any(path.is_relative_to(m.resolve()) for m in masked))


def _runtime_paths(config: DockerConfig, mounts: Mounts) -> tuple[list[Path], list[Path]]:
    """What `mount_runtime` shows read-only, and what it hides under a tmpfs."""
    if not config.mount_runtime or mounts.runtime is None:
        return [], []
    runtime = Runtime(mounts.runtime)
    return runtime.visible_paths(), runtime.masked_paths()


def _import_docker() -> Any:
    try:
        import docker
    except ImportError as e:
        raise SandboxUnavailableError("the docker sandbox needs the docker SDK: pip install 'synthml[docker]'") from e
    return docker


def _connect(docker: Any, host: str | None) -> Any:
    try:
        return docker.DockerClient(base_url=host) if host else docker.from_env()
    except docker.errors.DockerException as e:
        where = host or os.environ.get("DOCKER_HOST") or "the default socket"
        raise SandboxUnavailableError(
            f"Docker is not reachable at {where} ({e}). Start the engine (`sudo systemctl start docker`), "
            "point DOCKER_HOST or the sandbox's `docker_host` at a running one, or choose sandbox=\"bwrap\"."
        ) from e
