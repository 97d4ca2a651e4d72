"""A program task played unchanged: its evaluator on the host, and an episode that validates and submits the
baseline as the agent finds it (the family tests compare the two)."""

import json
import shutil
import subprocess
from pathlib import Path

import gymnasium as gym


def host_and_episode(task_dir: Path, runtime: Path, scratch: Path) -> tuple[dict, dict, dict, bool]:
    """(the test metrics evaluate.py prints in a copy of the task on the host, the episode's validation score,
    its submission's score, whether submit ended it)."""
    host = scratch / "host"
    shutil.copytree(task_dir, host)
    out = subprocess.run([str(runtime / "bin" / "python"), "evaluate.py", "--split", "test"], cwd=host,
                         capture_output=True, text=True, check=True, timeout=120)
    expected = json.loads(out.stdout.strip().splitlines()[-1])
    env = gym.make("synthml:SynthML-v0", task=str(task_dir))
    try:
        env.reset(seed=0)
        validation = env.step("validate")[4]["score"]
        _, _, terminated, _, info = env.step("submit")
    finally:
        env.close()
    return expected, validation, info["score"], terminated
