"""Tabular classification: predict a class from a table's columns, optionally with less training data. The class
is a simulated number cut at its quantiles (families/simulated.py): any tabular catalog table serves, no public
table holds the labels, and their structure leaves room above the defaults.

Ladder: the commonest label; a logistic regression on every feature; gradient boosting with its defaults;
the blended reference (scripts.reference_script), whose edge comes from its neural network and spline models
and from deciding for the metric (balanced accuracy or macro F1 where classes are imbalanced)."""

import random
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common, simulated
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import default_script, ladder, linear_baseline, reference_script, trivial_script

SHARES = ((0.7, 0.3), (0.8, 0.2), (0.5, 0.3, 0.2), (0.6, 0.3, 0.1))
"""Class shares, lowest class first: unequal, and judged by a metric that weighs every class alike, so that
predicting the likeliest class (what a model fit without a thought for the metric does) leaves room."""
BALANCED_METRICS = ("balanced_accuracy", "f1_macro")


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    return {"metric": common.pick(rng, BALANCED_METRICS), "shares": list(common.pick(rng, SHARES)),
            "train_fraction": common.train_fraction(rng, entry), "signal": common.pick(rng, simulated.SIGNALS)}


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    frame = common.clean_table(entry, table, seed, classification=False)
    frame, outcome = simulated.simulate(frame, entry.target, seed, signal=knobs["signal"])
    shares = tuple(knobs["shares"])
    frame, target = simulated.to_classes(frame, outcome, shares), outcome.name
    notes = [simulated.statement_note(outcome, entry.target, entry.title, shares),
             common.train_fraction_note(knobs["train_fraction"])]
    train, validation, test = common.split_table(entry, frame, seed, classification=True,
                                                 train_fraction=knobs["train_fraction"], target=target)
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: classify a simulated outcome", target=target,
        intro=f"Predict the class `{target}` of each row of the {entry.title} data from its columns "
              f"({common.classes_text(frame[target])}).",
        kind="classification", metrics=common.metrics(knobs["metric"], common.CLASSIFICATION_METRICS),
        train=train, validation=validation, test=test, notes=tuple(n for n in notes if n),
        **classification_scripts(target, knobs["metric"]),
        family=FAMILY.name, topic=_topic(knobs), knobs=knobs, dataset=entry)


def classification_scripts(target: str, metric: str) -> dict[str, str]:
    """The ladder's fields for tabular classification: the commonest label, a logistic regression on every
    feature, gradient boosting with its defaults, and the blended reference that decides for the metric."""
    return ladder(trivial_script(target, "classification"), linear_baseline(target, "classification", metric),
                  default_script(target, "classification"), reference_script(target, "classification", metric))


def _topic(knobs: dict[str, Any]) -> str:
    if knobs["train_fraction"] < 1:
        return "Sample-efficient classification of a simulated outcome on real covariates from a small training set."
    return f"Model choice for classes of a smooth simulated outcome on real covariates, judged by {knobs['metric']}."


FAMILY = Family("tabular_classification", common.TABULAR_TYPES, sample_knobs, build, simulated.accepts)
