"""SWE-ReX sandbox: commands run in one persistent bash session of a SWE-ReX deployment.

`deployment` is SWE-ReX's own config (`{"type": "docker", "image": ...}`, `{"type": "modal", ...}`).
The host workspace is uploaded (a copy: changes stay in the deployment until `download`) into
`workspace_dir`, and the session gets the same environment as bwrap. Isolation is the deployment's
alone: the `local` deployment runs bash on this host as the calling user with NO isolation, so it
needs `unsafe_local=True` (tests only); each local sandbox gets a fresh folder, removed on `close`.
SWE-ReX applies no `Limits`, and `Mounts.read_only` is best effort (`chmod -R a-w`). SWE-ReX is async
and its local commands block the event loop, so each sandbox runs its coroutines on a private loop
in a background thread.
"""

import asyncio
import base64
import contextlib
import io
import posixpath
import shlex
import tarfile
import tempfile
import threading
import typing
from collections.abc import Coroutine, Iterator
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synthml.envs.sandbox import WORKSPACE, Mounts, Output
from synthml.envs.sandbox.capture import Capture
from synthml.envs.sandbox.files import check_listing, copy_out, remove_tree
from synthml.envs.sandbox.limits import Limits
from synthml.envs.sandbox.variables import sandbox_env
from synthml.errors import CopyRefused, SandboxError, SandboxUnavailableError

HINT = "pip install 'synthml[swerex]'"
MARGIN = 30.0
"""Seconds SWE-ReX may take beyond a request's own timeout before it counts as unresponsive."""
TRANSFER_TIMEOUT = 3600.0
KEPT_BYTES = Limits().output_kept_bytes
FILE_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)
INTERRUPTED = 130
"""Exit code of a timed-out command: SWE-ReX interrupts it with Ctrl-C."""
UNSAFE_LOCAL = ("sandbox.deployment {'type': 'local'} runs agent code on this host as the calling user with no "
                "isolation; set unsafe_local=true to accept that (tests only), or use an isolating deployment "
                "such as {'type': 'docker', 'image': 'python:3.11'}")


class SwerexConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["swerex"] = "swerex"
    deployment: dict = Field(description="SWE-ReX's deployment config, e.g. {'type': 'docker', 'image': "
                             "'python:3.11'}; {'type': 'local'} has no isolation and needs unsafe_local.")
    unsafe_local: bool = Field(False, description="Allow the local deployment, which runs agent code on this "
                               "host with no isolation.")
    startup_timeout: float = Field(60, gt=0, description="Seconds the deployment may take to start.")
    workspace_dir: str | None = Field(None, pattern="^/", description="Where the workspace lives in the "
                                      "deployment (None: /home/agent/workspace); the local deployment gives "
                                      "each sandbox a fresh folder under it (None: the system temp folder).")

    @model_validator(mode="after")
    def _local_needs_consent(self) -> "SwerexConfig":
        if self.local and not self.unsafe_local:
            raise ValueError(UNSAFE_LOCAL)
        return self

    @property
    def local(self) -> bool:
        return self.deployment.get("type") == "local"

    def build(self, mounts: Mounts) -> "SwerexSandbox":
        """Start the deployment; swe-rex is imported only now, so it stays an optional extra."""
        return SwerexSandbox(self, mounts)


class SwerexSandbox:
    def __init__(self, config: SwerexConfig, mounts: Mounts) -> None:
        self.config, self.mounts = config, mounts
        self._rex, self._errors, self._local = _import_swerex()
        self._deployment = _deployment(config.deployment)
        self._env = sandbox_env(mounts.runtime, mounts.env)
        self._sessions, self._closed = 0, False
        self._root: Path | None = None  # local deployment: this sandbox's own folder, and the parents made for it
        self._made: list[Path] = []
        self.workspace_dir = config.workspace_dir or WORKSPACE
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="synthml-swerex", daemon=True)
        self._thread.start()
        try:
            if config.local:  # bash runs on this host: a folder of its own, so sandboxes never collide
                self._root, self._made = _fresh_folder(config.workspace_dir)
                self.workspace_dir = str(self._root / "workspace")
            self._checked(self._deployment.start(), "starting the deployment", config.startup_timeout)
            self._upload()
            self._open_session()
        except BaseException:
            self.close()
            raise

    def run(self, command: str, timeout: float) -> Output:
        wrapped = "{ :\n" + command + "\n}"  # one unit: SWE-ReX re-joins lines with ';', breaking heredocs
        action = self._rex.BashAction(command=wrapped, session=self._session, timeout=timeout, check="silent")
        errors = self._errors
        try:
            obs = self._call(self._runtime.run_in_session(action), "a command", timeout + MARGIN)
        except errors.CommandTimeoutError:
            return Output(self._interrupt(), INTERRUPTED, timed_out=True)
        except errors.BashIncorrectSyntaxError as e:
            return Output(e.extra_info.get("bash_stderr") or str(e), 2)
        except SandboxError:
            raise
        except Exception as e:  # the shell exited (`exit`) or broke
            return Output(self._restart_session(f"the shell ended ({type(e).__name__})"), -1)
        return Output(_clean(obs.output), obs.exit_code if obs.exit_code is not None else -1)

    def read_file(self, path: str) -> str:
        request = self._rex.ReadFileRequest(path=self._resolve(path), errors="replace")
        try:
            return self._checked(self._runtime.read_file(request), f"reading {path}", MARGIN, FILE_ERRORS).content
        except FILE_ERRORS as e:
            raise FileNotFoundError(f"{path}: {e}") from e

    def write_file(self, path: str, content: str) -> None:
        request = self._rex.WriteFileRequest(path=self._resolve(path), content=content)
        try:
            self._checked(self._runtime.write_file(request), f"writing {path}", MARGIN, FILE_ERRORS)
        except FILE_ERRORS as e:
            raise PermissionError(f"cannot write {path}: {e}") from e

    def download(self, path: str, dest: Path) -> bool:
        parts = PurePosixPath(path).parts  # "." (the whole workspace) has none
        if PurePosixPath(path).is_absolute() or ".." in parts:
            return False
        tar = _tar_command(self.workspace_dir, parts)
        done = self._execute(["bash", "-c", tar], f"downloading {path}", TRANSFER_TIMEOUT)
        if done.exit_code != 0:
            return False
        with tempfile.TemporaryDirectory(prefix="synthml-swerex-") as scratch:
            try:
                with tarfile.open(fileobj=io.BytesIO(base64.b64decode(done.stdout))) as archive:
                    check_listing(str(PurePosixPath(*parts)) if parts else ".", _listing(archive))
                    archive.extractall(scratch, filter=_plain)
            except CopyRefused:
                raise
            except (ValueError, tarfile.TarError) as e:
                raise SandboxError(f"downloading {path}: the deployment sent a broken archive ({e})") from e
            return copy_out(Path(scratch), str(PurePosixPath(*parts)), dest)

    def exposes(self, host_path: Path) -> bool:
        """The local deployment isolates nothing, so every host path is readable; a remote one (its own
        container or machine) is shown no host path."""
        return self.config.local

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._call(self._deployment.stop(), "stopping the deployment", MARGIN)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()
        if self._root is not None:
            remove_tree(self._root)
        for made in self._made:  # deepest first; one that another sandbox still uses is not empty and stays
            with contextlib.suppress(OSError):
                made.rmdir()

    @property
    def _runtime(self) -> Any:
        if self._closed:
            raise SandboxError("this sandbox is closed; reset the env to get a new one")
        return self._deployment.runtime

    @property
    def _session(self) -> str:
        return f"synthml-{self._sessions}"

    def _call(self, coro: Coroutine, what: str, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            if future.done():  # the request's own timeout (e.g. CommandTimeoutError)
                raise
            future.cancel()
            raise SandboxError(f"SWE-ReX did not answer {what} within {timeout:.0f} s") from None

    def _checked(self, coro: Coroutine, what: str, timeout: float, passed: tuple = ()) -> Any:
        """`_call`, with every failure but those `passed` as a SandboxError."""
        try:
            return self._call(coro, what, timeout)
        except (SandboxError, *passed):
            raise
        except Exception as e:
            raise SandboxError(f"SWE-ReX failed {what}: {type(e).__name__}: {_first_line(e)}") from e

    def _execute(self, argv: list[str], what: str, timeout: float = MARGIN) -> Any:
        """A command outside the session (no shell state), as SWE-ReX's server user."""
        command = self._rex.Command(command=argv, timeout=timeout)
        return self._checked(self._runtime.execute(command), what, timeout + MARGIN)

    def _upload(self) -> None:
        """The workspace into `workspace_dir`; the rest of `Mounts.home` beside it (its home)."""
        self._execute(["mkdir", "-p", "--", self.workspace_dir], f"creating {self.workspace_dir}")
        if self.mounts.home is not None:
            self._upload_children(self.mounts.home, posixpath.dirname(self.workspace_dir), skip=self.mounts.workspace)
        self._upload_children(self.mounts.workspace, self.workspace_dir)
        if self.mounts.read_only:
            self._execute(["chmod", "-R", "a-w", "--", self.workspace_dir], "making the workspace read-only")

    def _upload_children(self, source: Path, target: str, skip: Path | None = None) -> None:
        with tempfile.TemporaryDirectory(prefix="synthml-swerex-") as scratch:
            for child in _children_without_links(source, Path(scratch), skip):
                request = self._rex.UploadRequest(source_path=str(child),
                                                  target_path=posixpath.join(target, child.name))
                self._checked(self._runtime.upload(request), f"uploading {child}", TRANSFER_TIMEOUT)

    def _open_session(self) -> None:
        request = self._rex.CreateBashSessionRequest(session=self._session, startup_timeout=MARGIN)
        self._checked(self._runtime.create_session(request), "opening a bash session", 2 * MARGIN)
        self._speed_up()
        setup = ["unset PROMPT_COMMAND $(compgen -e | grep -vxE 'PS[012]') 2>/dev/null",
                 *(f"export {key}={shlex.quote(value)}" for key, value in self._env.items()),
                 f"cd -- {shlex.quote(self.workspace_dir)}"]
        action = self._rex.BashAction(command="{ :\n" + "\n".join(setup) + "\n}", session=self._session,
                                      timeout=MARGIN, check="raise")
        self._checked(self._runtime.run_in_session(action), "setting up the bash session", 2 * MARGIN)

    def _speed_up(self) -> None:
        """pexpect waits 50 ms before each send by default; the local runtime's session needs none."""
        session = getattr(self._runtime, "sessions", {}).get(self._session)
        if isinstance(self._runtime, self._local.LocalRuntime) and isinstance(session, self._local.BashSession):
            session.shell.delaybeforesend = None

    def _interrupt(self) -> str:
        action = self._rex.BashInterruptAction(session=self._session)
        try:
            return _clean(self._call(self._runtime.run_in_session(action), "an interrupt", MARGIN).output)
        except SandboxError:
            raise
        except Exception as e:
            return self._restart_session(f"the shell ignored the interrupt ({type(e).__name__})")

    def _restart_session(self, why: str) -> str:
        with contextlib.suppress(Exception):
            request = self._rex.CloseBashSessionRequest(session=self._session)
            self._call(self._runtime.close_session(request), "closing a bash session", MARGIN)
        self._sessions += 1
        self._open_session()
        return f"[{why}; a new shell starts in the workspace, with cd and exports reset]"

    def _resolve(self, path: str) -> str:
        """Relative paths and paths under /home/agent/workspace resolve against `workspace_dir`."""
        if path == WORKSPACE or path.startswith(WORKSPACE + "/"):
            path = self.workspace_dir + path[len(WORKSPACE) :]
        return posixpath.normpath(posixpath.join(self.workspace_dir, path))


def _import_swerex() -> tuple[ModuleType, ModuleType, ModuleType]:
    """SWE-ReX's request types, its exceptions and its local runtime."""
    try:
        from swerex import exceptions
        from swerex.runtime import abstract, local
    except ImportError as e:
        raise SandboxUnavailableError(f"the swerex sandbox needs SWE-ReX: {HINT}") from e
    return abstract, exceptions, local


def _deployment(spec: dict) -> Any:
    """SWE-ReX's deployment for its config dict; errors name the field at fault."""
    from swerex.deployment.config import DeploymentConfig, get_deployment

    kinds = {c.model_fields["type"].default: c for c in typing.get_args(DeploymentConfig) if "type" in c.model_fields}
    kind = spec.get("type")
    if kind not in kinds:
        raise SandboxError(f"sandbox.deployment.type={kind!r} is not a SWE-ReX deployment; choose one of "
                           f"{', '.join(kinds)}")
    try:
        config = kinds[kind].model_validate(spec)
    except ValidationError as e:
        error = e.errors()[0]
        raise SandboxError(f"sandbox.deployment.{'.'.join(map(str, error['loc']))}: {error['msg']} "
                           f"(see SWE-ReX's {kinds[kind].__name__})") from e
    try:
        return get_deployment(config)
    except ImportError as e:
        extra = f" 'swe-rex[{kind}]'" if kind in ("modal", "fargate") else ""
        raise SandboxUnavailableError(f"SWE-ReX's '{kind}' deployment cannot import '{e.name}': "
                                      f"{HINT}{extra}") from e


def _fresh_folder(parent: str | None) -> tuple[Path, list[Path]]:
    """A new folder under `parent` (None: the temp folder) and the parents made for it, deepest first."""
    base = Path(parent or tempfile.gettempdir())
    made = [p for p in (base, *base.parents) if not p.exists()]
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="synthml-swerex-", dir=base)), made


def _children_without_links(root: Path, scratch: Path, skip: Path | None) -> list[Path]:
    """`root`'s children but `skip`, copied to `scratch` without symlinks if there are any (uploads
    follow them, which could carry host files)."""
    children = sorted(child for child in root.iterdir() if child != skip)
    if not any(path.is_symlink() for child in children for path in (child, *child.rglob("*"))):
        return children
    return [scratch / child.name for child in children if copy_out(root, child.name, scratch / child.name)]


def _tar_command(workspace_dir: str, parts: tuple[str, ...]) -> str:
    """Archives workspace_dir/parts (no parts: all of it) as base64; fails if it is absent or any part
    of its path is a link."""
    quoted = shlex.quote(str(PurePosixPath(*parts)))
    checks = [f"test ! -L {shlex.quote(str(PurePosixPath(*parts[: i + 1])))}" for i in range(len(parts))]
    return (f"set -o pipefail; cd -- {shlex.quote(workspace_dir)} && {' && '.join([*checks, f'test -e {quoted}'])}"
            f" && tar --sparse -cf - -- {quoted} | base64 -w0")


def _listing(archive: tarfile.TarFile) -> Iterator[tuple[str, int | None]]:
    """The members extraction would write: a file's apparent size, None for a folder."""
    for member in archive:
        if member.isfile() or member.isdir():
            yield member.name, member.size if member.isfile() else None


def _plain(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """Extraction filter: regular files and folders only; links, devices, absolute names, `..` dropped."""
    if member.isfile() or member.isdir():
        with contextlib.suppress(tarfile.FilterError):
            return tarfile.data_filter(member, dest)
    return None


def _clean(output: str) -> str:
    """SWE-ReX's pty output, with its stray carriage returns and blank edges gone, cut like bwrap's."""
    capture = Capture(KEPT_BYTES)
    capture.add(output.replace("\r\n", "\n").strip("\n").encode())
    return capture.text()


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
