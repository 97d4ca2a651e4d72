"""The environment variables inside every sandbox: a fixed base, the runtime's PATH, the caller's extras.

Nothing of the host's environment (API keys, tokens) is ever passed on.
"""

from pathlib import Path

from synthml.envs.sandbox import HOME

BASE_ENV = {"HOME": HOME, "USER": "agent", "LOGNAME": "agent", "SHELL": "/bin/bash", "LANG": "C.UTF-8",
            "TERM": "dumb", "PAGER": "cat", "GIT_PAGER": "cat", "TMPDIR": "/tmp", "MPLBACKEND": "Agg",
            "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def sandbox_env(runtime: Path | None, extra: dict[str, str]) -> dict[str, str]:
    path = "/usr/local/bin:/usr/bin:/bin"
    if runtime is None:
        return {**BASE_ENV, "PATH": path, **extra}
    return {**BASE_ENV, "PATH": f"{runtime}/bin:{path}", "VIRTUAL_ENV": str(runtime), **extra}
