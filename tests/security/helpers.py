"""Constants and plain helpers the security tests share (conftest modules are not for importing)."""

import contextlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from synthml.envs.env import SynthMLEnv, sample_bank

TASK = sample_bank() / "diabetes-progression"
TOKEN = uuid.uuid4().hex[:12]
"""Names what the attacks try to plant on the host, unique to this run."""
CANARY = "SYNTHML-CANARY-" + "b7e2c94f1a"
"""Put in the hidden labels; fixed, so the canary task's pristine workspace is built once."""
PATTERN = f"printf %s {CANARY[:9]} {CANARY[9:]} > /dev/shm/pat"
"""Writes the canary to a pattern file without ever spelling it in a command line (/proc shows those)."""


def module_env(**options) -> Iterator[SynthMLEnv]:
    """A module fixture's body: the sample task's env with `options` (100 steps unless said), closed after."""
    env = SynthMLEnv(task=TASK, **{"max_steps": 100, **options})
    yield env
    env.close()


def run(env: SynthMLEnv, action: str) -> str:
    return env.step(action)[0]


def assert_alive(env: SynthMLEnv) -> None:
    assert run(env, "echo alive") == "alive\n"


def session_dir(env: SynthMLEnv) -> Path:
    """The host folder holding the episode's `home/` (with `workspace/`) and `tmp/`."""
    return env.unwrapped._session.home.parent


ROOT = os.geteuid() == 0
OWN_PID_NAMESPACE = os.readlink("/proc/self/ns/pid")


def host_pids(uid: int, within: float = 2.0) -> list[int]:
    """Sandbox processes (of `uid`, in a PID namespace other than ours: as a normal user the sandbox shares
    our uid) still running after `within` seconds (a killed namespace takes a moment; a zombie, left for the
    host's init to reap, runs nothing)."""
    deadline = time.monotonic() + within
    while True:
        pids = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError):  # the process may vanish while we look (ESRCH)
                status = Path(f"/proc/{pid}/status").read_text()
                if (re.search(rf"^Uid:\s+{uid}\s", status, re.MULTILINE) and "\nState:\tZ" not in status
                        and os.readlink(f"/proc/{pid}/ns/pid") != OWN_PID_NAMESPACE):
                    pids.append(int(pid))
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def peak_rss_kib() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())[1])


def put_baseline(env: SynthMLEnv, files: dict[str, str]) -> None:
    for name, text in files.items():
        run(env, f"cat > {name} <<'EOF'\n{text}EOF")
