"""Scores the policy in policy.py on this task's episodes and prints the metrics.

  python evaluate.py --split validation   # the episodes of data/validation.json
  python evaluate.py --split test         # the hidden episodes (evaluation only)

An instance is one episode of `task_env.TaskEnv` with the instance's seed: `policy.reset()` (where the
policy defines it) at its start, then `observation -> policy.act(observation)` until it ends. It scores
`TaskEnv.score()`, the return mapped to [0, 1]; it scores 0 when the policy raises, returns anything but
an action (see `TaskEnv.parse_action`), or spends more than EPISODE_SECONDS in the episode. A policy that
does not answer within HANG_SECONDS, or runs past TOTAL_SECONDS in all (or does not import within
IMPORT_SECONDS), scores 0 on every episode left. The primary metric `score` is the mean over the episodes.
"""

import argparse
import json
import signal
import sys
import time
from pathlib import Path

import task_env

SPLITS = {"validation": "data/validation.json", "test": "hidden/test.json"}
IMPORT_SECONDS = 30.0
EPISODE_SECONDS = 5.0
"""Wall time the policy's calls may take in one episode (reset and every act)."""
HANG_SECONDS = 10.0
"""Wall time after which an episode counts as hung: the evaluation stops asking the policy."""
TOTAL_SECONDS = 120.0
"""Wall time all the episodes may take; past it, the episodes left score 0."""
WORST = (0.0, task_env.SETTING["return_range"][0])
"""(score, return) of an episode the policy failed."""


class Hung(BaseException):
    """The policy did not answer in time; what it answers later would be out of step."""


def _alarm(signum, frame):
    raise Hung


def instances(split: str) -> list[dict]:
    """The split's episodes."""
    return json.loads(Path(SPLITS[split]).read_text())


def load_policy():
    """The submission's `act` and optional `reset`; None for `act` when it cannot be had."""
    signal.setitimer(signal.ITIMER_REAL, IMPORT_SECONDS)
    try:
        import policy

        act = policy.act
        reset = getattr(policy, "reset", None)
    except (Exception, Hung) as e:  # the submission's failure, whatever it is
        print(f"policy.py could not be used: {type(e).__name__}: {e}", file=sys.stderr)
        return None, None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return act, reset


def play(instance: dict, act, reset, hang: float) -> tuple[float, float]:
    """(score, return) of one episode, WORST when the policy fails; raises Hung past `hang` seconds."""
    env = task_env.TaskEnv(instance["seed"])
    observation, done = env.reset(), False
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, hang)
    try:
        if reset is not None:
            reset()
        while not done:
            action = env.parse_action(act(observation))
            if action is None or time.monotonic() - started > EPISODE_SECONDS:
                return WORST
            observation, _, done = env.step(action)
    except Exception:  # the policy's failure
        return WORST
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return env.score(), env.total


def evaluate(split: str) -> list[tuple[float, float]]:
    episodes = instances(split)
    act, reset = load_policy()
    deadline, results = time.monotonic() + TOTAL_SECONDS, []
    for instance in episodes:
        left = deadline - time.monotonic()
        if act is None or left <= 0:
            results.append(WORST)
            continue
        try:
            results.append(play(instance, act, reset, min(HANG_SECONDS, left)))
        except Hung:
            print(f"policy.py ran past {HANG_SECONDS:g} s in an episode or {TOTAL_SECONDS:g} s in all; the "
                  "remaining episodes score 0", file=sys.stderr)
            act = None
            results.append(WORST)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=list(SPLITS), default="validation")
    split = parser.parse_args().split
    signal.signal(signal.SIGALRM, _alarm)
    results = evaluate(split)
    scores = [float(f"{score:.6g}") for score, _ in results]
    print(json.dumps({"instance_scores": scores}))
    print(json.dumps({"score": sum(scores) / len(scores),
                      "mean_return": float(f"{sum(r for _, r in results) / len(results):.6g}")}))


if __name__ == "__main__":
    main()
