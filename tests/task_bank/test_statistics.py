"""Paired bootstrap intervals on a gap between two solutions, and the host's scorer for the families' evaluator."""

import numpy as np
import pytest

from synthml.task_bank.statistics import instance_gap, metric_gap, point_gap


def accuracy(truth, predictions):
    return float(np.mean(truth == predictions))


def test_a_clear_gap_has_an_interval_above_zero_and_a_coin_flip_does_not():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 2000)
    good = np.where(rng.random(2000) < 0.9, truth, 1 - truth)
    worse = np.where(rng.random(2000) < 0.8, truth, 1 - truth)
    clear = metric_gap(accuracy, truth, worse, good, sign=1)
    assert clear.positive and clear.low < clear.estimate < clear.high and clear.over == "rows"
    same = np.where(rng.random(2000) < 0.9, truth, 1 - truth)
    assert not metric_gap(accuracy, truth, good, same, sign=1).positive


def test_the_direction_decides_which_solution_is_better():
    first, second = [3.0, 4.0, 5.0, 3.5] * 10, [2.0, 3.0, 4.5, 3.0] * 10  # lower is better: second wins
    assert instance_gap(first, second, sign=-1).positive
    assert not instance_gap(first, second, sign=1).positive
    assert instance_gap(first, second, sign=-1).estimate == pytest.approx(0.75)


def test_paired_instances_see_through_instance_difficulty():
    """Instances differ wildly in difficulty; the second solution is better on every one by a little. Unpaired,
    the spread would hide it; paired, the interval is narrow and above zero."""
    difficulty = np.random.default_rng(1).normal(0, 10, 40)
    gap = instance_gap(difficulty, difficulty + 0.1, sign=1)
    assert gap.positive and gap.high - gap.low < 1e-6


def test_instance_scores_must_pair_up():
    with pytest.raises(ValueError, match="pair up"):
        instance_gap([1.0, 2.0], [1.0], sign=1)


def test_a_point_gap_is_judged_by_its_estimate():
    assert point_gap(0.5, 0.6, 1).positive and point_gap(0.5, 0.6, 1).low is None
    assert not point_gap(0.5, 0.6, -1).positive


def test_the_host_scores_only_the_families_own_evaluator(good_task):
    from synthml.task_bank.host_scorer import host_scorer
    from synthml.tasks.task import load_task

    scorer = host_scorer(load_task(good_task))
    assert scorer is not None and scorer.prediction_file("test") == "submission.csv"
    truth, predictions = scorer.arrays(good_task / "hidden/test_labels.csv", good_task / "hidden/test_labels.csv")
    assert scorer.metric("mae")(truth, predictions) == 0.0 and scorer.metric("mae")(truth, predictions + 2) == 2.0
    evaluator = good_task / "evaluate.py"
    evaluator.write_text(evaluator.read_text() + "\nprint('and something else')\n")
    assert host_scorer(load_task(good_task)) is None  # not ours: the sandbox alone runs it
