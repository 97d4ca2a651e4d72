"""Tabular classification: predict a class from the other columns, optionally with less training data
or without the most informative feature.

Ladder: the commonest label; a logistic regression on every feature; gradient boosting with its defaults;
the blended reference (scripts.reference_script). The reference's reliable edge over the default is deciding
for the metric (balanced accuracy or macro F1 where classes are imbalanced) and small training sets; judged
by accuracy on a table boosting already fits well, it is rarely reliably better, and the validator rejects
such a task as saturated."""

import random
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import default_script, ladder, linear_baseline, reference_script, trivial_script

TWISTS = ("none", "none", "drop_top_feature")
"""Drawn uniformly: the plain task twice as often as the twist."""


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    return {"metric": common.pick(rng, _metrics(entry)),
            "train_fraction": common.train_fraction(rng, entry),
            "twist": common.pick(rng, TWISTS) if len(common.feature_names(entry)) > 2 else "none"}


def _metrics(entry: DatasetEntry) -> tuple[str, ...]:
    """Accuracy says little where one class dominates: predicting it scores high already."""
    if entry.task_type == "imbalanced":
        return tuple(m for m in common.CLASSIFICATION_METRICS if m != "accuracy")
    return common.CLASSIFICATION_METRICS


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    frame = common.clean_table(entry, table, seed, classification=True)
    notes = [common.train_fraction_note(knobs["train_fraction"])]
    if knobs["twist"] == "drop_top_feature":
        dropped = common.rank_features(frame, entry.target, classification=True)[0]
        frame = frame.drop(columns=[dropped])
        notes.append(common.dropped_feature_note(dropped))
    train, validation, test = common.split_table(entry, frame, seed, classification=True,
                                                 train_fraction=knobs["train_fraction"])
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: classify {entry.target}", target=entry.target,
        intro=f"Predict the class `{entry.target}` of each row of the {entry.title} data from its other columns "
              f"({common.classes_text(frame[entry.target])}).",
        kind="classification", metrics=common.metrics(knobs["metric"], common.CLASSIFICATION_METRICS),
        train=train, validation=validation, test=test, notes=tuple(n for n in notes if n),
        **classification_scripts(entry.target, knobs["metric"]),
        family=FAMILY.name, topic=_topic(knobs), knobs=knobs, dataset=entry)


def classification_scripts(target: str, metric: str) -> dict[str, str]:
    """The ladder's fields for tabular classification: the commonest label, a logistic regression on every
    feature, gradient boosting with its defaults, and the blended reference that decides for the metric."""
    return ladder(trivial_script(target, "classification"), linear_baseline(target, "classification", metric),
                  default_script(target, "classification"), reference_script(target, "classification", metric))


def _topic(knobs: dict[str, Any]) -> str:
    if knobs["twist"] == "drop_top_feature":
        return "Tabular classification when the strongest predictor is unavailable."
    if knobs["train_fraction"] < 1:
        return "Sample-efficient tabular classification from a small training set."
    return f"Model choice and feature engineering for tabular classification, judged by {knobs['metric']}."


def _accepts(entry: DatasetEntry) -> bool:
    return common.enough_rows(entry) and len(common.feature_names(entry)) >= 1


FAMILY = Family("tabular_classification", ("binary", "multiclass", "imbalanced"), sample_knobs, build, _accepts)
