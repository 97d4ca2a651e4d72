"""Tabular regression: predict a number from a table's columns, optionally with less training data. The number is
simulated from the real columns (families/simulated.py): any tabular catalog table serves, no public table holds
the target, and its structure leaves room above the defaults.

Ladder: the training median; ridge on every feature; gradient boosting with its defaults; the blended
reference (scripts.reference_script), whose edge comes from its neural network and spline models, which follow
the target's smooth functions of weighted sums of columns better than trees do."""

import random
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common, simulated
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import default_script, ladder, linear_baseline, reference_script, trivial_script


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    return {"metric": common.pick(rng, common.REGRESSION_METRICS),
            "train_fraction": common.train_fraction(rng, entry),
            "signal": common.pick(rng, simulated.SIGNALS)}


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    frame = common.clean_table(entry, table, seed, classification=False)
    frame, outcome = simulated.simulate(frame, entry.target, seed, signal=knobs["signal"])
    target = outcome.name
    notes = [simulated.statement_note(outcome, entry.target, entry.title),
             common.train_fraction_note(knobs["train_fraction"])]
    train, validation, test = common.split_table(entry, frame, seed, classification=False,
                                                 train_fraction=knobs["train_fraction"], target=target)
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: predict a simulated outcome", target=target,
        intro=f"Predict the number `{target}` for each row of the {entry.title} data from its columns "
              f"(training values range from {train[target].min():g} to {train[target].max():g}).",
        kind="regression", metrics=common.regression_metrics(entry, knobs["metric"], (train, validation, test),
                                                             target),
        train=train, validation=validation, test=test, notes=tuple(n for n in notes if n),
        **regression_scripts(train, target, knobs["metric"]),
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
    if knobs["train_fraction"] < 1:
        return "Sample-efficient regression of a simulated outcome on real covariates from a small training set."
    return f"Model choice for a smooth simulated outcome on real covariates, judged by {knobs['metric']}."


FAMILY = Family("tabular_regression", common.TABULAR_TYPES, sample_knobs, build, simulated.accepts)
