"""Scoring a workspace: in its own sandbox, on a view assembled from the pristine task.

The view holds the pristine workspace, the submission files copied out of the agent's workspace
(symlinks never followed) and, for the test split, the hidden files (and the answers MLGym ships in
a known task's data/, which never reach the agent's workspace). It is mounted read-only, so
deleting, editing or replacing `evaluate.py` in the workspace changes nothing. The evaluator's
command is an argv list, so no name the agent chose is ever shell syntax. Where the evaluator
imports the agent's code (MLGym's Python-submission tasks), that code runs in a sandbox of its own
and the evaluator reaches it through stand-in modules (`submission_proxy.py`). Metrics come only from
the evaluator's JSON.
"""

import contextlib
import json
import math
import os
import shlex
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from synthml.envs.sandbox import Mounts, Output, Sandbox
from synthml.envs.sandbox.config import SandboxConfig
from synthml.envs.sandbox.files import remove_tree
from synthml.envs.submission_proxy import Beside, isolate_submission, run_beside_submission, server_command, supports
from synthml.envs.workspace import link_tree, pristine_workspace
from synthml.errors import CopyRefused
from synthml.tasks.mlgym import mlgym_answers
from synthml.tasks.task import Task

Split = Literal["validation", "test"]
NO_PIPE = ("This task's evaluator imports your code, which runs in a sandbox of its own joined to the evaluator by a "
           "pipe in a host folder; the swerex sandbox uploads copies instead. Evaluate this task with bwrap or docker.")
NOT_FOUND = ("Submission artefact not found. You have to produce a valid submission artefact as "
             "described in the task description to validate your results.")
TAIL = 2000


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float] | None
    observation: str
    status: Literal["ok", "submission_not_found", "evaluation_error"]
    submission: str | None = None
    instance_scores: tuple[float, ...] | None = None
    """Per-instance scores, where the evaluator printed them (program tasks: see task_bank/program.py)."""


def evaluate(task: Task, agent: Sandbox, split: Split, *, sandbox: SandboxConfig,
             runtime: Path | None, scratch: Path) -> Evaluation:
    """Score what the agent's workspace holds on `split` (validation: what `validate` uses)."""
    view, own = scratch / f"evaluation-{split}", scratch / f"submission-{split}"
    remove_tree(view)
    remove_tree(own)
    try:
        found = _stage(task, agent, view, split)
        artefact = None if task.config.validation_split else _mlgym_artefact(task, view)
        if not found or (not task.config.validation_split and artefact is None):
            return Evaluation(None, NOT_FOUND, "submission_not_found")  # MLGym's class would not find it either
        submission = ", ".join(found)
        command = evaluation_command(task, split, artefact)
        if command is None:
            return Evaluation(None, _unsupported(task), "evaluation_error", submission)
        runs_agent_code = task.config.task_entrypoint == "PythonSubmissionTasks"
        if runs_agent_code and not supports(sandbox):
            return Evaluation(None, NO_PIPE, "evaluation_error", submission)
        modules = _isolate(task, view, own, runtime) if runs_agent_code else []
        _stage_hidden(task, view, split)
        out = _score(task, command, modules, sandbox, runtime, view, own)
    except CopyRefused as e:  # from _stage: what the agent left is over a bound, which is its failure
        return Evaluation(None, f"Submission artefact not copied out for evaluation: {e}.", "submission_not_found")
    finally:
        remove_tree(view)
        remove_tree(own)
    return _result(task, out, submission)


def evaluation_command(task: Task, split: Split, artefact: str | None) -> str | None:
    """The evaluator's argv (see `evaluation_argv`) as the one shell word list a sandbox runs."""
    argv = evaluation_argv(task, split, artefact)
    return None if argv is None else shlex.join(argv)


def evaluation_argv(task: Task, split: Split, artefact: str | None) -> list[str] | None:
    """SynthML tasks take `--split`; MLGym tasks are called as MLGym's task classes call them, with
    the artefact those classes find (a name the agent chose: one argument, `--flag=value`, so it can
    be neither shell syntax nor an option)."""
    script = task.config.evaluation_paths[0]  # relative: every sandbox starts in its workspace
    script = f"./{script}" if script.startswith("-") else script
    if task.config.validation_split:
        return ["python", script, "--split", task.config.validation_split if split == "validation" else "test"]
    entry = task.config.task_entrypoint
    if entry == "CSVSubmissionTasks":
        return ["python", script, f"--submission_file={artefact}"]
    if entry == "ModelSubmissionTasks":
        return ["python", script, f"--config_fname={artefact}"]
    return ["python", script] if entry == "PythonSubmissionTasks" else None


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


def parse_instance_scores(output: str) -> tuple[float, ...] | None:
    """The finite numbers of the last `{"instance_scores": [...]}` line, if any and well formed."""
    for line in reversed(output.strip().splitlines()):
        if line.startswith('{"instance_scores"'):
            try:
                scores = json.loads(line)["instance_scores"]
            except (ValueError, KeyError, TypeError, RecursionError):
                return None
            valid = isinstance(scores, list) and all(isinstance(v, int | float) and not isinstance(v, bool)
                                                     and math.isfinite(v) for v in scores)
            return tuple(map(float, scores)) if valid and scores else None
    return None


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
    return found


def _stage_hidden(task: Task, view: Path, split: Split) -> None:
    """The hidden files, and the answers MLGym ships in a known task's data/, where the evaluator reads them."""
    if split == "test" or not task.config.validation_split:  # MLGym's validate scores test too
        for hidden in task.hidden_files:
            _replace(view / hidden, task.path(hidden))
        for relative, source in mlgym_answers(task).items():
            _replace(view / relative, source)


def _isolate(task: Task, view: Path, own: Path, runtime: Path | None) -> list[str]:
    """For a task whose evaluator imports the agent's code: that code leaves the view for `own`."""
    entries = list(task.submission_files) or ["."]
    kept = {*task.config.evaluation_paths, "data"}  # the pristine copies, in the whole-workspace case
    return isolate_submission(view, own, entries, kept, task.config.evaluation_paths[0], runtime)


def _score(task: Task, command: str, modules: list[str], sandbox: SandboxConfig,
           runtime: Path | None, view: Path, own: Path) -> Beside:
    if modules:
        return run_beside_submission(sandbox, runtime, view, own, command,
                                     server_command(task.config.evaluation_paths[0], modules), task.training_timeout)
    evaluator = sandbox.build(Mounts(workspace=view, read_only=True, runtime=runtime))
    try:
        return Beside(evaluator.run(command, timeout=task.training_timeout))
    finally:
        evaluator.close()


def _fetch(agent: Sandbox, relative: str, view: Path) -> bool:
    """The agent's version of a submission file replaces any pristine one."""
    remove_tree(view / relative)
    return agent.download(relative, view / relative)


def _replace(dest: Path, source: Path) -> None:
    remove_tree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _writable(dest.parent):
        if source.is_dir():
            link_tree(source, dest)
        elif source.exists():
            shutil.copy2(source, dest)


@contextlib.contextmanager
def _writable(folder: Path) -> Iterator[None]:
    """The view's copy of a folder the task made read-only (MLGym's data/, where its answers go), opened
    to the host for one write (root needs no such thing)."""
    mode = stat.S_IMODE(folder.stat().st_mode)
    os.chmod(folder, mode | stat.S_IWUSR)
    try:
        yield
    finally:
        os.chmod(folder, mode)


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


def _result(task: Task, beside: Beside, submission: str) -> Evaluation:
    out = beside.evaluator
    tail = out.output[-TAIL:] + _submission_tail(beside.submission)
    if out.timed_out:
        return Evaluation(None, f"Evaluation timed out after {task.training_timeout} s.\n{tail}",
                          "evaluation_error", submission)
    if out.exit_code != 0:
        return Evaluation(None, f"Evaluation failed (exit code {out.exit_code}):\n{tail}", "evaluation_error",
                          submission)
    try:
        metrics = parse_metrics(out.output)  # the evaluator's alone: the agent's code prints elsewhere
    except (ValueError, RecursionError) as e:
        return Evaluation(None, f"Failed to decode metrics from evaluation script ({e}). Output:\n{tail}",
                          "evaluation_error", submission)
    if task.primary.name not in metrics:
        return Evaluation(None, f"The evaluator's metrics lack the primary metric '{task.primary.name}': "
                          f"{metrics}", "evaluation_error", submission)
    return Evaluation(metrics, "", "ok", submission, parse_instance_scores(out.output))


def _submission_tail(out: Output | None) -> str:
    """What the submission's own process printed (its tracebacks), shown when the evaluation failed."""
    if out is None or not out.output.strip():
        return ""
    return f"\n[output of your submission's own process]\n{out.output[-TAIL:]}"
