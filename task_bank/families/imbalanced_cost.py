"""Cost-sensitive binary classification: a missed positive costs `fn_cost`, a false alarm 1; the score
is the mean cost per row. Balanced data is made imbalanced by keeping few positives.

Every rung but the trivial one predicts the positive label where its probability reaches the Bayes
threshold fp_cost / (fp_cost + fn_cost): the default with boosting's overconfident probabilities, the
baseline with a logistic regression's, the reference with a blend chosen for its log loss (tuning the
threshold on validation's few positives overfits)."""

import random
from functools import cache
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry, get_entry, load_table
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import (
    cost_constants,
    default_script,
    ladder,
    linear_baseline,
    reference_script,
    trivial_script,
)

FN_COSTS = (5, 10, 20)
MINORITY_RATES = (0.05, 0.1, 0.2)
FP_COST = 1
MIN_TEST_POSITIVES = 50
"""With fewer, one missed positive would move the test cost by more than 2% of what predicting all negative
costs: which of two models beats the other would be decided by a row or two."""


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    """The minority rate of a balanced table: one that leaves about enough test positives (`build` checks)."""
    feasible = [r for r in _rates(entry) if _test_positives(entry.id, r) >= MIN_TEST_POSITIVES]
    return {"fn_cost": common.pick(rng, FN_COSTS), "minority_rate": common.pick(rng, feasible or [None])}


def _rates(entry: DatasetEntry) -> tuple[float | None, ...]:
    """An imbalanced table keeps its own rate (None); a balanced one is thinned to one of MINORITY_RATES."""
    return (None,) if entry.task_type == "imbalanced" else MINORITY_RATES


@cache
def _test_positives(entry_id: str, rate: float | None) -> float:
    """About how many positive rows test holds at the minority rate (None: the table's own)."""
    entry = get_entry(entry_id)
    counts = load_table(entry)[entry.target].value_counts()
    positives = int(counts.min())
    negatives = int(counts.sum()) - positives
    if rate is not None:
        positives = min(positives, round(rate * negatives / (1 - rate)))
    return positives * common.split_sizes(negatives + positives)[2] / (negatives + positives)


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    target = entry.target
    frame = common.clean_table(entry, table, seed, classification=True)
    frame, positive, docs = _binary(frame, target)
    frame = _thin_positives(frame, target, positive, knobs["minority_rate"], seed)
    parts = common.split_table(entry, frame, seed, classification=True)
    positives = min(int((part[target] == positive).sum()) for part in parts[1:])
    common.require(positives >= MIN_TEST_POSITIVES, entry,
                   f"{positives} positive validation or test rows, fewer than {MIN_TEST_POSITIVES}")
    train, validation, test = parts
    rate = float((frame[target] == positive).mean())
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: cost-sensitive detection of {target} = {positive}", target=target,
        intro=f"Detect the rare positive class `{target}` = {positive} ({rate:.1%} of rows) in the {entry.title} "
              "data, where missing a positive case costs far more than a false alarm.",
        kind="classification", metrics=common.metrics("expected_cost", ("expected_cost", "balanced_accuracy")),
        metric_params={"positive_label": str(positive), "fn_cost": float(knobs["fn_cost"]),
                       "fp_cost": float(FP_COST)},
        train=train, validation=validation, test=test, column_docs=docs, notes=(_cost_note(target, positive, knobs),),
        **_scripts(target, positive, knobs["fn_cost"]), family=FAMILY.name,
        topic=f"Cost-sensitive learning on imbalanced data: a missed positive costs {knobs['fn_cost']} false alarms.",
        knobs=knobs, dataset=entry)


def _scripts(target: str, positive: Any, fn_cost: float) -> dict[str, str]:
    """The ladder's fields: the commonest label, then a logistic regression, gradient boosting with its defaults
    and the blended reference, each predicting the positive label where its probability reaches a threshold
    (the Bayes threshold fp_cost / (fp_cost + fn_cost); the reference tunes it on validation)."""
    constants = cost_constants(positive, fn_cost, FP_COST)
    decision = (f", predicting {positive} where its probability reaches {FP_COST / (FP_COST + fn_cost):.1%} (the "
                "cost-optimal threshold fp_cost / (fp_cost + fn_cost))")
    reference = reference_script(target, "cost", "expected_cost",
                                 constants=cost_constants(positive, fn_cost, FP_COST, decide=False))
    return ladder(trivial_script(target, "classification"),
                  linear_baseline(target, "cost", "expected_cost", constants, decision),
                  default_script(target, "cost", constants), reference)


def _binary(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, Any, dict[str, str]]:
    """(frame, positive label, column docs): the rarest class is positive; more than two classes become 1/0."""
    counts = frame[target].value_counts()
    positive = min(counts.index[counts == counts.min()], key=str)
    positive = positive.item() if hasattr(positive, "item") else positive  # a plain literal for the scripts
    if len(counts) == 2:
        return frame, positive, {}
    labels = (frame[target] == positive).astype(int)
    doc = f"1 where the original `{target}` is {positive}, else 0"
    return frame.assign(**{target: labels}), 1, {target: doc}


def _thin_positives(frame: pd.DataFrame, target: str, positive: Any, rate: float | None, seed: int) -> pd.DataFrame:
    is_positive = frame[target] == positive
    negatives = int((~is_positive).sum())
    keep = round(rate * negatives / (1 - rate)) if rate else negatives
    if rate is None or is_positive.sum() <= keep:
        return frame
    kept = common.take_fraction(frame[is_positive], keep / is_positive.sum(), seed)
    return pd.concat([frame[~is_positive], kept]).sort_index(kind="stable").reset_index(drop=True)


def _cost_note(target: str, positive: Any, knobs: dict[str, Any]) -> str:
    note = (f"Costs: predicting anything but {positive} for a row whose `{target}` is {positive} (a missed positive) "
            f"costs {knobs['fn_cost']}; predicting {positive} for any other row (a false alarm) costs {FP_COST}; "
            "correct predictions cost nothing. The primary metric, expected_cost, is the mean cost per row "
            "(lower is better): predict the label that minimises the expected cost, not the likeliest one.")
    if knobs["minority_rate"]:
        note += (f" Positive rows were subsampled so that they make up about {knobs['minority_rate']:.0%} of the "
                 "data in every split.")
    return note


def _accepts(entry: DatasetEntry) -> bool:
    """Enough rows, and a minority rate that leaves about MIN_TEST_POSITIVES positive test rows."""
    return (common.enough_rows(entry) and len(common.feature_names(entry)) >= 1
            and any(_test_positives(entry.id, r) >= MIN_TEST_POSITIVES for r in _rates(entry)))


FAMILY = Family("imbalanced_cost", ("binary", "imbalanced"), sample_knobs, build, _accepts)
