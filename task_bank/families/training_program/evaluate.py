"""Scores a training program on learning problems it has never seen.

Each instance is a problem drawn from a seeded generator (`make_problem`): its training rows and its
held-out rows. The evaluator calls the submission's `fit(x, y, budget_s)` on the training rows and its
`predict(params, x)` on the held-out rows, times each call, and scores the predictions against the
noise-free truth of the held-out rows. A call that raises, takes longer than the instance's budget, or
returns anything but one finite number per row gives the instance the worst score (a failure).

    python evaluate.py --split validation    # the instances of data/validation.json
"""

import argparse
import importlib
import json
import math
import os
import sys
import threading
import time

import numpy as np

SUBMISSION = "train"
SPLITS = {"validation": "data/validation.json", "test": "hidden/test.json"}
HELD_OUT_ROWS = 500
LINEAR_SHARE = 0.4
"""Share of the signal's variance that is linear in the informative features; the rest is the shape's
function of two of them."""
WORST = {"accuracy": 0.0, "balanced_accuracy": 0.0, "r2": -1.0}
"""Each metric's worst instance score (r2 is clipped there: one wild instance cannot swamp the mean)."""
IMPORT_BUDGET_S = 20.0
"""Seconds importing the submission may take (not part of any instance's budget)."""
GIVE_UP_AFTER = 2.0
"""Seconds past its budget a call may run before the evaluator stops waiting for it and for the submission."""


# --- the problems ---

def make_problem(instance):
    """(x_train, y_train, x_held_out, y_held_out) of one instance, as numpy arrays; the held-out targets are
    noise-free (the true class, the true mean), the training targets are noisy."""
    rng = np.random.default_rng(instance["seed"])
    rows = instance["train_rows"] + HELD_OUT_ROWS
    z = rng.standard_normal((rows, instance["informative"]))
    signal = math.sqrt(LINEAR_SHARE) * unit(z @ rng.standard_normal(z.shape[1]))
    signal += math.sqrt(1 - LINEAR_SHARE) * unit(SHAPES[instance["shape"]](rng, z[:, :2]))
    x = features(rng, z, instance)
    targets = regression_targets if instance["kind"] == "regression" else class_labels
    noisy, clean = targets(rng, signal, instance)
    cut = instance["train_rows"]
    return x[:cut], noisy[:cut], x[cut:], clean[cut:]


def unit(values):
    return (values - values.mean()) / (values.std() + 1e-12)


def waves(rng, z):
    """Sums of sines of random directions: a wavy surface."""
    directions = rng.standard_normal((z.shape[1], z.shape[1]))
    directions *= 1.5 / np.linalg.norm(directions, axis=0)
    return np.sin(z @ directions + rng.uniform(0, 2 * np.pi, z.shape[1])) @ rng.standard_normal(z.shape[1])


def interactions(rng, z):
    """Products of pairs of features (with two features, an XOR)."""
    pairs = np.triu(rng.standard_normal((z.shape[1], z.shape[1])), 1)
    return np.einsum("ni,ij,nj->n", z, pairs, z)


def radial(rng, z):
    """Distance from a random centre: a ball."""
    return np.sum((z - rng.normal(0, 0.5, z.shape[1])) ** 2, axis=1)


def steps(rng, z):
    """Sums of boxes on both features: a signal that jumps at axis-aligned edges."""
    units = 3
    centres, half_widths = rng.normal(0, 0.7, (units, 2)), rng.uniform(0.5, 1.2, (units, 2))
    inside = np.all(np.abs(z[:, None, :] - centres) < half_widths, axis=2)
    return inside @ rng.standard_normal(units)


SHAPES = {"waves": waves, "interactions": interactions, "radial": radial, "steps": steps}


def features(rng, z, instance):
    """The informative features among irrelevant ones, in random order; with mixed scales, each column
    scaled by 10^-2..10^2 and shifted."""
    x = np.hstack([z, rng.standard_normal((len(z), instance["irrelevant"]))])
    x = x[:, rng.permutation(x.shape[1])]
    if instance["scales"] == "mixed":
        scale = 10 ** rng.uniform(-2, 2, x.shape[1])
        x = x * scale + rng.normal(0, 3, x.shape[1]) * scale
    return x


def regression_targets(rng, signal, instance):
    """(noisy, clean) targets on a random scale and offset; heavy noise is Student's t with 1.5 degrees of
    freedom (no finite variance: a few training targets lie far out)."""
    if instance["noise"] == "heavy":
        noise = 0.3 * rng.standard_t(1.5, len(signal))
    else:
        noise = 0.5 * rng.standard_normal(len(signal))
    scale, offset = 10 ** rng.uniform(-1, 3), rng.normal(0, 10)
    return scale * (signal + noise + offset), scale * (signal + offset)


def class_labels(rng, signal, instance):
    """(noisy, clean) 0/1 labels: 1 where the signal is above the quantile that leaves `positive_rate` of
    the rows positive; a `label_noise` share of the noisy labels is flipped."""
    clean = (signal > np.quantile(signal, 1 - instance["positive_rate"])).astype(int)
    flipped = rng.random(len(signal)) < instance["label_noise"]
    return np.where(flipped, 1 - clean, clean), clean


# --- the scores ---

def metric_of(instance):
    if instance["kind"] == "regression":
        return "r2"
    return "accuracy" if instance["positive_rate"] == 0.5 else "balanced_accuracy"


def score(metric, predicted, truth):
    if metric == "r2":
        r2 = 1 - np.mean((predicted - truth) ** 2) / np.var(truth)
        return max(WORST["r2"], float(r2))
    if metric == "accuracy":
        return float(np.mean(predicted == truth))
    return float(np.mean([np.mean(predicted[truth == c] == c) for c in (0, 1)]))


def predictions(value, rows):
    """`value` as a float array of one finite number per row, or None."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return None
    return array if array.shape == (rows,) and np.all(np.isfinite(array)) else None


# --- calling the submission ---

class Hung(Exception):
    """A call ran far past its budget; the submission's process is still in it."""


def timed(function, limit):
    """(result, seconds) of function(); raises what it raised, or Hung once it has run `limit` seconds (it
    runs on in its thread, which never returns)."""
    outcome = {}

    def run():
        start = time.perf_counter()
        try:
            outcome["value"] = function()
        except BaseException as e:  # the submission's code may raise anything
            outcome["error"] = e
        outcome["seconds"] = time.perf_counter() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    if "seconds" not in outcome:
        raise Hung
    if isinstance(outcome.get("error"), Exception):
        raise outcome["error"]
    if "error" in outcome:  # SystemExit and the like, where the submission is imported in this process
        raise RuntimeError(type(outcome["error"]).__name__)
    return outcome["value"], outcome["seconds"]


def call(submission, name, args, budget_s):
    """(result, seconds) of the submission's `name`(*args), looked up within the call (the lookup may reach
    the submission's code too)."""
    return timed(lambda: getattr(submission, name)(*args), budget_s + GIVE_UP_AFTER)


def run_instance(submission, instance, number):
    """The instance's score (None: the submission failed it) and a line saying how it went."""
    metric, budget = metric_of(instance), instance["budget_s"]
    x_train, y_train, x_held_out, truth = make_problem(instance)
    try:
        params, fit_s = call(submission, "fit", (x_train.tolist(), y_train.tolist(), budget), budget)
        if fit_s > budget:
            return None, f"instance {number}: fit took {fit_s:.3f} s, over the budget of {budget} s"
        value, predict_s = call(submission, "predict", (params, x_held_out.tolist()), budget)
    except Hung:
        raise
    except Exception as e:
        return None, f"instance {number}: {type(e).__name__}: {one_line(e)}"
    if predict_s > budget:
        return None, f"instance {number}: predict took {predict_s:.3f} s, over the budget of {budget} s"
    predicted = predictions(value, len(truth))
    if predicted is None:
        return None, f"instance {number}: predict did not return one finite number per row ({len(truth)})"
    result = score(metric, predicted, truth)
    return result, f"instance {number}: {metric} {result:.4f} (fit {fit_s:.3f} s, predict {predict_s:.3f} s)"


def one_line(error):
    try:
        return " ".join(str(error).split())[:300]
    except Exception:  # its __str__ may be the submission's code
        return "(unprintable)"


def import_submission():
    """The submission's module, or None (and why not, printed)."""
    try:
        return timed(lambda: importlib.import_module(SUBMISSION), IMPORT_BUDGET_S)[0]
    except Hung:
        print(f"importing {SUBMISSION}.py took more than {IMPORT_BUDGET_S} s")
        raise
    except Exception as e:
        print(f"{SUBMISSION}.py could not be imported: {type(e).__name__}: {one_line(e)}")
        return None



def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="validation")
    args = parser.parse_args()
    with open(SPLITS[args.split]) as f:
        instances = json.load(f)
    metric, scores, hung = metric_of(instances[0]), [], False
    try:
        submission = import_submission()
    except Hung:
        submission, hung = None, True
    for number, instance in enumerate(instances):
        if submission is None or hung:
            scores.append(None)
            continue
        try:
            result, line = run_instance(submission, instance, number)
        except Hung:
            hung, result = True, None
            line = f"instance {number}: a call ran {GIVE_UP_AFTER} s past its budget; the rest score the worst"
        scores.append(result)
        print(line)
    failures = scores.count(None)
    scores = [float(f"{s:.6g}") if s is not None else WORST[metric] for s in scores]
    print(json.dumps({"instance_scores": scores}))
    print(json.dumps({metric: sum(scores) / len(scores), "failures": failures}))
    sys.stdout.flush()
    if hung:
        os._exit(0)  # the hung call's thread holds the pipe to the submission: no orderly exit waits on it


if __name__ == "__main__":
    main()
