"""The heuristics family: seeded knobs and drafts with honest bounds, a ladder that climbs in the real
sandbox (the reference above the textbook default with a paired bootstrap interval above zero, the
baseline above the trivial answer), an episode whose submit scores what the baseline scores on the host,
and hostile solvers (errors, garbage, infeasible answers, overruns, peeking at the test split) that score
0 without breaking the evaluation."""

import itertools
import json
import random
import types
from dataclasses import replace
from pathlib import Path

import pytest

from synthml.envs.sandbox.bwrap import BwrapConfig
from synthml.envs.session import Session
from synthml.task_bank.families.heuristics import (
    DISTRIBUTIONS,
    FAMILY,
    TEST_INSTANCES,
    VALIDATION_INSTANCES,
    spanning_tree,
)
from synthml.task_bank.program import RUNGS, program_task_yaml, write_program_task
from synthml.task_bank.statistics import instance_gap
from synthml.tasks.task import load_task
from tests.program_episode import host_and_episode

KNOBS = {problem: {"problem": problem, "distribution": DISTRIBUTIONS[problem][-1], "size": "small", "time_limit": 0.1}
         for problem in DISTRIBUTIONS}


def _task(tmp_path: Path, knobs: dict, seed: int = 1, baseline: str | None = None) -> Path:
    draft = FAMILY.build(None, None, knobs, seed, f"heuristics-{knobs['problem'].replace('_', '-')}-{seed}")
    if baseline is not None:
        draft = replace(draft, baseline=baseline)
    return write_program_task(draft, tmp_path / draft.task_id)


def _module(name: str, text: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(text, name, "exec"), module.__dict__)
    return module


def test_knobs_and_drafts_are_seeded_and_valid():
    seen = set()
    for seed in range(20):
        knobs = FAMILY.sample_knobs(random.Random(seed), None)
        assert knobs == FAMILY.sample_knobs(random.Random(seed), None) and json.loads(json.dumps(knobs)) == knobs
        seen.add((knobs["problem"], knobs["distribution"]))
        draft = FAMILY.build(None, None, knobs, seed, f"heuristics-{seed}")
        again = FAMILY.build(None, None, knobs, seed, f"heuristics-{seed}")
        assert (draft.validation, draft.test, draft.files) == (again.validation, again.test, again.files)
        assert draft.test != FAMILY.build(None, None, knobs, seed + 1, "other").test
        assert (len(draft.validation), len(draft.test)) == (VALIDATION_INSTANCES, TEST_INSTANCES)
        program_task_yaml(draft)  # validates against the task schema
        for text in (draft.baseline, draft.evaluator, *draft.ladder.values(), draft.files["problem.py"]):
            compile(text, "rung", "exec")
    assert len(seen) >= 6


@pytest.mark.parametrize("problem", list(KNOBS))
def test_bounds_lie_below_every_rung(problem: str):
    """Scores stay within [0, 1] (the bound is a true lower bound) and an exact answer is recognised."""
    draft = FAMILY.build(None, None, KNOBS[problem], 2, "bounds")
    rules = _module("problem", draft.files["problem.py"])
    for text in (draft.baseline, *draft.ladder.values()):
        solver = _module("solver", text)
        for instance in draft.validation[:4]:
            assert 0 <= rules.score(instance, solver.solve(dict(instance))) <= 1 + 1e-9
    if problem == "tsp":  # the optimum of seven cities (brute force) is no shorter than the bound
        points = [[0, 0], [0, 10], [10, 10], [10, 0], [5, 5], [3, 8], [9, 1]]
        instance = {"points": points, "bound": spanning_tree(points)}
        assert spanning_tree([[0, 0], [10, 0], [3, 0], [3, 4]]) == pytest.approx(3 + 7 + 4)
        best = min(itertools.permutations(range(7)), key=lambda t: rules.tour_length(points, list(t)))
        assert 0.5 < rules.score(instance, list(best)) <= 1


@pytest.mark.parametrize("problem", list(KNOBS))
def test_ladder_climbs_in_the_sandbox(tmp_path: Path, problem: str, runtime: Path):
    task = load_task(_task(tmp_path, KNOBS[problem]))
    session = Session(task, BwrapConfig(), runtime)
    try:
        scores = {}
        for rung in ("baseline", *RUNGS):
            text = task.path("solver.py" if rung == "baseline" else f"reference/{rung}.py").read_text()
            session.box.write_file("solver.py", text)
            for split in ("validation", "test"):
                evaluation = session.evaluate(split)
                assert evaluation.metrics is not None, evaluation.observation
                assert evaluation.metrics["failures"] == 0, (rung, split, evaluation.observation)
                scores[rung, split] = evaluation.instance_scores
    finally:
        session.close()
    for split, count in (("validation", VALIDATION_INSTANCES), ("test", TEST_INSTANCES)):
        assert len(scores["baseline", split]) == count
        assert sum(scores["baseline", split]) > sum(scores["trivial", split])
        assert instance_gap(scores["default", split], scores["reference", split], sign=1).positive


def test_episode_submit_scores_what_the_baseline_scores_on_the_host(tmp_path: Path, runtime: Path):
    task_dir = _task(tmp_path, KNOBS["bin_packing"])
    expected, validation, submitted, terminated = host_and_episode(task_dir, runtime, tmp_path)
    assert validation["failures"] == 0
    assert terminated and submitted == expected and expected["score"] > 0.5


HOSTILE = {
    "raises": "def solve(instance):\n    raise ValueError('no')\n",
    "garbage": "def solve(instance):\n    return {'tour': 'short'}\n",
    "none": "def solve(instance):\n    return None\n",
    "nan": "def solve(instance):\n    return [float('nan')] * len(instance['points'])\n",
    "huge": "def solve(instance):\n    return [10 ** 100] * len(instance['points'])\n",
    "repeats_a_city": "def solve(instance):\n    return [0] * len(instance['points'])\n",
    "bools": "def solve(instance):\n    return [True] * len(instance['points'])\n",
    "long": "def solve(instance):\n    return list(range(10 ** 5))\n",
    "exits": "import os\n\ndef solve(instance):\n    os._exit(3)\n",
    "no_solve": "SOLVE = 1\n",
    "import_fails": "raise ImportError('nothing here')\n",
    "reads_hidden": ("import json\n\ndef solve(instance):\n"
                     "    json.load(open('hidden/test.json'))\n    return list(range(len(instance['points'])))\n"),
    "sleeps": ("import time\n\ndef solve(instance):\n    time.sleep(60)\n"
               "    return list(range(len(instance['points'])))\n"),
    "late": ("import time\n\ndef solve(instance):\n    time.sleep(instance['time_limit'] * 1.5)\n"
             "    return list(range(len(instance['points'])))\n"),
}
INFEASIBLE = {
    "cvrp": "def solve(instance):\n    return [list(range(len(instance['customers'])))]\n",  # one overloaded route
    "bin_packing": "def solve(instance):\n    return [0] * len(instance['sizes'])\n",  # one overfull bin
    "max_sat": "def solve(instance):\n    return [True] * (instance['variables'] - 1)\n",  # a variable short
}


def test_one_late_answer_costs_its_instance_only(tmp_path: Path, runtime: Path):
    """A call that overruns its limit but comes back within the grace fails alone; the next calls count."""
    late_once = ("import time\n_calls = []\n\ndef solve(instance):\n    _calls.append(1)\n"
                 "    if len(_calls) == 1:\n        time.sleep(instance['time_limit'] * 2)\n"
                 "    return list(range(len(instance['points'])))\n")
    session = Session(load_task(_task(tmp_path, KNOBS["tsp"])), BwrapConfig(), runtime)
    try:
        session.box.write_file("solver.py", late_once)
        evaluation = session.evaluate("test")
    finally:
        session.close()
    assert evaluation.metrics["failures"] == 1, evaluation.observation
    assert evaluation.instance_scores[0] == 0 and min(evaluation.instance_scores[1:]) > 0


def test_hostile_solvers_score_zero(tmp_path: Path, runtime: Path):
    cases = [("tsp", name, text) for name, text in HOSTILE.items()]
    cases += [(problem, "infeasible", text) for problem, text in INFEASIBLE.items()]
    for problem, group in itertools.groupby(cases, key=lambda case: case[0]):
        session = Session(load_task(_task(tmp_path / problem, KNOBS[problem])), BwrapConfig(), runtime)
        try:
            for _, name, text in group:
                session.box.write_file("solver.py", text)
                evaluation = session.evaluate("test")
                assert evaluation.metrics == {"score": 0.0, "failures": TEST_INSTANCES}, (problem, name,
                                                                                          evaluation.observation)
                assert evaluation.instance_scores == (0.0,) * TEST_INSTANCES
        finally:
            session.close()
