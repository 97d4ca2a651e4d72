"""Tabular regression: predict a number from the other columns, optionally with less training data or
without the most informative feature.

Ladder: the training median; ridge on every feature; gradient boosting with its defaults; the blended
reference (scripts.reference_script), whose edge is largest on skewed positive targets (boosting the log
target, or the absolute error for MAE) and on small training sets."""

import random
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import default_script, ladder, linear_baseline, reference_script, trivial_script
from synthml.task_bank.families.tabular_classification import TWISTS


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    return {"metric": common.pick(rng, common.REGRESSION_METRICS),
            "train_fraction": common.train_fraction(rng, entry),
            "twist": common.pick(rng, TWISTS) if len(common.feature_names(entry)) > 2 else "none"}


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    frame = common.clean_table(entry, table, seed, classification=False)
    frame = frame.astype({entry.target: float})
    notes = [common.train_fraction_note(knobs["train_fraction"])]
    if knobs["twist"] == "drop_top_feature":
        dropped = common.rank_features(frame, entry.target, classification=False)[0]
        frame = frame.drop(columns=[dropped])
        notes.append(common.dropped_feature_note(dropped))
    train, validation, test = common.split_table(entry, frame, seed, classification=False,
                                                 train_fraction=knobs["train_fraction"])
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: predict {entry.target}", target=entry.target,
        intro=f"Predict the number `{entry.target}` for each row of the {entry.title} data from its other columns "
              f"(training values range from {train[entry.target].min():g} to {train[entry.target].max():g}).",
        kind="regression", metrics=common.regression_metrics(entry, knobs["metric"], (train, validation, test)),
        train=train, validation=validation, test=test, notes=tuple(n for n in notes if n),
        **regression_scripts(train, entry.target, knobs["metric"]),
        family=FAMILY.name, topic=_topic(knobs), knobs=knobs, dataset=entry)


def regression_scripts(train: pd.DataFrame, target: str, metric: str) -> dict[str, str]:
    """The ladder's fields for tabular regression: the training median, a ridge regression on every feature,
    gradient boosting with its defaults, and the blended reference (with models of the log target where every
    training target is positive)."""
    positive = bool((train[target] > 0).all())
    return ladder(trivial_script(target, "regression"), linear_baseline(target, "regression", metric),
                  default_script(target, "regression"),
                  reference_script(target, "regression", metric, positive_target=positive))


def _topic(knobs: dict[str, Any]) -> str:
    if knobs["twist"] == "drop_top_feature":
        return "Tabular regression when the strongest predictor is unavailable."
    if knobs["train_fraction"] < 1:
        return "Sample-efficient tabular regression from a small training set."
    return f"Model choice and feature engineering for tabular regression, judged by {knobs['metric']}."


def _accepts(entry: DatasetEntry) -> bool:
    return common.enough_rows(entry) and len(common.feature_names(entry)) >= 1


FAMILY = Family("tabular_regression", ("regression",), sample_knobs, build, _accepts)
