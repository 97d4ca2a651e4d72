"""Scores solver.py's `solve` on each instance of a split (the rules and the objective: problem.py).

    python evaluate.py --split validation     # the instances of data/validation.json

Prints {"instance_scores": [...]} (one score each, 0 to 1: a lower bound over the answer's objective,
or as problem.py says), then the metrics as the last line. An instance scores 0 when `solve` raises,
returns an infeasible or malformed answer, or answers after the instance's time limit (its
"time_limit", seconds); a call still running GRACE seconds later is abandoned, and every later instance
scores 0 too.
"""

import argparse
import importlib
import json
import os
import queue
import sys
import threading
import time

import problem

SPLITS = {"validation": "data/validation.json", "test": "hidden/test.json"}
SECONDS_TO_LOAD = 5.0
GRACE = 1.0
"""Seconds a late call is still waited for (its instance fails, but the next one can be asked)."""
HIDDEN_KEYS = ("name", "bound")
"""What the solver is not given: the instance's name and its bound (what the score is relative to)."""


class Overrun(Exception):
    """The solver did not answer in time."""


class Submission:
    """Runs the submission's code in a worker thread, so that a call past its deadline can be left behind."""

    def __init__(self) -> None:
        self.stuck = False
        self.jobs, self.replies = queue.SimpleQueue(), queue.SimpleQueue()
        threading.Thread(target=self._work, daemon=True).start()

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                self.replies.put((None, job()))
            except BaseException as e:  # the submission's failure, whatever it is
                self.replies.put((e if isinstance(e, Exception) else RuntimeError(repr(e)), None))

    def run(self, job, deadline: float):
        if self.stuck:
            raise Overrun("an earlier call never returned")
        self.jobs.put(job)
        try:
            error, value = self.replies.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            try:
                self.replies.get(timeout=GRACE)
            except queue.Empty:
                self.stuck = True
            raise Overrun("past the time limit") from None
        if error is not None:
            raise error
        if time.monotonic() > deadline:
            raise Overrun("past the time limit")
        return value


def instance_score(submission: Submission, solve, instance: dict) -> float | None:
    """The instance's score; None when the answer is missing, late or infeasible."""
    given = {k: v for k, v in instance.items() if k not in HIDDEN_KEYS}
    try:
        answer = submission.run(lambda: solve(given), time.monotonic() + instance["time_limit"])
        return problem.score(instance, answer)
    except Exception as e:  # the solver's error, an overrun, an infeasible answer: the worst score
        print(f"instance {instance['name']} scored 0: {type(e).__name__}: {e}"[:300])
        return None



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="validation")
    split = parser.parse_args().split
    with open(SPLITS[split]) as f:
        instances = json.load(f)
    submission = Submission()
    try:
        solve = submission.run(lambda: importlib.import_module("solver").solve, time.monotonic() + SECONDS_TO_LOAD)
        scores = [instance_score(submission, solve, instance) for instance in instances]
    except Exception as e:  # solver.py does not load, or has no `solve`
        print(f"solver.solve could not be loaded: {type(e).__name__}: {e}"[:300])
        scores = [None] * len(instances)
    failures = sum(s is None for s in scores)
    scores = [float(f"{s:.6g}") if s is not None else 0.0 for s in scores]
    print(json.dumps({"instance_scores": scores}))
    print(json.dumps({"score": float(f"{sum(scores) / len(scores):.6g}"), "failures": failures}))
    sys.stdout.flush()
    if submission.stuck:  # the abandoned call holds the pipe: end without waiting for it
        os._exit(0)


if __name__ == "__main__":
    main()
