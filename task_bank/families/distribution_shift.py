"""Distribution shift: the splits follow one covariate (train the lowest 60% of its values, validation the
next 20%, test the top 20%, or the reverse), or one categorical column's groups (test groups unseen)."""

import itertools
import random
from typing import Any

import numpy as np
import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.tabular_classification import classification_scripts
from synthml.task_bank.families.tabular_regression import regression_scripts

DIRECTIONS = ("ascending", "descending")


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    group = common.REGRESSION_METRICS if entry.task_type == "regression" else common.CLASSIFICATION_METRICS
    return {"metric": common.pick(rng, group), "shift_column": common.pick(rng, common.feature_names(entry)),
            "direction": common.pick(rng, DIRECTIONS)}


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    target, column = entry.target, knobs["shift_column"]
    classification = entry.task_type != "regression"
    frame = common.clean_table(entry, table, seed, classification=classification)
    frame = frame.dropna(subset=[column]).reset_index(drop=True)
    if not classification:
        frame = frame.astype({target: float})
    descending = knobs["direction"] == "descending"
    if pd.api.types.is_numeric_dtype(frame[column]) and frame[column].nunique() > 10:
        (train, validation, test), note = _by_value(frame, column, descending, seed)
    else:
        (train, validation, test), note = _by_group(entry, frame, column, descending, seed)
    if classification:
        unseen = set(pd.concat([validation, test])[target].astype(str)) - set(train[target].astype(str))
        common.require(not unseen, entry, f"shifting by {column} leaves classes {sorted(unseen)} out of training")
        scripts = classification_scripts(train, target, knobs["metric"])
    else:
        scripts = regression_scripts(train, target, knobs["metric"])
    (baseline, baseline_doc), (reference, reference_doc) = scripts
    group = common.CLASSIFICATION_METRICS if classification else common.REGRESSION_METRICS
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: predict {target} under a shift in {column}", target=target,
        intro=f"Predict `{target}` for each row of the {entry.title} data from its other columns, where the test "
              "rows come from a different part of the data than the training rows.",
        kind="classification" if classification else "regression", metrics=common.metrics(knobs["metric"], group),
        train=train, validation=validation, test=test, notes=(note,),
        baseline_code=baseline, baseline_summary=baseline_doc, reference_code=reference,
        reference_summary=reference_doc, family=FAMILY.name,
        topic=f"Generalisation under covariate shift: models trained on one range of {column} are tested on another.",
        knobs=knobs, dataset=entry)


def _by_value(frame: pd.DataFrame, column: str, descending: bool, seed: int):
    """Sorted by the column (ties in seeded order), cut 60/20/20, each part shuffled."""
    rng = np.random.default_rng(seed)
    order = frame.iloc[rng.permutation(len(frame))].sort_values(column, ascending=not descending, kind="stable")
    cuts = [0, *np.round(np.cumsum(common.SPLIT) * len(order)).astype(int)]
    parts = [order.iloc[a:b].sample(frac=1.0, random_state=seed).reset_index(drop=True)
             for a, b in itertools.pairwise(cuts)]
    low, high = ("highest", "lowest") if descending else ("lowest", "highest")
    edges = [f"{p[column].min():g} to {p[column].max():g}" for p in parts]
    note = (f"Distribution shift: the rows were split by `{column}`. Training holds the 60% with the {low} values "
            f"({edges[0]}), validation the next 20% ({edges[1]}), and test the 20% with the {high} values "
            f"({edges[2]}). The test rows lie at or beyond the edge of the range seen in training.")
    return parts, note


def _by_group(entry: DatasetEntry, frame: pd.DataFrame, column: str, descending: bool, seed: int):
    """Whole groups in the order of their values: those whose middle row falls in the first 60% of rows go to
    train, the next 20% to validation, the rest (the last group at least) to test. Where no group is left for
    validation, validation and test share the test groups' rows."""
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
    common.require(len(parts[0]) >= 0.3 * len(frame), entry, f"the first groups of `{column}` are too few to train on")
    listed = [_list_groups(p[column]) for p in parts]
    note = (f"Distribution shift by group: the rows were split by the value of `{column}`. Training holds "
            f"{listed[0]}; validation {listed[1]}; test {listed[2]}. The test groups never occur in training.")
    return parts, note


def _list_groups(values: pd.Series) -> str:
    groups = sorted(values.astype(str).unique())
    return ", ".join(groups[:8]) + (f" and {len(groups) - 8} more" if len(groups) > 8 else "")


def _accepts(entry: DatasetEntry) -> bool:
    """Enough rows that the test part of the shifted range holds at least 60."""
    return entry.rows >= 300 and len(common.feature_names(entry)) >= 1


FAMILY = Family("distribution_shift", ("binary", "multiclass", "regression"), sample_knobs, build, _accepts)
