"""Code files of the sample tasks (written into each task dir by make_sample_bank.py)."""

EVALUATE = '''"""Scores predictions for one split and prints the metrics as one JSON line.

  python evaluate.py --split validation   # validation_predictions.csv vs data/validation.csv
  python evaluate.py --split test         # submission.csv vs the hidden test labels (evaluation only)
"""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from sklearn import metrics

TARGET = "{target}"
FILES = {{"validation": ("validation_predictions.csv", "data/validation.csv"),
         "test": ("submission.csv", "hidden/test_labels.csv")}}


def score(truth, pred):
{score_body}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=FILES, default="test")
    parser.add_argument("--submission_file", default=None)
    args = parser.parse_args()
    pred_file, truth_file = FILES[args.split]
    pred_file = args.submission_file or pred_file
    if not Path(truth_file).exists():
        sys.exit(f"{{truth_file}} is not here: the test labels are hidden; use the `validate` command.")
    if not Path(pred_file).exists():
        sys.exit(f"{{pred_file}} not found: write it with columns id,{{TARGET}}.")
    truth = pd.read_csv(truth_file)[["id", TARGET]]
    pred = pd.read_csv(pred_file)
    if list(pred.columns) != ["id", TARGET]:
        sys.exit(f"{{pred_file}} must have exactly the columns id,{{TARGET}}; it has {{list(pred.columns)}}")
    merged = truth.merge(pred, on="id", how="left", suffixes=("", "_pred"))
    missing = int(merged[TARGET + "_pred"].isna().sum())
    if missing or len(pred) != len(truth):
        sys.exit(f"{{pred_file}} must hold one prediction for each of the {{len(truth)}} ids ({{missing}} missing)")
    print(json.dumps(score(merged[TARGET], merged[TARGET + "_pred"])))


if __name__ == "__main__":
    main()
'''

CLASSIFICATION_SCORE = '''    return {"accuracy": metrics.accuracy_score(truth, pred),
            "f1_macro": metrics.f1_score(truth, pred, average="macro")}'''

REGRESSION_SCORE = '''    return {"rmse": metrics.root_mean_squared_error(truth, pred),
            "r2": metrics.r2_score(truth, pred)}'''

BASELINE = '''"""Baseline: {summary}. Writes validation_predictions.csv and submission.csv."""
import pandas as pd
from sklearn.{module} import {model}

TARGET = "{target}"
FEATURES = {features}

train = pd.read_csv("data/train.csv")
model = {model}({params}).fit(train[FEATURES], train[TARGET])
for split, out in (("validation", "validation_predictions.csv"), ("test", "submission.csv")):
    rows = pd.read_csv(f"data/{{split}}.csv")
    pd.DataFrame({{"id": rows["id"], TARGET: model.predict(rows[FEATURES])}}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''

DESCRIPTION = """{intro}

This task uses the following dataset(s):
{{dataset_docs}}
Your workspace holds:
- data/train.csv: training rows, with the target column `{target}`.
- data/validation.csv: validation rows, with the target, for your own model selection.
- data/test.csv: test rows without the target; your predictions for them are what counts.
- baseline.py: {baseline}. Run it with `python baseline.py`.
- evaluate.py: the scorer; `python evaluate.py --split validation` scores validation_predictions.csv.

Goal: beat the baseline on {metric} ({direction}). Other metrics are reported for information.

SUBMISSION FORMAT:
Write `submission.csv` with the columns `id,{target}` and one prediction for every row of
data/test.csv, and `validation_predictions.csv` with the same columns for data/validation.csv.
The `validate` command scores validation_predictions.csv; `submit` scores submission.csv on the
hidden test labels and ends the episode."""
