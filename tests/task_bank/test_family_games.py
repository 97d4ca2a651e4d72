"""The games family: seeded knobs and drafts, a ladder that climbs in the real sandbox (the reference
above the textbook default with a paired bootstrap interval above zero, the baseline above the trivial
strategy), an episode whose submit scores what the baseline scores on the host, and hostile strategies
that forfeit every match without breaking the evaluation."""

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from synthml.envs.sandbox.bwrap import BwrapConfig
from synthml.envs.session import Session
from synthml.task_bank.families.games import FAMILY, POOLS, TEST_OPPONENTS, VALIDATION_OPPONENTS
from synthml.task_bank.program import RUNGS, ProgramDraft, program_task_yaml, write_program_task
from synthml.task_bank.statistics import instance_gap
from synthml.tasks.task import load_task
from tests.program_episode import host_and_episode

MATRIX = {"game": "prisoners_dilemma", "pool": "reactive", "rounds": 40}
BLOTTO = {"game": "blotto", "pool": "mixed", "rounds": 15, "battlefields": 4, "soldiers": 20, "weights": "varied"}


def _task(tmp_path: Path, knobs: dict, seed: int = 1, baseline: str | None = None) -> Path:
    draft = FAMILY.build(None, None, knobs, seed, f"games-{knobs['game'].replace('_', '-')}-{seed}")
    if baseline is not None:
        draft = replace(draft, baseline=baseline)
    return write_program_task(draft, tmp_path / draft.task_id)


def _fields(draft: ProgramDraft) -> dict:
    return {k: v for k, v in vars(draft).items()}


def test_knobs_and_drafts_are_seeded_and_valid():
    seen = set()
    for seed in range(40):
        knobs = FAMILY.sample_knobs(random.Random(seed), None)
        assert knobs == FAMILY.sample_knobs(random.Random(seed), None)
        assert json.loads(json.dumps(knobs)) == knobs and knobs["pool"] in POOLS[knobs["game"]]
        seen.add(knobs["game"])
        draft = FAMILY.build(None, None, knobs, seed, f"games-{seed}")
        assert _fields(draft) == _fields(FAMILY.build(None, None, knobs, seed, f"games-{seed}"))
        assert (len(draft.validation), len(draft.test)) == (VALIDATION_OPPONENTS, TEST_OPPONENTS)
        assert draft.validation != FAMILY.build(None, None, knobs, seed + 1, "other").validation
        program_task_yaml(draft)  # validates against the task schema
        for text in (draft.baseline, draft.evaluator, *draft.ladder.values(), draft.files["game.py"]):
            compile(text, "rung", "exec")
    assert seen == set(POOLS)


@pytest.mark.parametrize("knobs", [MATRIX, BLOTTO], ids=["matrix", "blotto"])
def test_ladder_climbs_in_the_sandbox(tmp_path: Path, knobs: dict, runtime: Path):
    task = load_task(_task(tmp_path, knobs))
    session = Session(task, BwrapConfig(), runtime)
    try:
        scores = {}
        for rung in ("baseline", *RUNGS):
            text = task.path("strategy.py" if rung == "baseline" else f"reference/{rung}.py").read_text()
            session.box.write_file("strategy.py", text)
            for split in ("validation", "test"):
                evaluation = session.evaluate(split)
                assert evaluation.metrics is not None, evaluation.observation
                assert evaluation.metrics["forfeits"] == 0
                scores[rung, split] = evaluation.instance_scores
                if rung == "baseline":  # the evaluator is deterministic
                    assert session.evaluate(split).instance_scores == evaluation.instance_scores
    finally:
        session.close()
    for split, count in (("validation", VALIDATION_OPPONENTS), ("test", TEST_OPPONENTS)):
        assert len(scores["baseline", split]) == count
        assert sum(scores["baseline", split]) > sum(scores["trivial", split])
        assert instance_gap(scores["default", split], scores["reference", split], sign=1).positive


def test_episode_submit_scores_what_the_baseline_scores_on_the_host(tmp_path: Path, runtime: Path):
    task_dir = _task(tmp_path, BLOTTO)
    expected, validation, submitted, terminated = host_and_episode(task_dir, runtime, tmp_path)
    assert validation["forfeits"] == 0
    assert terminated and submitted == expected and expected["score"] > 0.5


HOSTILE = {
    "raises": "def play(history, setup):\n    raise ValueError('no')\n",
    "garbage": "def play(history, setup):\n    return ['rock', None, 1.5, float('nan'), True][len(history) % 5]\n",
    "huge": "def play(history, setup):\n    return 10 ** 100\n",
    "out_of_range": "def play(history, setup):\n    return -1\n",
    "exits": "import os\n\ndef play(history, setup):\n    os._exit(3)\n",
    "no_play": "PLAY = 1\n",
    "import_fails": "raise ImportError('nothing here')\n",
    "reads_hidden": ("import json\n\ndef play(history, setup):\n"
                     "    json.load(open('hidden/test.json'))\n    return 0\n"),
    "sleeps": "import time\n\ndef play(history, setup):\n    time.sleep(60)\n    return 0\n",
}
BLOTTO_HOSTILE = {
    "too_many_soldiers": "def play(history, setup):\n    return [setup['soldiers']] * setup['battlefields']\n",
    "negative": "def play(history, setup):\n    return [-1] + [0] * (setup['battlefields'] - 1)\n",
    "wrong_length": "def play(history, setup):\n    return [0]\n",
    "long_list": "def play(history, setup):\n    return [0] * 10 ** 5\n",
}


def test_one_overlong_match_is_forfeited_alone(tmp_path: Path, runtime: Path):
    """A call past the match's budget that comes back within the grace forfeits its match only."""
    slow_once = ("import time\n_calls = []\n\ndef play(history, setup):\n    _calls.append(1)\n"
                 "    if len(_calls) == 1:\n        time.sleep(setup['seconds_per_match'] + 0.5)\n    return 0\n")
    session = Session(load_task(_task(tmp_path, MATRIX)), BwrapConfig(), runtime)
    try:
        session.box.write_file("strategy.py", slow_once)
        evaluation = session.evaluate("test")
    finally:
        session.close()
    assert evaluation.metrics["forfeits"] == 1, evaluation.observation
    assert evaluation.instance_scores[0] == 0 and sum(evaluation.instance_scores[1:]) > 0


@pytest.mark.parametrize(("knobs", "strategies"), [(MATRIX, HOSTILE), (BLOTTO, BLOTTO_HOSTILE)],
                         ids=["matrix", "blotto"])
def test_hostile_strategies_forfeit_every_match(tmp_path: Path, knobs: dict, strategies: dict, runtime: Path):
    task = load_task(_task(tmp_path, knobs))
    session = Session(task, BwrapConfig(), runtime)
    try:
        for name, text in strategies.items():
            session.box.write_file("strategy.py", text)
            evaluation = session.evaluate("test")
            assert evaluation.metrics == {"score": 0.0, "forfeits": TEST_OPPONENTS}, (name, evaluation.observation)
            assert evaluation.instance_scores == (0.0,) * TEST_OPPONENTS, name
    finally:
        session.close()
