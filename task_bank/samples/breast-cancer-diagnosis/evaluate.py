"""Scores predictions for one split and prints the metrics as one JSON line.

  python evaluate.py --split validation   # validation_predictions.csv vs data/validation.csv
  python evaluate.py --split test         # submission.csv vs the hidden test labels (evaluation only)
"""
import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from sklearn import metrics

TARGET = "benign"
FILES = {"validation": ("validation_predictions.csv", "data/validation.csv"),
         "test": ("submission.csv", "hidden/test_labels.csv")}


def score(truth, pred):
    return {"accuracy": metrics.accuracy_score(truth, pred),
            "f1_macro": metrics.f1_score(truth, pred, average="macro")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=FILES, default="test")
    parser.add_argument("--submission_file", default=None)
    args = parser.parse_args()
    pred_file, truth_file = FILES[args.split]
    pred_file = args.submission_file or pred_file
    if not Path(truth_file).exists():
        sys.exit(f"{truth_file} is not here: the test labels are hidden; use the `validate` command.")
    if not Path(pred_file).exists():
        sys.exit(f"{pred_file} not found: write it with columns id,{TARGET}.")
    truth = pd.read_csv(truth_file)[["id", TARGET]]
    pred = pd.read_csv(pred_file)
    if list(pred.columns) != ["id", TARGET]:
        sys.exit(f"{pred_file} must have exactly the columns id,{TARGET}; it has {list(pred.columns)}")
    merged = truth.merge(pred, on="id", how="left", suffixes=("", "_pred"))
    missing = int(merged[TARGET + "_pred"].isna().sum())
    if missing or len(pred) != len(truth):
        sys.exit(f"{pred_file} must hold one prediction for each of the {len(truth)} ids ({missing} missing)")
    print(json.dumps(score(merged[TARGET], merged[TARGET + "_pred"])))


if __name__ == "__main__":
    main()
