"""A sandbox that executes nothing, for tests that are not about execution (e.g. the env checker).

Commands get canned replies (first matching regex wins, else empty output and exit 0); files are
read and written in the host workspace folder. Never use it for untrusted code: nothing is isolated.
"""

import errno
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from synthml.envs.sandbox import WORKSPACE, Mounts, Output
from synthml.envs.sandbox.files import copy_out


class FakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["fake"] = "fake"
    replies: dict[str, str] = Field({}, description="Regex over the command -> the output to return.")

    def build(self, mounts: Mounts) -> "FakeSandbox":
        return FakeSandbox(self, mounts)


class FakeSandbox:
    def __init__(self, config: FakeConfig, mounts: Mounts) -> None:
        self.config, self.mounts = config, mounts

    def run(self, command: str, timeout: float) -> Output:
        for pattern, reply in self.config.replies.items():
            if re.search(pattern, command):
                return Output(reply, 0)
        return Output("", 0)

    def read_file(self, path: str) -> str:
        return self._host(path).read_text()

    def write_file(self, path: str, content: str) -> None:
        target = self._host(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)

    def download(self, path: str, dest: Path) -> bool:
        return copy_out(self.mounts.workspace, path, dest)

    def exposes(self, host_path: Path) -> bool:
        return False  # it runs nothing

    def close(self) -> None:
        pass

    def _host(self, path: str) -> Path:
        inside = Path(os.path.normpath(path if path.startswith("/") else f"{WORKSPACE}/{path}"))
        if not inside.is_relative_to(WORKSPACE):
            raise FileNotFoundError(errno.ENOENT, f"{path}: the fake sandbox holds only the workspace", path)
        return self.mounts.workspace / inside.relative_to(WORKSPACE)
