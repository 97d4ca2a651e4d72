"""Distribution shift: the splits follow one covariate (train the lowest values, validation the next, test the
highest, or the reverse; validation and test 20% of the rows and 200 at least), or one categorical column's
groups (test groups unseen). What the statement says about the shift is measured on the splits. The target is
simulated on the real columns (families/simulated.py): a number, or that number cut into two classes.

The ladder is the tabular families'; the reference chooses its blend on validation, which lies between
train and test, and refits on both. Beyond the training range every rung's trees predict flat and its linear
parts are clipped: a gain on validation often does not carry to test, so few of these tasks show the
reference reliably above the default."""

import itertools
import random
from typing import Any

import numpy as np
import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common, simulated
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.tabular_classification import BALANCED_METRICS, classification_scripts
from synthml.task_bank.families.tabular_regression import regression_scripts

DIRECTIONS = ("ascending", "descending")
KINDS = ("regression", "classification")
SHARES = (0.7, 0.3)
"""Class shares of a classification task (judged by a metric that weighs both classes alike)."""
SIGNAL = 0.98


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    kind = common.pick(rng, KINDS)
    group = common.REGRESSION_METRICS if kind == "regression" else BALANCED_METRICS
    return {"kind": kind, "metric": common.pick(rng, group),
            "shift_column": common.pick(rng, common.feature_names(entry)), "direction": common.pick(rng, DIRECTIONS)}


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    column, classification = knobs["shift_column"], knobs["kind"] == "classification"
    frame = common.clean_table(entry, table, seed, classification=False)
    frame, outcome = simulated.simulate(frame, entry.target, seed, signal=SIGNAL)
    target = outcome.name
    if classification:
        frame = simulated.to_classes(frame, outcome, SHARES)
    frame = frame.dropna(subset=[column]).reset_index(drop=True)
    descending = knobs["direction"] == "descending"
    if pd.api.types.is_numeric_dtype(frame[column]) and frame[column].nunique() > 10:
        (train, validation, test), note = _by_value(frame, column, descending, seed)
    else:
        (train, validation, test), note = _by_group(entry, frame, column, descending, seed)
    parts = (train, validation, test)
    common.require_test_rows(entry, parts)
    common.require(len(train) >= common.MIN_TRAIN_ROWS, entry, f"{len(train)} training rows, fewer than "
                   f"{common.MIN_TRAIN_ROWS}")
    if classification:
        common.require_every_class(entry, parts, target)
        scripts, metrics = (classification_scripts(target, knobs["metric"]),
                            common.metrics(knobs["metric"], common.CLASSIFICATION_METRICS))
    else:
        scripts, metrics = (regression_scripts(train, target, knobs["metric"]),
                            common.regression_metrics(entry, knobs["metric"], parts, target))
    notes = (simulated.statement_note(outcome, entry.target, entry.title, SHARES if classification else ()), note)
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: predict a simulated outcome under a shift in {column}", target=target,
        intro=f"Predict `{target}` for each row of the {entry.title} data from its columns, where the test rows "
              "come from a different part of the data than the training rows.",
        kind="classification" if classification else "regression", metrics=metrics,
        train=train, validation=validation, test=test, notes=notes, **scripts, family=FAMILY.name,
        topic=f"Generalisation under covariate shift: models trained on one range of {column} are tested on another.",
        knobs=knobs, dataset=entry)


def _by_value(frame: pd.DataFrame, column: str, descending: bool, seed: int):
    """Sorted by the column (ties in seeded order) and cut into train, validation and test of `split_sizes`,
    each part shuffled; the note gives each part's range and how many test rows lie beyond training's."""
    rng = np.random.default_rng(seed)
    order = frame.iloc[rng.permutation(len(frame))].sort_values(column, ascending=not descending, kind="stable")
    cuts = [0, *np.cumsum(common.split_sizes(len(order)))]
    parts = [order.iloc[a:b].sample(frac=1.0, random_state=seed).reset_index(drop=True)
             for a, b in itertools.pairwise(cuts)]
    low, high = ("highest", "lowest") if descending else ("lowest", "highest")
    edges = [f"{p[column].min():g} to {p[column].max():g}" for p in parts]
    trained = parts[0][column]
    beyond = parts[2][column] < trained.min() if descending else parts[2][column] > trained.max()
    side, edge = ("below", trained.min()) if descending else ("above", trained.max())
    note = (f"Distribution shift: the rows were split by `{column}`. Training holds the rows with the {low} values "
            f"({edges[0]}), validation the next ({edges[1]}), and test those with the {high} values ({edges[2]}). "
            f"{beyond.mean():.0%} of the test rows have `{column}` {side} every training value ({edge:g}).")
    return parts, note


def _by_group(entry: DatasetEntry, frame: pd.DataFrame, column: str, descending: bool, seed: int):
    """Whole groups in the order of their values: those whose middle row falls in the first 60% of rows go to
    train, the next 20% to validation, the rest (the last group at least) to test. Where no group is left for
    validation, validation and test share the test groups' rows. The note lists the groups and says which
    parts share any, as the splits show."""
    names = frame[column].astype(str)
    groups = list(frame[column].drop_duplicates().sort_values(ascending=not descending).astype(str))
    common.require(len(groups) >= 2, entry, f"`{column}` has a single value; nothing to shift by")
    shares = names.value_counts(normalize=True).reindex(groups)
    middle = shares.cumsum() - shares / 2
    part_of = {g: int(np.searchsorted([0.6, 0.8], m, side="right")) for g, m in middle.items()} | {groups[-1]: 2}
    labels = names.map(part_of)
    parts = [frame[labels == k].sample(frac=1.0, random_state=seed).reset_index(drop=True) for k in range(3)]
    if parts[1].empty:
        parts[1:] = common.split_rows(parts[2], seed, (0.5, 0.5))
    seen = [set(p[column].astype(str)) for p in parts]
    shared = [name for name, (a, b) in (("training and test", (0, 2)), ("training and validation", (0, 1)),
                                        ("validation and test", (1, 2))) if seen[a] & seen[b]]
    listed = [_list_groups(p[column]) for p in parts]
    note = (f"Distribution shift by group: the rows were split by the value of `{column}`. Training holds "
            f"{listed[0]}; validation {listed[1]}; test {listed[2]}. "
            + (f"Groups shared: {'; '.join(shared)}." if shared else "No group occurs in two of the parts."))
    return parts, note


def _list_groups(values: pd.Series) -> str:
    groups = sorted(values.astype(str).unique())
    return ", ".join(groups[:8]) + (f" and {len(groups) - 8} more" if len(groups) > 8 else "")


FAMILY = Family("distribution_shift", common.TABULAR_TYPES, sample_knobs, build, simulated.accepts)
