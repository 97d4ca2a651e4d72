"""Scoring a workspace: in its own sandbox, on a view assembled from the pristine task.

The view holds the pristine workspace, the submission files copied out of the agent's workspace
(symlinks never followed) and, for the test split, the hidden files. It is mounted read-only, so
deleting, editing or replacing `evaluate.py` in the workspace changes nothing. Metrics come only
from the evaluator's JSON.
"""

import json
import math
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from synthml.envs.sandbox import Mounts, Output, Sandbox
from synthml.envs.sandbox.config import SandboxConfig, make_sandbox
from synthml.envs.sandbox.files import remove_tree
from synthml.envs.workspace import link_tree, pristine_workspace
from synthml.task_bank.task import Task

Split = Literal["validation", "test"]
NOT_FOUND = ("Submission artefact not found. You have to produce a valid submission artefact as "
             "described in the task description to validate your results.")
TAIL = 2000


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float] | None
    observation: str
    status: Literal["ok", "submission_not_found", "evaluation_error"]
    submission: str | None = None


def evaluate(task: Task, agent: Sandbox, split: Split, *, sandbox: "str | dict | SandboxConfig",
             runtime: Path | None, scratch: Path) -> Evaluation:
    """Score what the agent's workspace holds on `split` (validation: what `validate` uses)."""
    view = scratch / f"evaluation-{split}"
    remove_tree(view)
    try:
        found = _stage(task, agent, view, split)
        artefact = None if task.config.validation_split else _mlgym_artefact(task, view)
        if not found or (not task.config.validation_split and artefact is None):
            return Evaluation(None, NOT_FOUND, "submission_not_found")  # MLGym's class would not find it either
        submission = ", ".join(found)
        command = evaluation_command(task, split, artefact)
        if command is None:
            return Evaluation(None, _unsupported(task), "evaluation_error", submission)
        evaluator = make_sandbox(sandbox, Mounts(workspace=view, read_only=True, runtime=runtime))
        try:
            out = evaluator.run(command, timeout=task.training_timeout)
        finally:
            evaluator.close()
    finally:
        remove_tree(view)
    return _result(task, out, submission)


def evaluation_command(task: Task, split: Split, artefact: str | None) -> str | None:
    """SynthML tasks take `--split`; MLGym tasks are called as MLGym's task classes call them, with
    the artefact those classes find."""
    script = task.config.evaluation_paths[0]  # relative: every sandbox starts in its workspace
    if task.config.validation_split:
        name = task.config.validation_split if split == "validation" else "test"
        return f"python {script} --split {shlex.quote(name)}"
    entry, argument = task.config.task_entrypoint, artefact
    if entry == "CSVSubmissionTasks":
        return f"python {script} --submission_file {argument}"
    if entry == "ModelSubmissionTasks":
        return f"python {script} --config_fname {argument}"
    return f"python {script}" if entry == "PythonSubmissionTasks" else None


def parse_metrics(output: str) -> dict[str, float]:
    """The last line of the output that is a JSON object of numbers; ValueError otherwise."""
    for line in reversed(output.strip().splitlines()):
        if line.strip().startswith("{"):
            metrics = json.loads(line)
            if not isinstance(metrics, dict) or not metrics:
                raise ValueError("the evaluator's JSON is not a non-empty object")
            bad = [k for k, v in metrics.items() if isinstance(v, bool) or not isinstance(v, int | float)
                   or not math.isfinite(v)]
            if bad:
                raise ValueError(f"metric(s) {', '.join(bad)} are not finite numbers")
            return {k: float(v) for k, v in metrics.items()}
    raise ValueError("the evaluator printed no JSON line of metrics")


def _stage(task: Task, agent: Sandbox, view: Path, split: Split) -> list[str]:
    """Assemble the view; returns the submission files found (empty: nothing to score)."""
    pristine = pristine_workspace(task)
    scores_test = split == "test" or not task.config.validation_split  # MLGym's validate scores test too
    if task.submission_files:
        link_tree(pristine, view)
        found = [f for f in task.submission_files if _fetch(agent, f, view)]
        if scores_test and task.submission_files[0] not in found:
            return []
    else:  # MLGym's Python and LM tasks: the evaluator imports the workspace's code
        view.mkdir(parents=True)
        agent.download(".", view)
        for entry in (*task.config.evaluation_paths, "data"):
            _replace(view / entry, pristine / entry)
        found = ["the workspace"]
    if scores_test:
        for hidden in task.hidden_files:
            _replace(view / hidden, task.path(hidden))
    return found


def _fetch(agent: Sandbox, relative: str, view: Path) -> bool:
    """The agent's version of a submission file replaces any pristine one."""
    remove_tree(view / relative)
    return agent.download(relative, view / relative)


def _replace(dest: Path, source: Path) -> None:
    remove_tree(dest)
    if source.is_dir():
        link_tree(source, dest)
    elif source.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def _mlgym_artefact(task: Task, view: Path) -> str | None:
    """What MLGym's task class passes its evaluator: submission.csv, the first YAML, or "" (nothing)."""
    entry = task.config.task_entrypoint
    if entry == "CSVSubmissionTasks":
        return "submission.csv" if (view / "submission.csv").is_file() else None
    if entry == "ModelSubmissionTasks":
        return _first_yaml(view)
    return ""


def _first_yaml(root: Path) -> str | None:
    """Iterative, so a deeply nested checkpoints/ folder cannot exhaust the recursion limit."""
    found, pending = [], [root]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.name.endswith(".yaml") and entry.is_file(follow_symlinks=False):
                    found.append(str(Path(entry.path).relative_to(root)))
    return min(found) if found else None


def _unsupported(task: Task) -> str:
    return (f"{task.config.task_entrypoint} evaluation needs GPUs and torchrun, which this sandbox does not "
            "provide; run this task on a GPU machine with a sandbox that exposes the GPUs.")


def _result(task: Task, out: Output, submission: str) -> Evaluation:
    tail = out.output[-TAIL:]
    if out.timed_out:
        return Evaluation(None, f"Evaluation timed out after {task.training_timeout} s.\n{tail}",
                          "evaluation_error", submission)
    if out.exit_code != 0:
        return Evaluation(None, f"Evaluation failed (exit code {out.exit_code}):\n{tail}", "evaluation_error",
                          submission)
    try:
        metrics = parse_metrics(out.output)
    except (ValueError, RecursionError) as e:  # the output is the evaluator's, and agent code may write it
        return Evaluation(None, f"Failed to decode metrics from evaluation script ({e}). Output:\n{tail}",
                          "evaluation_error", submission)
    if task.primary.name not in metrics:
        return Evaluation(None, f"The evaluator's metrics lack the primary metric '{task.primary.name}': "
                          f"{metrics}", "evaluation_error", submission)
    return Evaluation(metrics, "", "ok", submission)
