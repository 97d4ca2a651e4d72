"""Tabular classification: predict a class from the other columns, optionally with less training data
or without the most informative feature."""

import random
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import Kind, tabular_baseline, tabular_reference

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
    train, validation, test = common.split_table(frame, entry.target, seed, classification=True,
                                                 train_fraction=knobs["train_fraction"])
    baseline, reference = classification_scripts(train, entry.target, knobs["metric"])
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: classify {entry.target}", target=entry.target,
        intro=f"Predict the class `{entry.target}` of each row of the {entry.title} data from its other columns "
              f"({common.classes_text(frame[entry.target])}).",
        kind="classification", metrics=common.metrics(knobs["metric"], common.CLASSIFICATION_METRICS),
        train=train, validation=validation, test=test, notes=tuple(n for n in notes if n),
        baseline_code=baseline[0], baseline_summary=baseline[1],
        reference_code=reference[0], reference_summary=reference[1],
        family=FAMILY.name, topic=_topic(knobs), knobs=knobs, dataset=entry)


def classification_scripts(train: pd.DataFrame, target: str, metric: str) -> tuple[tuple[str, str], ...]:
    """((code, summary) of the baseline, (code, summary) of the reference) for tabular classification; the
    reference weights the classes equally unless the metric is accuracy."""
    return (tree_baseline(train, target, metric),
            tabular_reference(target, "classification", len(train), metric, balanced=metric != "accuracy"))


def tree_baseline(train: pd.DataFrame, target: str, metric: str, *, kind: Kind = "classification",
                  constants: str = "", decision: str = "") -> tuple[str, str]:
    """(code, summary) of a depth-2 decision tree on two complementary informative features (with and without
    balanced class weights, unless the metric is accuracy), or a constant, whichever scores best on
    validation; refit on train + validation for the test predictions. `decision`: how the tree labels a row,
    where not by its leaf's commonest class."""
    features = common.complementary_features(train, target, classification=True)
    tree = "DecisionTreeClassifier(max_depth=2, random_state=0)"
    models = {"tree": tree}
    if kind == "classification" and metric != "accuracy":
        models["balanced tree"] = tree.replace(")", ', class_weight="balanced")')
    weights = ", with or without balanced class weights," if len(models) > 1 else ""
    summary = (f"a depth-2 decision tree{weights} on two informative, complementary features "
               f"({', '.join(features)}){decision}, or the {_CONSTANT_DOC[kind]}, whichever scores the better "
               f"{metric} on validation, refit on train + validation for the test predictions")
    return tabular_baseline(target, features, summary, models, kind, metric, constants), summary


_CONSTANT_DOC = {"classification": "commonest training label", "cost": "label the class prior decides"}


def _topic(knobs: dict[str, Any]) -> str:
    if knobs["twist"] == "drop_top_feature":
        return "Tabular classification when the strongest predictor is unavailable."
    if knobs["train_fraction"] < 1:
        return "Sample-efficient tabular classification from a small training set."
    return f"Model choice and feature engineering for tabular classification, judged by {knobs['metric']}."


def _accepts(entry: DatasetEntry) -> bool:
    return entry.rows >= 100 and len(common.feature_names(entry)) >= 1


FAMILY = Family("tabular_classification", ("binary", "multiclass", "imbalanced"), sample_knobs, build, _accepts)
