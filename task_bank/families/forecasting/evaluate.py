"""Scores forecaster.py's `forecast` on the windows of a split, each forecast from every point before it.

    python evaluate.py --split validation     # the windows of data/validation.json

The history starts as series.csv (the test split's also holds every validation window). For each window in
time order, `forecast(history, horizon)` is called with the history's values (a list of floats) and must
return `horizon` finite numbers; the window's values then join the history. A window whose forecast fails
(an exception, the wrong length, a value that is not a finite number) is scored as the history's mean
repeated, the trivial forecast, and counted in `failures`. A call running past CALL_SECONDS, or an import past
IMPORT_SECONDS, stops the evaluation asking: that window and every later one fail.

Prints {"instance_scores": [...]} (the primary metric of each window), then the metrics as the last line,
each the mean over the windows (settings: forecast.json).
"""

import argparse
import csv
import json
import math
import signal
import sys

SPLITS = {"validation": "data/validation.json", "test": "hidden/test.json"}
IMPORT_SECONDS = 30.0
with open("forecast.json") as f:
    SETTINGS = json.load(f)
CALL_SECONDS = SETTINGS["call_seconds"]


class Hung(BaseException):
    """The forecaster did not answer in time; what it answers later would be out of step."""


def _alarm(signum, frame):
    raise Hung


def errors(truth: list[float], predicted: list[float]) -> dict[str, float]:
    """Every metric of one window (forecast.json names them; MASE divides by its fixed scale)."""
    e = [p - t for p, t in zip(predicted, truth, strict=True)]
    mae = sum(map(abs, e)) / len(e)
    sizes = [abs(t) + abs(p) or 1.0 for t, p in zip(truth, predicted, strict=True)]
    found = {"mae": mae, "rmse": math.sqrt(sum(x * x for x in e) / len(e)), "mase": mae / SETTINGS["mase_scale"],
             "smape": 100 * sum(2 * abs(x) / size for x, size in zip(e, sizes, strict=True)) / len(e)}
    return {name: found[name] for name in SETTINGS["metrics"]}


def usable(answer, horizon: int) -> list[float] | None:
    """The answer as `horizon` finite floats, or None."""
    try:
        values = [float(v) for v in answer]
    except (TypeError, ValueError):
        return None
    return values if len(values) == horizon and all(math.isfinite(v) for v in values) else None


def load_forecast():
    signal.setitimer(signal.ITIMER_REAL, IMPORT_SECONDS)
    try:
        import forecaster

        return forecaster.forecast
    except (Exception, Hung) as e:  # the submission's failure, whatever it is
        print(f"forecaster.forecast could not be loaded: {type(e).__name__}: {e}"[:300], file=sys.stderr)
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def ask(forecast, history: list[float], horizon: int) -> list[float] | None:
    """The forecast of one window, None when it fails; raises Hung past CALL_SECONDS."""
    signal.setitimer(signal.ITIMER_REAL, CALL_SECONDS)
    try:
        return usable(forecast(list(history), horizon), horizon)
    except Exception as e:  # the submission's failure
        print(f"a forecast failed: {type(e).__name__}: {e}"[:300], file=sys.stderr)
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="validation")
    split = parser.parse_args().split
    signal.signal(signal.SIGALRM, _alarm)
    with open("series.csv", newline="") as f:
        history = [float(row[SETTINGS["target"]]) for row in csv.DictReader(f)]
    with open("data/validation.json") as f:
        windows = json.load(f)
    if split == "test":
        history += [v for window in windows for v in window["values"]]
        with open(SPLITS["test"]) as f:
            windows = json.load(f)
    forecast, failures, scores = load_forecast(), 0, []
    for window in windows:
        truth = window["values"]
        predicted = None
        if forecast is not None:
            try:
                predicted = ask(forecast, history, len(truth))
            except Hung:
                print(f"forecaster.forecast ran past {CALL_SECONDS:g} s; this window and every later one fail",
                      file=sys.stderr)
                forecast = None
        if predicted is None:
            failures += 1
            predicted = [sum(history) / len(history)] * len(truth)
        scores.append(errors(truth, predicted))
        history += truth
    means = {name: float(f"{sum(s[name] for s in scores) / len(scores):.6g}") for name in SETTINGS["metrics"]}
    print(json.dumps({"instance_scores": [float(f"{s[SETTINGS['metrics'][0]]:.6g}") for s in scores]}))
    print(json.dumps({**means, "failures": failures}))


if __name__ == "__main__":
    main()
