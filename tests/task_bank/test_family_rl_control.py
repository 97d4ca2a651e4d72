"""The rl_control family: seeded knobs and drafts, the ladder's order through the real evaluator in the
bubblewrap sandbox, and SynthML-v0 end to end on one of its tasks, hostile policies included."""

import importlib.util
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import synthml  # noqa: F401  (registers SynthML-v0)
from synthml.envs.sandbox.bwrap import BwrapConfig
from synthml.envs.session import Session
from synthml.envs.workspace import pristine_workspace
from synthml.task_bank.families import rl_control
from synthml.task_bank.program import write_program_task
from synthml.tasks.task import load_task

FAST = {
    "CartPole-v1": {"env": "CartPole-v1", "twist": "action_delay", "delay": 5, "episodes": 6},
    "Pendulum-v1": {"env": "Pendulum-v1", "twist": "strong_gravity", "physics": {"g": 15.0}, "episodes": 4},
    "MountainCar-v0": {"env": "MountainCar-v0", "twist": "weak_engine", "physics": {"force": 0.0007},
                       "episodes": 6},
    "FrozenLake-v1": {"env": "FrozenLake-v1", "twist": "less_slippery", "lake": [7, 2], "success_rate": 0.8,
                      "episodes": 12},
    "CliffWalking-v1": {"env": "CliffWalking-v1", "twist": "wind", "wind": [0.3, 2], "episodes": 8},
}
"""One task per environment, with few episodes (the sandboxed evaluations stay quick)."""


def write(tmp_path: Path, knobs: dict, seed: int = 0) -> Path:
    draft = rl_control.build(None, None, knobs, seed, f"rl-{knobs['env'].lower().replace('-', '')}-{seed}")
    return write_program_task(draft, tmp_path / draft.task_id)


def every_twist() -> list[dict]:
    """The first option of each twist."""
    return [{"env": env, "twist": twist, **{name: values[0] for name, values in options.items()}, "episodes": 3}
            for env, twists in rl_control.TWISTS.items() for twist, options in twists.items()]


def local_scores(task_dir: Path, split: str, policy: str | None = None) -> list[float]:
    """Instance scores from the task's evaluator run as plain Python on a copy of the task (hidden files there)."""
    copy = task_dir.parent / f"{task_dir.name}-local"
    shutil.copytree(task_dir, copy)
    if policy is not None:
        (copy / "policy.py").write_text(policy)
    out = subprocess.run([sys.executable, "evaluate.py", "--split", split], cwd=copy, capture_output=True, text=True,
                         check=True)
    shutil.rmtree(copy)
    return json.loads(out.stdout.splitlines()[-2])["instance_scores"]


def test_knobs_are_seeded_json_and_cover_every_environment():
    knobs = [rl_control.sample_knobs(random.Random(seed)) for seed in range(60)]
    assert knobs == [rl_control.sample_knobs(random.Random(seed)) for seed in range(60)]
    assert json.loads(json.dumps(knobs)) == knobs
    assert {k["env"] for k in knobs} == set(rl_control.TWISTS)
    assert {k["twist"] for k in knobs} == {t for twists in rl_control.TWISTS.values() for t in twists}


def test_build_is_deterministic_and_the_seed_draws_the_episodes():
    knobs = rl_control.sample_knobs(random.Random(3))
    first, again = (rl_control.build(None, None, knobs, 7, "rl-7") for _ in range(2))
    other = rl_control.build(None, None, knobs, 8, "rl-8")
    fields = ("baseline", "evaluator", "validation", "test", "ladder", "files", "intro", "notes")
    assert all(getattr(first, f) == getattr(again, f) for f in fields)
    assert other.test != first.test and other.ladder == first.ladder
    seeds = [i["seed"] for i in first.validation + first.test]
    assert len(set(seeds)) == len(seeds) == 2 * knobs["episodes"]


@pytest.mark.parametrize("knobs", every_twist(), ids=lambda k: f"{k['env']}-{k['twist']}")
def test_every_twist_writes_a_task_whose_ladder_stays_out_of_the_workspace(tmp_path, knobs):
    task = load_task(write(tmp_path, knobs))
    assert task.config.task_entrypoint == "PythonSubmissionTasks" and task.primary.name == "score"
    workspace = pristine_workspace(task)
    files = {path.relative_to(workspace).as_posix(): path.read_text() for path in workspace.rglob("*")
             if path.is_file()}
    assert {"policy.py", "evaluate.py", "task_env.py"} <= set(files)
    assert not [name for name in files if name.startswith(("reference", "hidden")) or name.endswith("test.json")]
    ladder = [task.path(f"reference/{rung}.py").read_text() for rung in ("trivial", "default", "reference")]
    assert not set(ladder) & set(files.values())
    assert f"'env': {knobs['env']!r}" in files["task_env.py"]


def test_task_env_refuses_anything_but_an_action(tmp_path):
    """What the evaluator accepts from `act` (task_env.TaskEnv.parse_action), for a discrete and a continuous task."""
    for knobs, good, bad in (
        (FAST["CartPole-v1"], {0: 0, 1: 1}, ["1", 1.0, 2, -1, 10**30, True, None, [0], {"a": 1}, float("nan")]),
        (FAST["Pendulum-v1"], {0.5: 0.5, 1e300: 2.0, -3: -2.0, (1.0,): 1.0, 1: 1.0},
         [float("nan"), float("inf"), "1", None, [1.0, 2.0], {"torque": 1.0}, True]),
    ):
        spec = importlib.util.spec_from_file_location("task_env", write(tmp_path, knobs) / "task_env.py")
        task_env = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(task_env)
        env = task_env.TaskEnv(seed=1)
        assert {value: env.parse_action(list(value) if isinstance(value, tuple) else value) for value in good} == good
        assert [env.parse_action(value) for value in bad] == [None] * len(bad)


@pytest.mark.parametrize("env_id", list(FAST))
def test_ladder_order_through_the_sandboxed_evaluator(tmp_path, runtime, env_id):
    task_dir = write(tmp_path, FAST[env_id])
    task = load_task(task_dir)
    rungs = {"baseline": (task_dir / "policy.py").read_text(),
             **{rung: (task_dir / f"reference/{rung}.py").read_text() for rung in ("trivial", "default", "reference")}}
    session = Session(task, BwrapConfig(), runtime)
    try:
        scores = {}
        for rung, text in rungs.items():
            session.box.write_file("policy.py", text)
            result = session.evaluate("validation")
            assert result.metrics is not None, result.observation
            scores[rung] = result.metrics["score"]
            assert list(result.instance_scores) == local_scores(task_dir, "validation", text)
    finally:
        session.close()
    assert scores["reference"] > scores["default"] and scores["baseline"] > scores["trivial"], scores


HOSTILE = {
    "raises": "def act(observation):\n    raise ValueError('no')\n",
    "garbage": ("ANSWERS = ['1', {'a': 1}, [0], 10**30, True, float('nan'), None, 1.5, -1]\nepisode = [-1]\n\n"
                "def reset():\n    episode[0] += 1\n\n"
                "def act(observation):\n    return ANSWERS[episode[0] % len(ANSWERS)]\n"),
    "reset_raises": "def reset():\n    raise SystemExit(3)\n\ndef act(observation):\n    return 0\n",
    "no_act": "x = 1\n",
    "import_fails": "import no_such_module_here\n",
    "exits": "import os\nos._exit(0)\n",
}
READS_HIDDEN = '''import glob
import os

FOUND = [path for folder in (os.getcwd(), "/home", "/tmp")
         for path in glob.glob(f"{folder}/**/test.json", recursive=True)]


def act(observation):
    if not FOUND:
        raise RuntimeError("hidden/test.json is nowhere to be read")
    return 1 if observation[2] + 0.5 * observation[3] > 0 else 0
'''


def test_episode_through_the_env_scores_the_baseline_and_shrugs_off_hostile_policies(tmp_path, runtime):
    task_dir = write(tmp_path, FAST["CartPole-v1"])
    baseline = {split: local_scores(task_dir, split) for split in ("validation", "test")}
    env = gym.make("synthml:SynthML-v0", task=str(task_dir), max_steps=30, command_timeout=20)
    try:
        env.reset(seed=0)
        listing = env.step("ls -a . data; cat hidden/test.json; grep -rl estimator . || echo no-reference")[0]
        assert "No such file" in listing and "no-reference" in listing and "reference" not in listing.split()
        info = env.step("validate")[4]
        assert info["score"]["score"] == pytest.approx(sum(baseline["validation"]) / len(baseline["validation"]))
        for name, text in HOSTILE.items():
            env.step(f"cat > policy.py <<'EOF'\n{text}EOF")
            observation, _, _, _, info = env.step("validate")
            assert info.get("score", {}).get("score") == 0.0, (name, observation)
        env.step(f"cat > policy.py <<'EOF'\n{READS_HIDDEN}EOF")
        _, _, terminated, _, info = env.step("submit")
        assert terminated and info["exit_status"] == "submitted" and info["score"]["score"] == 0.0
    finally:
        env.close()


SLOW_THEN_HANGS = '''import time

episode = [-1]


def reset():
    episode[0] += 1


def act(observation):
    if episode[0] == 0:
        time.sleep(0.5)  # over the episode's budget after a few steps
    if episode[0] == 2:
        time.sleep(60)  # never answers
    return 1 if observation[2] + 0.5 * observation[3] > 0 else 0
'''


def test_a_slow_episode_scores_0_and_a_hang_ends_the_evaluation(tmp_path, runtime):
    """With the evaluator's limits cut to 1 s an episode and 4 s to hang: episode 0 is over budget, episode 1
    plays as the baseline, episode 2 hangs, and the rest are never asked."""
    task_dir = write(tmp_path, FAST["CartPole-v1"])
    evaluator = task_dir / "evaluate.py"
    text = evaluator.read_text()
    assert "\nEPISODE_SECONDS = 5.0\n" in text and "\nHANG_SECONDS = 10.0\n" in text
    evaluator.write_text(text.replace("EPISODE_SECONDS = 5.0", "EPISODE_SECONDS = 1.0")
                         .replace("HANG_SECONDS = 10.0", "HANG_SECONDS = 4.0"))
    baseline = local_scores(task_dir, "validation")
    session = Session(load_task(task_dir), BwrapConfig(), runtime)
    try:
        session.box.write_file("policy.py", SLOW_THEN_HANGS)
        result = session.evaluate("validation")
    finally:
        session.close()
    assert result.metrics is not None, result.observation
    assert list(result.instance_scores) == [0.0, baseline[1]] + [0.0] * (len(baseline) - 2)
