"""Cost-sensitive binary classification: a missed positive costs `fn_cost`, a false alarm 1; the score
is the mean cost per row. The positive class is the top `minority_rate` of a simulated number on a real table's
columns (families/simulated.py): any tabular catalog table serves and no public table holds the labels.

The baseline and the reference predict the positive label where its probability reaches the Bayes threshold
fp_cost / (fp_cost + fn_cost): the baseline with a logistic regression's probabilities, the reference with a
blend chosen for its log loss. The cheap default, boosting with its defaults, predicts the likelier label, as a
model fit without a thought for the costs does."""

import random
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common, simulated
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import (
    cost_constants,
    default_script,
    ladder,
    linear_baseline,
    reference_script,
    trivial_script,
)
from synthml.tasks.statements import cost_note

FN_COSTS = (5, 10, 20)
MINORITY_RATES = (0.05, 0.1, 0.2)
FP_COST = 1
MIN_TEST_POSITIVES = 50
"""With fewer, one missed positive would move the test cost by more than 2% of what predicting all negative
costs: which of two models beats the other would be decided by a row or two."""


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    """A minority rate that leaves enough test positives."""
    return {"fn_cost": common.pick(rng, FN_COSTS), "minority_rate": common.pick(rng, _rates(entry)),
            "signal": common.pick(rng, simulated.SIGNALS)}


def _rates(entry: DatasetEntry) -> list[float]:
    test_rows = common.split_sizes(min(entry.rows, common.MAX_ROWS))[2]
    return [r for r in MINORITY_RATES if r * test_rows >= MIN_TEST_POSITIVES]


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    frame = common.clean_table(entry, table, seed, classification=False)
    frame, outcome = simulated.simulate(frame, entry.target, seed, signal=knobs["signal"])
    rate, target = knobs["minority_rate"], outcome.name
    frame = simulated.to_classes(frame, outcome, (1 - rate, rate))
    positive = simulated.CLASSES[2][1]
    parts = common.split_table(entry, frame, seed, classification=True, target=target)
    positives = min(int((part[target] == positive).sum()) for part in parts[1:])
    common.require(positives >= MIN_TEST_POSITIVES, entry,
                   f"{positives} positive validation or test rows, fewer than {MIN_TEST_POSITIVES}")
    train, validation, test = parts
    notes = (simulated.statement_note(outcome, entry.target, entry.title, (1 - rate, rate)),
             _cost_note(target, positive, knobs))
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: cost-sensitive detection of a rare simulated class", target=target,
        intro=f"Detect the rare positive class `{target}` = {positive} ({rate:.0%} of rows) in the {entry.title} "
              "data, where missing a positive case costs far more than a false alarm.",
        kind="classification", metrics=common.metrics("expected_cost", ("expected_cost", "balanced_accuracy")),
        metric_params={"positive_label": positive, "fn_cost": float(knobs["fn_cost"]), "fp_cost": float(FP_COST)},
        train=train, validation=validation, test=test, notes=notes,
        **_scripts(target, positive, knobs["fn_cost"]), family=FAMILY.name,
        topic=f"Cost-sensitive learning on imbalanced data: a missed positive costs {knobs['fn_cost']} false alarms.",
        knobs=knobs, dataset=entry)


def _scripts(target: str, positive: Any, fn_cost: float) -> dict[str, str]:
    """The ladder's fields: the commonest label; a logistic regression deciding at the Bayes threshold
    fp_cost / (fp_cost + fn_cost); gradient boosting with its defaults; the blended reference at that threshold."""
    constants = cost_constants(positive, fn_cost, FP_COST)
    decision = (f", predicting {positive} where its probability reaches {FP_COST / (FP_COST + fn_cost):.1%} (the "
                "cost-optimal threshold fp_cost / (fp_cost + fn_cost))")
    reference = reference_script(target, "cost", "expected_cost",
                                 constants=cost_constants(positive, fn_cost, FP_COST, decide=False))
    return ladder(trivial_script(target, "classification"),
                  linear_baseline(target, "cost", "expected_cost", constants, decision),
                  default_script(target, "classification"), reference)


def _cost_note(target: str, positive: Any, knobs: dict[str, Any]) -> str:
    return (cost_note(target, positive, knobs["fn_cost"], FP_COST) + "correct predictions cost nothing. The "
            "primary metric, expected_cost, is the mean cost per row (lower is better): predict the label that "
            "minimises the expected cost, not the likeliest one.")


def _accepts(entry: DatasetEntry) -> bool:
    """A table a simulated target suits, and a minority rate that leaves MIN_TEST_POSITIVES positive test rows."""
    return simulated.accepts(entry) and bool(_rates(entry))


FAMILY = Family("imbalanced_cost", common.TABULAR_TYPES, sample_knobs, build, _accepts)
