"""The training_program family: seeded drafts whose ladder is in order through the real sandbox, an episode
that scores the baseline, and hostile submissions that score the worst without breaking the evaluation."""

import contextlib
import dataclasses
import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from synthml.envs.sandbox.bwrap import BwrapConfig
from synthml.envs.session import Session
from synthml.task_bank.families.training_program import FAMILY, HELD_OUT_ROWS, INSTANCES, TEMPLATES, metric_name
from synthml.task_bank.program import RUNGS, TEST, VALIDATION, ProgramDraft, write_program_task
from synthml.tasks.task import load_task

CLASSIFICATION = {"kind": "classification", "shapes": "radial", "informative": 3, "irrelevant": 3,
                  "scales": "mixed", "train_rows": 500, "budget_s": 0.2, "positive_rate": 0.5, "label_noise": 0.1}
REGRESSION = {"kind": "regression", "shapes": "mixed", "informative": 2, "irrelevant": 6, "scales": "mixed",
              "train_rows": 250, "budget_s": 0.2, "noise": "heavy"}


def draft_of(knobs: dict, seed: int, instances: int = INSTANCES) -> ProgramDraft:
    """The family's draft, its splits cut to `instances` problems (fewer: faster evaluations)."""
    draft = FAMILY.build(None, None, knobs, seed, f"training-program-{seed}")
    return dataclasses.replace(draft, validation=draft.validation[:instances], test=draft.test[:instances])


def direct_scores(draft: ProgramDraft, submission: str, split: str, folder: Path) -> dict:
    """The evaluator's metrics run with plain Python beside `submission` (no sandbox, no pipe)."""
    for relative, text in {"evaluate.py": draft.evaluator, "train.py": submission,
                           VALIDATION: json.dumps(draft.validation), TEST: json.dumps(draft.test)}.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    out = subprocess.run([sys.executable, "evaluate.py", "--split", split], cwd=folder, capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def sandbox_scores(session: Session, submission: str, split: str) -> dict | None:
    session.box.write_file("train.py", submission)
    evaluation = session.evaluate(split)
    assert evaluation.status == "ok", evaluation.observation
    return evaluation.metrics


def load_evaluator():
    spec = importlib.util.spec_from_file_location("training_program_evaluate", TEMPLATES / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def session_of(draft: ProgramDraft, folder: Path, runtime: Path):
    """An episode's session (its bwrap sandbox) on the task the draft writes."""
    session = Session(load_task(write_program_task(draft, folder)), BwrapConfig(), runtime)
    try:
        yield session
    finally:
        session.close()


def test_knobs_and_drafts_are_deterministic_and_json():
    evaluator = load_evaluator()
    assert evaluator.HELD_OUT_ROWS == HELD_OUT_ROWS
    for seed in range(20):
        knobs = FAMILY.sample_knobs(random.Random(seed), None)
        assert knobs == FAMILY.sample_knobs(random.Random(seed), None) == json.loads(json.dumps(knobs))
        first, again = (FAMILY.build(None, None, knobs, seed, "t") for _ in range(2))
        assert dataclasses.astuple(first) == dataclasses.astuple(again)
        assert len(first.validation) == len(first.test) == INSTANCES
        assert json.loads(json.dumps(first.test)) == first.test
        seeds = [i["seed"] for i in first.validation + first.test]
        assert len(set(seeds)) == len(seeds), "a test problem repeats a validation one"
        assert first.metrics[0].name == evaluator.metric_of(first.test[0])  # the family's copy agrees
    other = FAMILY.build(None, None, knobs, 1234, "t")
    assert {i["seed"] for i in other.test}.isdisjoint(i["seed"] for i in first.test)


def test_the_written_task_hides_its_test_problems_and_ladder(tmp_path):
    draft = draft_of(REGRESSION, 3)
    task = load_task(write_program_task(draft, tmp_path / "task"))
    assert task.config.submission_files == ["train.py"] and task.config.hidden_files == [TEST]
    shown = " ".join(task.config.starter_code)
    assert "hidden" not in shown and "reference" not in shown
    assert {f"reference/{rung}.py" for rung in RUNGS} <= {str(p.relative_to(task.root)) for p in task.root.rglob("*")}
    for words in ("within 0.2 s", "scikit-learn", "Student-t", "10^-2", "noise-free"):
        assert words in task.config.description


@pytest.mark.parametrize("knobs, seed", [(CLASSIFICATION, 11), (REGRESSION, 12)], ids=["classification", "regression"])
def test_the_ladder_is_in_order_in_the_sandbox(tmp_path, runtime, knobs, seed):
    draft, metric = draft_of(knobs, seed, instances=6), metric_name(knobs)
    with session_of(draft, tmp_path / "task", runtime) as session:
        for split in ("validation", "test"):
            score = {rung: sandbox_scores(session, text, split) for rung, text in
                     {"baseline": draft.baseline, **draft.ladder}.items()}
            assert all(s["failures"] == 0 for s in score.values()), (split, score)
            assert score["trivial"][metric] < score["baseline"][metric], (split, score)
            assert score["default"][metric] < score["reference"][metric], (split, score)


def test_an_episode_scores_the_baseline_as_plain_python_does(tmp_path, runtime):
    draft = draft_of(CLASSIFICATION, 21, instances=6)
    task_dir = write_program_task(draft, tmp_path / "task")
    expected = direct_scores(draft, draft.baseline, "test", tmp_path / "direct")
    env = gym.make("synthml:SynthML-v0", task=str(task_dir), max_steps=5)
    try:
        env.reset(seed=0)
        observation, *_ = env.step("validate")
        assert metric_name(CLASSIFICATION) in observation, observation
        *_, terminated, _, info = env.step("submit")
        assert terminated and info["score"] == expected
    finally:
        env.close()


CHEAT = '''
import json
import numpy as np
from evaluate import make_problem


def fit(x, y, budget_s):
    with open("hidden/test.json") as f:
        problems = json.load(f)
    for problem in problems:  # the problem whose training rows these are: its noise-free truth
        x_train, _, _, truth = make_problem(problem)
        if np.allclose(x_train, x):
            return truth.tolist()
    raise LookupError("no such problem")


def predict(params, x):
    return params
'''
HOSTILE = {
    "raises": "def fit(x, y, budget_s):\n    raise SystemExit(3)\n\ndef predict(params, x):\n    return [0] * len(x)\n",
    "garbage": "def fit(x, y, budget_s):\n    return 1\n\ndef predict(params, x):\n    return {'labels': 'all ones'}\n",
    "short": "def fit(x, y, budget_s):\n    return 1\n\ndef predict(params, x):\n    return [0] * (len(x) - 1)\n",
    "nan": "def fit(x, y, budget_s):\n    return 1\n\ndef predict(params, x):\n    return [float('nan')] * len(x)\n",
    "slow": "import time\n\ndef fit(x, y, budget_s):\n    time.sleep(budget_s + 0.1)\n    return 1\n\n"
            "def predict(params, x):\n    return [0] * len(x)\n",
    "hangs": "import time\n\ndef fit(x, y, budget_s):\n    time.sleep(600)\n\ndef predict(params, x):\n    return []\n",
    "exits": "import os\n\ndef fit(x, y, budget_s):\n    os._exit(0)\n\ndef predict(params, x):\n    return []\n",
    "broken": "def fit(x, y, budget_s:\n",
    "reads the hidden problems": CHEAT,
}


def test_hostile_submissions_score_the_worst(tmp_path, runtime):
    draft = draft_of(CLASSIFICATION, 31, instances=2)
    cheat = direct_scores(draft, CHEAT, "test", tmp_path / "direct")
    assert cheat == {"accuracy": 1.0, "failures": 0}, "the cheat works where it can read the hidden problems"
    with session_of(draft, tmp_path / "task", runtime) as session:
        for name, submission in HOSTILE.items():
            assert sandbox_scores(session, submission, "test") == {"accuracy": 0.0, "failures": 2}, name
        assert sandbox_scores(session, draft.ladder["trivial"], "test")["failures"] == 0  # the sandbox still works
