"""Scores predictions for one split and prints the metrics as one JSON line.

  python evaluate.py --split validation   # validation_predictions.csv vs data/validation.csv
  python evaluate.py --split test         # submission.csv vs the hidden test labels (evaluation only)
  python evaluate.py --split validation --submission_file my_predictions.csv

A prediction file has the columns id,<target> and one row for every id of the split.
"""

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

TASK = {"target": "target", "kind": "classification", "metrics": ["accuracy"], "params": {}}
FILES = {"validation": ("validation_predictions.csv", "data/validation.csv"),
         "test": ("submission.csv", "hidden/test_labels.csv")}


def accuracy(truth, pred, params):
    return float(np.mean(truth == pred))


def balanced_accuracy(truth, pred, params):
    """Mean recall over the classes present in the truth."""
    return float(np.mean([np.mean(pred[truth == c] == c) for c in np.unique(truth)]))


def f1_macro(truth, pred, params):
    """Unweighted mean F1 over every class in the truth or the predictions."""
    scores = []
    for c in np.union1d(truth, pred):
        tp = np.sum((truth == c) & (pred == c))
        wrong = np.sum((truth == c) != (pred == c))
        scores.append(2 * tp / (2 * tp + wrong))
    return float(np.mean(scores))


def expected_cost(truth, pred, params):
    """Mean cost per row: fn_cost for each missed positive, fp_cost for each false alarm."""
    positive = label(str(params["positive_label"]))
    missed = np.sum((truth == positive) & (pred != positive))
    false_alarms = np.sum((truth != positive) & (pred == positive))
    return float((params["fn_cost"] * missed + params["fp_cost"] * false_alarms) / len(truth))


def rmse(truth, pred, params):
    return float(np.sqrt(np.mean((truth - pred) ** 2)))


def mae(truth, pred, params):
    return float(np.mean(np.abs(truth - pred)))


def r2(truth, pred, params):
    residual, total = np.sum((truth - pred) ** 2), np.sum((truth - truth.mean()) ** 2)
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return float(1 - residual / total)


def smape(truth, pred, params):
    """Symmetric mean absolute percentage error, in percent (0 to 200); 0/0 counts as 0."""
    scale = np.abs(truth) + np.abs(pred)
    terms = np.divide(2 * np.abs(truth - pred), scale, out=np.zeros_like(scale), where=scale > 0)
    return float(100 * np.mean(terms))


METRICS = {f.__name__: f for f in (accuracy, balanced_accuracy, f1_macro, expected_cost, rmse, mae, r2, smape)}


def read_column(path, column, *, exact):
    """id -> value of `column`; with `exact`, the header must be exactly id,<column>."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header = [h.strip() for h in next(rows, [])]
        if (exact and header != ["id", column]) or not {"id", column} <= set(header):
            sys.exit(f"{path} must have the columns id,{column}; it has {','.join(header) or 'no header'}")
        at_id, at_value = header.index("id"), header.index(column)
        values = {}
        for row in rows:
            if not row:
                continue
            if len(row) != len(header):
                sys.exit(f"{path} line {rows.line_num}: {len(row)} fields, expected {len(header)}")
            key = as_id(row[at_id], path, rows.line_num)
            if key in values:
                sys.exit(f"{path} line {rows.line_num}: id {key} appears twice; give one prediction per id")
            values[key] = row[at_value].strip()
    return values


def as_id(text, path, line):
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not number.is_integer():
        sys.exit(f"{path} line {line}: id '{text}' is not an integer; copy the ids from the data files")
    return int(number)


def label(text):
    """Labels compare as strings; integral numbers compare by value (1.0 is 1)."""
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def numbers(values, path):
    try:
        array = np.array([float(v) for v in values])
    except ValueError as e:
        sys.exit(f"{path}: every prediction must be a number ({e})")
    if not np.all(np.isfinite(array)):
        sys.exit(f"{path}: predictions must be finite numbers (found nan or inf)")
    return array


def aligned(truth, pred, pred_file):
    missing = [i for i in truth if i not in pred]
    extra = [i for i in pred if i not in truth]
    if missing or extra:
        sys.exit(f"{pred_file} must hold one prediction for each of the {len(truth)} ids of the split: "
                 f"{len(missing)} missing (e.g. {missing[:5]}), {len(extra)} unknown (e.g. {extra[:5]})")
    return [truth[i] for i in truth], [pred[i] for i in truth]


def score(truth, pred, pred_file):
    if TASK["kind"] == "classification":
        truth, pred = np.array([label(v) for v in truth]), np.array([label(v) for v in pred])
    else:
        truth, pred = numbers(truth, "the truth file"), numbers(pred, pred_file)
    return {name: METRICS[name](truth, pred, TASK["params"]) for name in TASK["metrics"]}


def main():
    parser = argparse.ArgumentParser(description="Score predictions; prints one JSON line of metrics.")
    parser.add_argument("--split", choices=FILES, default="test")
    parser.add_argument("--submission_file", default=None, help="prediction file (default: the split's)")
    args = parser.parse_args()
    csv.field_size_limit(2**31 - 1)  # text tasks hold long documents
    pred_file, truth_file = FILES[args.split]
    pred_file = args.submission_file or pred_file
    if not Path(truth_file).exists():
        sys.exit(f"{truth_file} is not here: the test labels are hidden; use the `validate` command.")
    if not Path(pred_file).exists():
        sys.exit(f"{pred_file} not found: write it with the columns id,{TASK['target']}.")
    truth = read_column(truth_file, TASK["target"], exact=False)
    pred = read_column(pred_file, TASK["target"], exact=True)
    print(json.dumps(score(*aligned(truth, pred, pred_file), pred_file)))


if __name__ == "__main__":
    main()
