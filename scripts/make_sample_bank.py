"""Writes the sample bank shipped in the package (task_bank/samples) from scikit-learn's datasets.

Run from the repository root: `.venv/bin/python scripts/make_sample_bank.py`. Baseline scores are
measured by running each task's baseline through SynthML-v0 in the bubblewrap sandbox.
"""

import hashlib
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sklearn
import yaml
from sklearn import datasets
from sklearn.model_selection import train_test_split

from synthml.tasks.task import write_task_yaml

sys.path.insert(0, str(Path(__file__).parent))
from sample_task_files import BASELINE, CLASSIFICATION_SCORE, DESCRIPTION, EVALUATE, REGRESSION_SCORE

BANK = Path(__file__).resolve().parent.parent / "task_bank" / "samples"

TASKS = [
    {
        "id": "breast-cancer-diagnosis", "name": "Breast cancer diagnosis from cell nuclei",
        "loader": "load_breast_cancer", "target": "benign", "stratify": True, "license": "CC BY 4.0",
        "intro": "Predict whether a breast mass is benign (1) or malignant (0) from 30 measurements of "
                 "its cell nuclei in a digitised fine-needle aspirate image.",
        "columns": "30 real-valued features: mean, standard error and worst value of radius, texture, "
                   "perimeter, area, smoothness, compactness, concavity, concave points, symmetry and "
                   "fractal dimension of the nuclei. Target `benign`: 1 benign, 0 malignant.",
        "metrics": [{"name": "accuracy", "direction": "max"}, {"name": "f1_macro", "direction": "max"}],
        "score": CLASSIFICATION_SCORE, "module": "tree", "model": "DecisionTreeClassifier",
        "params": "max_depth=1, random_state=0", "features": None,
        "summary": "a depth-1 decision tree (one split on one feature)",
    },
    {
        "id": "diabetes-progression", "name": "Diabetes disease progression",
        "loader": "load_diabetes", "target": "progression", "stratify": False, "license": "BSD-3-Clause",
        "intro": "Predict a quantitative measure of diabetes disease progression one year after baseline "
                 "from ten baseline variables of 442 patients.",
        "columns": "age (years), sex (1 or 2), bmi (body mass index), bp (mean blood pressure), s1-s6 "
                   "(tc, ldl, hdl, tch, ltg, glu: six blood serum measurements). Target `progression`.",
        "metrics": [{"name": "rmse", "direction": "min"}, {"name": "r2", "direction": "max"}],
        "score": REGRESSION_SCORE, "module": "linear_model", "model": "LinearRegression", "params": "",
        "features": ["bmi"], "summary": "a linear regression on body mass index alone",
    },
]


def load(spec: dict) -> pd.DataFrame:
    bunch = getattr(datasets, spec["loader"])(as_frame=True, **({"scaled": False} if "diabetes" in spec["id"] else {}))
    frame = bunch.frame.rename(columns=lambda c: c.replace(" ", "_"))
    frame = frame.rename(columns={"target": spec["target"]})
    return frame.reset_index(drop=True).rename_axis("id").reset_index()


def write_task(spec: dict) -> Path:
    frame, target = load(spec), spec["target"]
    stratify = frame[target] if spec["stratify"] else None
    train, rest = train_test_split(frame, test_size=0.4, random_state=0, stratify=stratify)
    validation, test = train_test_split(rest, test_size=0.5, random_state=0,
                                        stratify=rest[target] if spec["stratify"] else None)
    root = BANK / spec["id"]
    shutil.rmtree(root, ignore_errors=True)
    (root / "data").mkdir(parents=True)
    (root / "hidden").mkdir()
    (root / "datasets").mkdir()
    train.to_csv(root / "data/train.csv", index=False)
    validation.to_csv(root / "data/validation.csv", index=False)
    test.drop(columns=[target]).to_csv(root / "data/test.csv", index=False)
    test[["id", target]].to_csv(root / "hidden/test_labels.csv", index=False)
    features = spec["features"] or [c for c in frame.columns if c not in ("id", target)]
    (root / "evaluate.py").write_text(EVALUATE.format(target=target, score_body=spec["score"]))
    (root / "baseline.py").write_text(BASELINE.format(summary=spec["summary"], module=spec["module"],
                                                      model=spec["model"], target=target, features=features,
                                                      params=spec["params"]))
    test[["id"]].assign(**{target: train[target].mode()[0]}).to_csv(root / "sample_submission.csv", index=False)
    dataset = {"name": spec["id"], "description": spec["columns"], "data_path": "data", "is_local": True,
               "train_split": {"name": "train", "file_regex": "train.csv"},
               "valid_split": {"name": "validation", "file_regex": "validation.csv"},
               "test_split": {"name": "test", "file_regex": "test.csv"}}
    write_task_yaml(root / "datasets/dataset.yaml", dataset)
    write_task_yaml(root / "task.yaml", task_yaml(spec, frame))
    return root


def task_yaml(spec: dict, frame: pd.DataFrame) -> dict:
    primary = spec["metrics"][0]
    return {
        "id": spec["id"], "name": spec["name"],
        "description": DESCRIPTION.format(intro=spec["intro"], target=spec["target"], baseline=spec["summary"],
                                          metric=primary["name"], direction=f"{primary['direction']}imise"),
        "dataset_configs": ["datasets/dataset.yaml"], "task_entrypoint": "CSVSubmissionTasks",
        "training_timeout": 600, "use_generic_conda": True, "starter_code": ["baseline.py", "evaluate.py"],
        "baseline_paths": ["baseline.py"], "baseline_scores": [], "sample_submission": "sample_submission.csv",
        "evaluation_paths": ["evaluate.py"], "evaluation_read_only": True,
        "metrics": spec["metrics"], "primary_metric": primary["name"],
        "submission_files": ["submission.csv", "validation_predictions.csv"],
        "hidden_files": ["hidden/test_labels.csv"], "validation_split": "validation",
        "baseline_validation_scores": [],
        "provenance": {"generator": "handwritten", "topic": "sample bank",
                       "dataset": {"id": f"sklearn/{spec['loader'].removeprefix('load_')}",
                                   "source": f"scikit-learn datasets.{spec['loader']}",
                                   "revision": f"scikit-learn {sklearn.__version__}",
                                   "sha256": hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest(),
                                   "license": spec["license"]},
                       "created_at": datetime.now(UTC).replace(microsecond=0).isoformat()},
    }


def record_baseline(root: Path) -> None:
    """Run the baseline through the env (in the sandbox) and store its validation and test scores."""
    from synthml.envs.env import SynthMLEnv

    env = SynthMLEnv(task=root)
    env.reset(seed=0)
    env.step("python baseline.py")
    validation = env.step("validate")[4]["score"]
    test = env.step("submit")[4]["score"]
    env.close()
    data = yaml.safe_load((root / "task.yaml").read_text())
    data["baseline_scores"], data["baseline_validation_scores"] = [test], [validation]
    write_task_yaml(root / "task.yaml", data)
    print(root.name, "validation", validation, "test", test)


if __name__ == "__main__":
    for spec in TASKS:
        record_baseline(write_task(spec))
