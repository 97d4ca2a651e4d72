"""Checks the rl_control family's ladder over many tasks: on each split, the reference beats the default (the
paired bootstrap 95% CI of the mean instance-score gap above 0), the baseline beats trivial (likewise), and the
reference beats the baseline by the validator's margin on test. Also times each evaluation.

Run from the repository root: `.venv/bin/python scripts/check_rl_control.py [--tasks 40] [--every-setting]`;
`--lakes` lists the FrozenLake maps fit for each twist instead (rl_control.LAKES), from exact success rates.
Evaluators run as plain Python in a scratch copy of each task (no sandbox: faster, same scores), each rung
copied in as policy.py. `--every-setting` builds one task per knob setting instead of sampling knobs.
"""

import argparse
import itertools
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

from synthml.task_bank.families import rl_control
from synthml.task_bank.program import RUNGS, write_program_task
from synthml.task_bank.statistics import instance_gap

MARGIN = 0.02


def every_setting() -> list[dict]:
    """One knob set per combination of a twist's options (episodes: the fewer)."""
    knobs = []
    for env, twists in rl_control.TWISTS.items():
        for twist, options in twists.items():
            for values in itertools.product(*options.values()):
                knobs.append({"env": env, "twist": twist, **dict(zip(options, values, strict=True)),
                              "episodes": min(rl_control.EPISODES[env])})
    return knobs


def scores(task: Path, rung_text: str, split: str) -> tuple[list[float], float]:
    """Instance scores of one rung on one split, and the evaluation's wall time."""
    with tempfile.TemporaryDirectory() as scratch:
        workspace = Path(scratch) / "ws"
        shutil.copytree(task, workspace, ignore=shutil.ignore_patterns("reference"))
        (workspace / "policy.py").write_text(rung_text)
        started = time.monotonic()
        out = subprocess.run([sys.executable, "evaluate.py", "--split", split], cwd=workspace, capture_output=True,
                             text=True, check=True)
        seconds = time.monotonic() - started
    return json.loads(out.stdout.splitlines()[-2])["instance_scores"], seconds


def check(task: Path, knobs: dict) -> dict:
    rungs = {r: (task / f"reference/{r}.py").read_text() for r in RUNGS}
    rungs["baseline"] = (task / "policy.py").read_text()
    report = {"knobs": knobs, "problems": []}
    for split in ("validation", "test"):
        results = {rung: scores(task, text, split) for rung, text in rungs.items()}
        mean = {rung: float(np.mean(s)) for rung, (s, _) in results.items()}
        report[split] = {r: round(m, 3) for r, m in mean.items()}
        report[f"{split}_seconds"] = round(max(t for _, t in results.values()), 2)
        for better, worse in (("reference", "default"), ("baseline", "trivial")):
            if not instance_gap(results[worse][0], results[better][0], sign=1).positive:
                report["problems"].append(f"{split}: {better} {mean[better]:.3f} vs {worse} {mean[worse]:.3f}, "
                                          "95% CI of the gap reaches 0")
        if split == "test" and mean["reference"] - mean["baseline"] < MARGIN * abs(mean["baseline"]):
            report["problems"].append(f"test: reference {mean['reference']:.3f} within {MARGIN:.0%} of the baseline's "
                                      f"{mean['baseline']:.3f}")
    return report


def lake_margins(knobs: dict) -> float:
    """How far a FrozenLake task clears the bars, from exact success probabilities (no episodes played): the
    least of reference - default - 0.3, baseline - 0.15 and reference - baseline - 0.15 (>= 0: it clears them)."""
    draft, setting = rl_control.build(None, None, knobs, 0, "rl-lake"), rl_control.task_setting(knobs)
    rungs = {name: _module(text) for name, text in (*draft.ladder.items(), ("baseline", draft.baseline))}
    rewards, going_on = rungs["reference"].tables()  # the reference's model is the task's
    states, steps = np.arange(len(rewards)), setting["max_steps"]
    tables = {"baseline": lambda t: np.array([rungs["baseline"].MOVE.get(s, 0) for s in states]),
              "default": lambda t: rungs["default"].POLICY[0],
              "reference": lambda t: rungs["reference"].POLICY[steps - t - 1]}
    success = {}
    for name, actions in tables.items():
        where, total = np.eye(len(states))[0], 0.0  # the start is cell 0
        for t in range(steps):
            chosen = actions(t)
            total += where @ rewards[states, chosen]
            where = where @ going_on[states, chosen]
        success[name] = total
    return min(success["reference"] - success["default"] - 0.3, success["baseline"] - 0.15,
               success["reference"] - success["baseline"] - 0.15)


def good_lakes(sizes=(6, 7, 8), seeds=range(20)) -> dict[str, list[list[int]]]:
    """The maps on which every option of each FrozenLake twist clears the bars (`lake_margins`)."""
    found = {}
    for twist, options in rl_control.TWISTS["FrozenLake-v1"].items():
        others = {name: values for name, values in options.items() if name != "lake"}
        found[twist] = [[size, seed] for size in sizes for seed in seeds if all(
            lake_margins({"env": "FrozenLake-v1", "twist": twist, "lake": [size, seed], **dict(zip(others, values,
                          strict=True)), "episodes": 1}) >= 0 for values in itertools.product(*others.values()))]
    return found


def _module(text: str) -> types.ModuleType:
    module = types.ModuleType("rung")
    exec(compile(text, "rung", "exec"), module.__dict__)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=40, help="tasks with sampled knobs (seeds 0..N-1)")
    parser.add_argument("--every-setting", action="store_true", help="one task per knob setting instead")
    parser.add_argument("--env", help="only this environment's tasks, e.g. CartPole-v1")
    parser.add_argument("--twist", help="only this twist's tasks, e.g. action_delay")
    parser.add_argument("--lakes", action="store_true", help="list the FrozenLake maps fit for each twist (LAKES)")
    args = parser.parse_args()
    if args.lakes:
        print(json.dumps(good_lakes()))
        return
    knob_sets = every_setting() if args.every_setting else [rl_control.sample_knobs(random.Random(s))
                                                            for s in range(args.tasks)]
    knob_sets = [k for k in knob_sets if args.env in (None, k["env"]) and args.twist in (None, k["twist"])]
    failures = 0
    with tempfile.TemporaryDirectory() as root:
        for seed, knobs in enumerate(knob_sets):
            draft = rl_control.build(None, None, knobs, seed, f"rl-check-{seed}")
            report = check(write_program_task(draft, Path(root) / draft.task_id), knobs)
            failures += bool(report["problems"])
            print(json.dumps(report), flush=True)
    print(f"{failures} of {len(knob_sets)} tasks with problems")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
