"""Sandboxes: where untrusted commands (agent actions, generated task code, evaluators) run.

Every backend implements `Sandbox` and shows a host folder at `/home/agent/workspace`. One file a
backend: `bwrap` (default), `docker`, `swerex`, `fake` (tests that are not about execution).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

WORKSPACE = "/home/agent/workspace"
HOME = "/home/agent"


@dataclass(frozen=True)
class Output:
    """What one command did. A failure or timeout is an outcome here, never an exception."""

    output: str
    exit_code: int
    timed_out: bool = False


@dataclass(frozen=True)
class Mounts:
    """What a sandbox shows of the host."""

    workspace: Path
    """Host folder shown at /home/agent/workspace."""
    read_only: bool = False
    """Evaluation sandboxes see the workspace read-only."""
    home: Path | None = None
    """Host folder shown at /home/agent (holding `workspace/`); None: an empty home per command."""
    tmp: Path | None = None
    """Host folder shown at /tmp (an episode's, kept with its home); None: one private to the sandbox."""
    runtime: Path | None = None
    """Task runtime (a virtualenv) mounted read-only; its `bin/` leads PATH."""
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment variables; nothing of the host's environment enters a sandbox."""


@runtime_checkable
class Sandbox(Protocol):
    def run(self, command: str, timeout: float) -> Output:
        """Run a bash command; the first starts in the workspace, and `cd` and exported variables
        persist to the next call."""
        ...

    def read_file(self, path: str) -> str:
        """Read a file as the sandboxed user sees it (relative paths: from the current dir)."""
        ...

    def write_file(self, path: str, content: str) -> None:
        """Write a file as the sandboxed user, creating parent folders."""
        ...

    def download(self, path: str, dest: Path) -> bool:
        """Copy a workspace file or folder (path relative to the workspace) to the host `dest`,
        never following symlinks; False when it is absent."""
        ...

    def exposes(self, host_path: Path) -> bool:
        """Whether a command could read this host path (the env refuses tasks whose hidden files it
        would show)."""
        ...

    def close(self) -> None:
        """Kill everything still running and remove every trace; idempotent."""
        ...
