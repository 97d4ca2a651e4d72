"""Constants and plain helpers the security tests share (conftest modules are not for importing)."""

import contextlib
import os
import re
import time
import uuid
from pathlib import Path

from synthml.envs.env import SynthMLEnv, sample_bank

TASK = sample_bank() / "diabetes-progression"
TOKEN = uuid.uuid4().hex[:12]
"""Names what the attacks try to plant on the host, unique to this run."""
CANARY = "SYNTHML-CANARY-" + "b7e2c94f1a"
"""Put in the hidden labels; fixed, so the canary task's pristine workspace is built once."""
PATTERN = f"printf %s {CANARY[:9]} {CANARY[9:]} > /dev/shm/pat"
"""Writes the canary to a pattern file without ever spelling it in a command line (/proc shows those)."""


def run(env: SynthMLEnv, action: str) -> str:
    return env.step(action)[0]


def assert_alive(env: SynthMLEnv) -> None:
    assert run(env, "echo alive") == "alive\n"


def session_dir(env: SynthMLEnv) -> Path:
    return env.unwrapped._session.dir


def host_pids(uid: int, within: float = 2.0) -> list[int]:
    """Host processes of `uid` still there after `within` seconds (a killed namespace takes a moment)."""
    deadline = time.monotonic() + within
    while True:
        pids = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError):  # the process may vanish while we look (ESRCH)
                if re.search(rf"^Uid:\s+{uid}\s", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE):
                    pids.append(int(pid))
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def peak_rss_kib() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())[1])


def put_baseline(env: SynthMLEnv, files: dict[str, str]) -> None:
    for name, text in files.items():
        run(env, f"cat > {name} <<'EOF'\n{text}EOF")
