"""Scores strategy.py's `play` in one match against each opponent of a split (the rules: game.py).

    python evaluate.py --split validation     # the opponents of data/validation.json

Prints {"instance_scores": [...]} (one match score each, 0 to 1), then the metrics as the last line.
A match scores 0 when the strategy raises, returns an illegal move, or runs past the match's time
budget (game.json, seconds_per_match); a call still running GRACE seconds later is abandoned, and
every later match scores 0 as well.
"""

import argparse
import importlib
import json
import os
import queue
import sys
import threading
import time

import game

SPLITS = {"validation": "data/validation.json", "test": "hidden/test.json"}
SECONDS_TO_LOAD = 5.0
GRACE = 1.0
"""Seconds a late call is still waited for (its instance fails, but the next one can be asked)."""


class Overrun(Exception):
    """The strategy did not answer in time."""


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
            raise Overrun("past the time budget") from None
        if error is not None:
            raise error
        if time.monotonic() > deadline:
            raise Overrun("past the time budget")
        return value


def match_score(submission: Submission, play, opponent: dict, setup: dict) -> float | None:
    """The match's score; None when it is forfeited."""
    deadline = time.monotonic() + setup["seconds_per_match"]

    def call(history, info):
        return submission.run(lambda: play(history, info), deadline)

    try:
        return game.play_match(call, opponent, setup)
    except Exception as e:  # a forfeit, the strategy's error, an overrun: the worst score
        print(f"match against opponent {opponent['name']} forfeited: {type(e).__name__}: {e}"[:300])
        return None



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=sorted(SPLITS), default="validation")
    split = parser.parse_args().split
    with open("game.json") as f:
        setup = json.load(f)
    with open(SPLITS[split]) as f:
        opponents = json.load(f)
    submission = Submission()
    try:
        play = submission.run(lambda: importlib.import_module("strategy").play, time.monotonic() + SECONDS_TO_LOAD)
        scores = [match_score(submission, play, opponent, setup) for opponent in opponents]
    except Exception as e:  # strategy.py does not load, or has no `play`
        print(f"strategy.play could not be loaded: {type(e).__name__}: {e}"[:300])
        scores = [None] * len(opponents)
    forfeits = sum(s is None for s in scores)
    scores = [float(f"{s:.6g}") if s is not None else 0.0 for s in scores]
    print(json.dumps({"instance_scores": scores}))
    print(json.dumps({"score": float(f"{sum(scores) / len(scores):.6g}"), "forfeits": forfeits}))
    sys.stdout.flush()
    if submission.stuck:  # the abandoned call holds the pipe: end without waiting for it
        os._exit(0)


if __name__ == "__main__":
    main()
