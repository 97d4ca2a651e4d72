"""The default sandbox: bubblewrap, one fresh process tree per command.

No network, a read-only system (the parts of /usr and /etc programs need, and the task runtime), the
workspace as the only writable folder besides a private /tmp, rlimits, an unprivileged user, a seccomp
filter (seccomp.py), a fresh session keyring (keyring.py), and bubblewrap itself started with an empty
environment (its pid 1 in the sandbox shows what it was started with). Run as root, each sandbox gets
its own host uid, so RLIMIT_NPROC bounds all its processes together, and its own memory cgroup
(cgroups.py); run as a normal user, bwrap maps that user in a user namespace of its own, where Linux
>= 5.14 counts RLIMIT_NPROC apart from the user's other processes, and the rlimits, the PID namespace
and the deadline bound it.
A timeout kills the command's PID namespace, and with it everything the command started; background
jobs end with the step.

Each command's launcher (cgroup join, new keyring, bwrap) is started as soon as the previous command
ends, and waits: bwrap blocks reading the rest of its options (`--args`) from a pipe, and the shell reads
its script from a memfd given at start. A command then only writes its script and closes the pipe, so
the join, which can wait about 10 ms on the kernel, happens while the agent thinks.
"""

import atexit
import contextlib
import functools
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from synthml.envs.runtime import Runtime
from synthml.envs.sandbox import HOME, WORKSPACE, Mounts, Output, cgroups, keyring, seccomp
from synthml.envs.sandbox.files import copy_out, give_writable_to, remove_tree
from synthml.envs.sandbox.limits import Limits
from synthml.envs.sandbox.process import Started, kill_groups, start_process
from synthml.envs.sandbox.shell import (
    STARTED,
    ShellState,
    read_file,
    script,
    too_long,
    write_file_command,
)
from synthml.envs.sandbox.variables import sandbox_env
from synthml.errors import SandboxError, SandboxUnavailableError

SYSTEM_DIRS = ("/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec", "/usr/share",
               "/usr/include", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
"""What programs need of the system; /usr/local (site tools, their settings) is not shown."""
MASKED_PROC = ("keys", "key-users", "kcore", "kallsyms", "timer_list", "sched_debug", "latency_stats", "sysrq-trigger")
"""Files of /proc that show host kernel state (Docker masks the same): bound to /dev/null."""
LAUNCH_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
"""bubblewrap's own environment: its pid 1 keeps it, readable from inside as /proc/1/environ."""
BOOT = 'IFS= read -r -d "" __synthml_script </proc/self/fd/{fd}; exec {fd}<&-; eval "$__synthml_script"'
"""The shell's argument: read the command's script from the memfd it was started with, then run it."""
ETC = ("alternatives", "ca-certificates", "ca-certificates.conf", "debian_version", "fonts", "gai.conf",
       "host.conf", "hosts", "inputrc", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "locale.alias",
       "localtime", "magic", "magic.mime", "mime.types", "nsswitch.conf", "os-release", "protocols", "python3",
       "python3.11", "python3.12", "python3.13", "services", "shells", "ssl", "terminfo", "timezone", "xml")
"""What of /etc programs need (copied once per process by shown_etc); the rest (pip.conf with index
tokens, ssh keys, ...) stays unseen."""


@dataclass
class _Launch:
    """A command's process, started and waiting for its script (or started with it, for stdin)."""

    started: Started
    script_fd: int
    """A memfd the shell reads its script from once `go_fd` closes."""
    go_fd: int
    """The write end of the pipe bwrap reads its last options from: closing it lets the command run."""
    state_fd: int
    """The shell-state pipe's number inside the command."""

    def go(self, text: str) -> None:
        os.pwrite(self.script_fd, text.encode(), 0)
        self.close_fds()

    def close_fds(self) -> None:
        for fd in (self.script_fd, self.go_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def abandon(self) -> None:
        self.close_fds()
        self.started.release()


class BwrapConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["bwrap"] = "bwrap"
    limits: Limits = Field(default_factory=Limits, description="Resource limits of every command.")
    bwrap: str = Field("bwrap", description="The bubblewrap binary.")

    def build(self, mounts: Mounts) -> "BwrapSandbox":
        return BwrapSandbox(self, mounts)


class BwrapSandbox:
    def __init__(self, config: BwrapConfig, mounts: Mounts) -> None:
        binary = shutil.which(config.bwrap)
        if binary is None:
            raise SandboxUnavailableError(f"bubblewrap ('{config.bwrap}') is not installed: run "
                                          "`apt-get install -y bubblewrap`, or choose another sandbox")
        if not mounts.workspace.is_dir():
            raise SandboxError(f"workspace {mounts.workspace} is not a folder; create it before the sandbox")
        self.config, self.mounts = config, mounts
        self.root_mode = os.geteuid() == 0
        self.uid = 1_000_000 + secrets.randbelow(1 << 20) if self.root_mode else os.getuid()
        self._state = ShellState()
        self._env = sandbox_env(mounts.runtime, config.limits.thread_env() | mounts.env)
        self._ulimit = config.limits.ulimit(processes=self.root_mode or _nproc_counts_per_namespace())
        self._closed, self._running, self.cgroup, self._next = False, set(), None, None
        seccomp.filter_program()  # a missing libseccomp is told now, not at the first command
        self.scratch = Path(tempfile.mkdtemp(prefix="synthml-bwrap-"))
        try:
            self._prepare_scratch()
            if self.root_mode and cgroups.available():
                self.cgroup = cgroups.SandboxCgroup(config.limits.sandbox_memory_mb << 20)
            launcher = [*(self.cgroup.launcher() if self.cgroup else []), *keyring.launcher(), binary]
            self._argv = [*launcher, *self._namespace_args(), *self._mount_args(), *self._env_args(),
                          *self._user_args(), "/bin/bash", "--noprofile", "--norc", "-c"]
        except BaseException:
            self.close()
            raise
        self._options_at = len(launcher)  # where per-command options (--args, --seccomp) go among bwrap's

    def run(self, command: str, timeout: float) -> Output:
        return self._exec(command, timeout)

    def read_file(self, path: str) -> str:
        return read_file(self.run, path)

    def write_file(self, path: str, content: str) -> None:
        fd = os.memfd_create("synthml-write")
        try:
            os.write(fd, content.encode())
            os.lseek(fd, 0, os.SEEK_SET)
            out = self._exec(write_file_command(path), 30, stdin_fd=fd)
        finally:
            os.close(fd)
        if out.exit_code != 0:
            raise PermissionError(out.output.strip() or f"cannot write {path}")

    def download(self, path: str, dest: Path) -> bool:
        return copy_out(self.mounts.workspace, path, dest)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            kill_groups(self._running)
            if self._next is not None:
                self._next.abandon()
            if self.cgroup:
                self.cgroup.close()
            remove_tree(self.scratch)

    def exposes(self, host_path: Path) -> bool:
        """Whether a command could read `host_path` (the env checks hidden files against this)."""
        runtime = Runtime(self.mounts.runtime) if self.mounts.runtime else None
        shown = [*map(Path, _system_dirs()), shown_etc(), self._workspace_source(), self._tmp(),
                 *(runtime.visible_paths() if runtime else [])]
        masked = runtime.masked_paths() if runtime else []
        path = host_path.resolve()
        return any(path.is_relative_to(p.resolve()) for p in shown) and not any(
            path.is_relative_to(m.resolve()) for m in masked)

    def _exec(self, command: str, timeout: float, stdin_fd: int | None = None) -> Output:
        if self._closed:
            raise SandboxError("this sandbox is closed; reset the env to get a new one")
        limits = self.config.limits
        refusal = too_long(command, self._state)
        if refusal:
            return refusal
        launch = self._take_launch() if stdin_fd is None else self._launch(stdin_fd)
        kills = self.cgroup.oom_kills() if self.cgroup else 0
        launch.go("unset __synthml_script\n" + script(command, self._state, self._env, state_fd=launch.state_fd,
                                                        preamble=self._ulimit))
        done = launch.started.finish(timeout=timeout, kept=limits.output_kept_bytes,
                                     kill_bytes=limits.output_kill_bytes)
        if stdin_fd is None:
            self._start_next()
        (state,) = done.side.values()
        if not state.startswith(STARTED) and not done.timed_out:
            raise SandboxError(f"bubblewrap could not start the sandbox (exit {done.exit_code}): "
                               f"{done.output.strip()[-2000:]}")
        note = {"output": f"\n[command killed: it printed more than {limits.output_kill_bytes} bytes]",
                "state": "\n[command killed: it flooded the shell's state pipe]", None: ""}[done.flooded]
        if not done.flooded:
            self._state, note = self._state.after(state)
        if self.cgroup and self.cgroup.oom_kills() > kills:
            note += (f"\n[a process was killed: the sandbox's processes together used all of its "
                     f"{limits.sandbox_memory_mb} MiB of memory]")
        return Output(keyring.strip_announcement(done.output) + note, done.exit_code, done.timed_out)

    def _start_next(self) -> None:
        if self._closed:
            return
        self._next = self._launch(None)
        if self._closed:  # closed by another thread meanwhile
            self._next.abandon()

    def _take_launch(self) -> _Launch:
        launch, self._next = self._next, None
        return launch if launch is not None else self._launch(None)

    def _launch(self, stdin_fd: int | None) -> _Launch:
        """Start a command's launcher; it waits until `_Launch.go` gives it its script."""
        script_fd, filter_fd = os.memfd_create("synthml-script"), seccomp.filter_fd()
        go_read, go_write = os.pipe()
        try:
            at = self._options_at
            bwrap_options = ["--args", str(go_read), "--seccomp", str(filter_fd)]
            started = start_process(
                lambda fds: [*self._argv[:at], *bwrap_options, *self._argv[at:], BOOT.format(fd=script_fd)],
                stdin_fd=stdin_fd, side_pipes=1, env=LAUNCH_ENV, passed_fds=(go_read, filter_fd, script_fd),
                running=self._running)
        except OSError as e:
            for fd in (script_fd, go_write):
                os.close(fd)
            raise SandboxError(f"could not start bubblewrap: {e}") from e
        finally:
            os.close(go_read)
            os.close(filter_fd)
        return _Launch(started, script_fd, go_write, next(iter(started.side_reads)))

    def _namespace_args(self) -> list[str]:
        args = ["--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid", "--unshare-net",
                "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
        if not self.root_mode:
            args += ["--unshare-user", "--uid", str(self.uid), "--gid", str(self.uid)]
        return args

    def _mount_args(self) -> list[str]:
        args = _parent_dirs(Path("/usr/bin"))
        for path in _system_dirs():
            link = os.readlink(path) if os.path.islink(path) else None
            args += ["--symlink", link, path] if link else ["--ro-bind", path, path]
        args += ["--ro-bind", str(shown_etc()), "/etc",
                 "--ro-bind", str(self.scratch / "passwd"), "/etc/passwd",
                 "--ro-bind", str(self.scratch / "group"), "/etc/group",
                 "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(self.config.limits.shm_mb << 20),
                 "--tmpfs", "/dev/shm"]
        for name in MASKED_PROC:
            if os.path.exists(f"/proc/{name}"):  # the sandbox's /proc has the host kernel's files
                args += ["--ro-bind", "/dev/null", f"/proc/{name}"]
        args += self._home_args()  # before the runtime: a runtime under /tmp or /home stays visible
        if self.mounts.runtime:
            runtime = Runtime(self.mounts.runtime)
            for path in runtime.visible_paths():
                args += [*_parent_dirs(path), "--ro-bind", str(path), str(path)]
            for path in runtime.masked_paths():
                args += ["--size", "4096", "--tmpfs", str(path), "--remount-ro", str(path)]
        return [*args, "--remount-ro", "/"]  # the root bwrap builds (and the folders it made there) stays read-only

    def _home_args(self) -> list[str]:
        writable = "--ro-bind" if self.mounts.read_only else "--bind"
        args = _parent_dirs(Path(HOME))
        if self.mounts.home is not None:
            args += ["--bind", str(self.mounts.home), HOME]
        else:
            args += ["--perms", "1777", *self._tmpfs_size(), "--tmpfs", HOME]
        # The workspace is a mount point of its own: the agent cannot move it or put a symlink in its place.
        args += [writable, str(self.mounts.workspace), WORKSPACE]
        if self.mounts.read_only:
            return [*args, "--perms", "1777", *self._tmpfs_size(), "--tmpfs", "/tmp", "--chdir", WORKSPACE]
        return [*args, "--bind", str(self._tmp()), "/tmp", "--chdir", WORKSPACE]

    def _tmpfs_size(self) -> list[str]:
        return ["--size", str(self.config.limits.tmpfs_mb << 20)]

    def _env_args(self) -> list[str]:
        args = ["--clearenv"]
        for key, value in self._env.items():
            args += ["--setenv", key, value]
        return args

    def _user_args(self) -> list[str]:
        """As root, bwrap mounts and setpriv then drops to the sandbox's own uid."""
        if not self.root_mode:
            return ["--"]
        uid = str(self.uid)
        return ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP", "--",
                "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all"]

    def _tmp(self) -> Path:
        return self.mounts.tmp if self.mounts.tmp is not None else self.scratch / "tmp"

    def _workspace_source(self) -> Path:
        return self.mounts.home if self.mounts.home is not None else self.mounts.workspace

    def _prepare_scratch(self) -> None:
        (self.scratch / "passwd").write_text(f"agent:x:{self.uid}:{self.uid}:agent:{HOME}:/bin/bash\n"
                                             "root:x:0:0:root:/root:/usr/sbin/nologin\n")
        (self.scratch / "group").write_text(f"agent:x:{self.uid}:\nroot:x:0:\n")
        self._tmp().mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.scratch, 0o755)
        if self.root_mode:
            os.chown(self._tmp(), self.uid, self.uid)
        if self.root_mode and not self.mounts.read_only:
            give_writable_to(self._workspace_source(), self.uid)



@functools.cache
def _nproc_counts_per_namespace() -> bool:
    """Linux 5.14 and later count RLIMIT_NPROC in each user namespace, so a normal user's sandbox (a user
    namespace of its own) can be bounded without counting the user's other processes."""
    release = tuple(int(part) for part in re.findall(r"\d+", os.uname().release)[:2])
    return release >= (5, 14)


def _system_dirs() -> list[str]:
    return [p for p in SYSTEM_DIRS if os.path.lexists(p)]


@functools.cache
def shown_etc() -> Path:
    """The /etc entries of ETC, copied once per process (one mount per command instead of thirty,
    about 4 ms a step); private keys are left out. Removed when the process exits."""
    folder = Path(tempfile.mkdtemp(prefix="synthml-etc-"))
    atexit.register(shutil.rmtree, folder, True)
    for name in ETC:
        source, dest = Path("/etc") / name, folder / name
        if source.is_symlink():
            dest.symlink_to(os.readlink(source))
        elif source.is_dir():
            shutil.copytree(source, dest, symlinks=True, ignore=shutil.ignore_patterns("private"))
        elif source.is_file():
            shutil.copy2(source, dest)
    for mount_point in ("passwd", "group"):  # each sandbox binds its own over these
        (folder / mount_point).touch()
    os.chmod(folder, 0o755)
    return folder


def _parent_dirs(path: Path) -> list[str]:
    """Traversable parents for a mount point (privileged bwrap makes them 0700 otherwise)."""
    args = []
    for parent in reversed(path.parents[:-1]):
        args += ["--perms", "0755", "--dir", str(parent)]
    return args

