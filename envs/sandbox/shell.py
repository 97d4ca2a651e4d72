"""SWE-agent shell semantics for sandboxes that start a fresh process tree per command.

`cd` and exported variables persist: each command's script restores the state the previous one
left and, on exit, writes the new state to file descriptor 3 as `PWD\\0` followed by `export -p`.
The script's first act writes `STARTED` there, before any command of the agent runs: a sandbox
that never wrote it failed to start (an infrastructure error, which the agent cannot fake).
"""

import errno
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from synthml.envs.sandbox import WORKSPACE, Output

STATE_FD = 3
STARTED = b"+"
MAX_SCRIPT_BYTES = 120_000
"""A command and its shell state travel as one argument: below Linux's 128 KiB limit."""
TOO_LONG = Output(f"Command too long (over {MAX_SCRIPT_BYTES} bytes with the shell state); write long "
                  "content to a file with `create`/`edit` instead.", 2)
MAX_CWD_BYTES = 4096
MAX_READ_BYTES = 512 << 10
"""Below what a command's output keeps whole (Limits.output_kept_bytes)."""
MAX_STATE_BYTES = 64 << 10
"""Exports carried from command to command; more would crowd the command line."""
_EXPORTED = re.compile(r"^declare -x ([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


@dataclass(frozen=True)
class ShellState:
    cwd: str = WORKSPACE
    exports: str | None = None
    """`export -p` of the last command; None before the first."""

    @classmethod
    def parse(cls, raw: bytes, previous: "ShellState") -> "ShellState":
        """The state a command left; the previous one if it wrote none (e.g. `exec` closed fd 3)."""
        cwd, sep, exports = raw.removeprefix(STARTED).decode(errors="replace").partition("\0")
        sane = sep and cwd.startswith("/") and len(cwd) <= MAX_CWD_BYTES and "\n" not in cwd
        return cls(cwd, exports) if sane else previous

    def after(self, raw: bytes) -> tuple["ShellState", str]:
        """The state to carry on from what a command wrote, and a note for the agent if its exports
        were too large to carry (they would not fit on the next command line)."""
        new = ShellState.parse(raw, self)
        if len((new.exports or "").encode()) <= MAX_STATE_BYTES:
            return new, ""
        return (ShellState(new.cwd, self.exports),
                f"\n[exported variables over {MAX_STATE_BYTES} bytes are not kept; the previous exports remain]")


def script(command: str, state: ShellState, base_env: dict[str, str], *, state_fd: int = STATE_FD,
           preamble: str = "") -> str:
    """The bash script that runs `command` in `state` and saves the state it leaves on `state_fd`;
    `preamble` (e.g. ulimits) runs first."""
    save = f"__synthml_save() {{ {{ printf '%s\\0' \"$PWD\"; export -p; }} >&{state_fd}; }} 2>/dev/null"
    lines = [preamble, f"printf {STARTED.decode()} >&{state_fd}", save, "trap __synthml_save EXIT"]
    if state.exports is not None:
        kept = set(_EXPORTED.findall(state.exports))
        lines += [f"unset {name}" for name in sorted(base_env) if name not in kept]
        lines.append(state.exports)
    lines += [f"cd -- {shlex.quote(state.cwd)} 2>/dev/null || cd -- {WORKSPACE}", command]
    return "\n".join(lines) + "\n"


def too_long(command: str, state: ShellState) -> Output | None:
    """The observation for a command that cannot be passed to bash, or None if it can."""
    size = len(command.encode()) + len((state.exports or "").encode()) + len(state.cwd.encode())
    return TOO_LONG if size > MAX_SCRIPT_BYTES else None


def write_file_command(path: str) -> str:
    """Reads the content from stdin; parent folders are created."""
    quoted = shlex.quote(path)
    return f'command -p mkdir -p -- "$(command -p dirname -- {quoted})" && command -p cat > {quoted}'


def read_file(run: Callable[[str, float], Output], path: str) -> str:
    """Read a file through a backend's `run`, so it sees what the sandboxed user sees. Files over
    MAX_READ_BYTES are refused rather than read cut (an edit would write the cut back). Programs come from
    the system's own PATH (`command -p`): the agent's PATH cannot break or fake a read."""
    quoted = shlex.quote(path)
    out = run(f"[ -f {quoted} ] || exit 2; [ $(command -p stat -c %s -- {quoted}) -le {MAX_READ_BYTES} ] || exit 3; "
              f"command -p cat -- {quoted} 2>/dev/null", 30)
    if out.exit_code == 3:
        raise OSError(errno.EFBIG, f"{path} is over {MAX_READ_BYTES} bytes; view or change it with shell tools")
    if out.exit_code != 0:
        raise FileNotFoundError(errno.ENOENT, f"{path}: no such file", path)
    return out.output
