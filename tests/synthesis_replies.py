"""Replies of an LLM that writes one sound task (breast cancer diagnosis), for ScriptedLLM.

The code is real: the pipeline runs it in the sandbox and the validator judges it.
"""

import json

TOPIC = "Does a tree ensemble beat a two-feature linear model at diagnosing tumours?"
OTHER_TOPICS = ("How much do all cell measurements add to a shape-only diagnosis model?",
                "Which nucleus features matter most when diagnosing breast masses?")
DATASET = "sklearn/breast_cancer"

PREPARE = """\
import os
import pandas as pd
from sklearn.model_selection import train_test_split

table = pd.read_csv("raw/dataset.csv")
train, rest = train_test_split(table, test_size=0.4, random_state=0, stratify=table["diagnosis"])
validation, test = train_test_split(rest, test_size=0.5, random_state=0, stratify=rest["diagnosis"])
os.makedirs("data", exist_ok=True)
for name, frame in {"train": train, "validation": validation, "test": test}.items():
    frame.to_csv(f"data/{name}.csv", index=False)
"""

SOLUTION = """\
import pandas as pd
from sklearn.{module} import {model}

train = pd.read_csv("data/train.csv")
features = {features}
model = {model}({args}).fit(train[features], train["diagnosis"])
for split, out in (("validation", "validation_predictions.csv"), ("test", "submission.csv")):
    frame = pd.read_csv(f"data/{{split}}.csv")
    pd.DataFrame({{"id": frame["id"], "diagnosis": model.predict(frame[features])}}).to_csv(out, index=False)
"""
BASELINE = SOLUTION.format(module="linear_model", model="LogisticRegression", args="max_iter=1000",
                           features='["mean_smoothness", "mean_symmetry"]')
REFERENCE = SOLUTION.format(module="ensemble", model="RandomForestClassifier", args="n_estimators=200, random_state=0",
                            features='[c for c in train.columns if c not in ("id", "diagnosis")]')

EVALUATE = """\
import argparse, json
import pandas as pd

parser = argparse.ArgumentParser()
parser.add_argument("--split", default="test")
parser.add_argument("--submission_file", default=None)
args = parser.parse_args()
pred_file, truth_file = {"validation": ("validation_predictions.csv", "data/validation.csv"),
                         "test": ("submission.csv", "hidden/test_labels.csv")}[args.split]
truth = pd.read_csv(truth_file).set_index("id")["diagnosis"]
pred = pd.read_csv(args.submission_file or pred_file).set_index("id")["diagnosis"].reindex(truth.index)
print(json.dumps({"accuracy": float((pred == truth).mean())}))
"""


def topics_reply(n: int = 1) -> str:
    topics = [{"area": "tabular classification", "topic": topic} for topic in (TOPIC, *OTHER_TOPICS)[:n]]
    return json.dumps({"topics": topics})


def proposal_reply(dataset: str = DATASET) -> str:
    return json.dumps({"dataset_id": dataset, "rationale": "A small table of tumour measurements."})


def task_reply(**files: str) -> str:
    """The task as JSON; keyword arguments replace files (file name with '_' for '.', e.g. prepare_py)."""
    code = {"prepare.py": PREPARE, "baseline.py": BASELINE, "reference.py": REFERENCE, "evaluate.py": EVALUATE}
    code |= {name.replace("_py", ".py"): text for name, text in files.items()}
    return json.dumps({
        "name": "Tumour diagnosis from two measurements", "target": "diagnosis", "kind": "classification",
        "statement": "Diagnose breast tumours as malignant or benign from cell-nucleus measurements. Research "
                     "question: how much does using every measurement with a tree ensemble gain over a linear "
                     "model of two shape features?",
        "metrics": [{"name": "accuracy", "direction": "max"}],
        "baseline_summary": "logistic regression on mean smoothness and mean symmetry",
        "files": {k: v for k, v in code.items() if v}})


def repair_reply(**files: str) -> str:
    return json.dumps({"files": {name.replace("_py", ".py"): text for name, text in files.items()}})
