"""The validator every task passes before it enters a bank, whoever wrote it (a family or an LLM).

Checks, in order, with a reason recorded for each rejection: the schema (and the SynthML fields a
trustworthy task needs); no visible file carries the test labels; the baseline runs in the sandbox
within the task's time limit; the evaluator prints metrics for the validation and test splits, the
same numbers twice; the task's reference solution beats the baseline by a margin (headroom); and
submitting the visible columns most like the labels does not beat the baseline. All task code runs in
the sandbox; the host only reads files.
"""

import shlex
import time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from synthml.envs.evaluation import Split
from synthml.envs.sandbox.config import SandboxConfig
from synthml.envs.session import Session, runtime_for
from synthml.envs.workspace import forget_pristine_workspace, pristine_workspace
from synthml.errors import TaskError
from synthml.task_bank.leakage import cheating_probes, fingerprint_leaks, hidden_labels
from synthml.task_bank.task import TASK_YAML, Task, load_task, write_task_yaml

Reason = Literal["generation_failed", "schema", "baseline_failed", "evaluation_failed", "nondeterministic",
                 "reference_failed", "no_headroom", "leakage", "duplicate",
                 "dataset_unverified", "prepare_failed", "llm_failed"]
"""The last three come from the LLM pipeline: a proposed dataset nobody could verify, data preparation
code that failed, replies that never parsed."""
MARGIN = 0.02
SPLITS: tuple[Split, ...] = ("validation", "test")


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rejection(Record):
    reason: Reason = Field(description="Which check failed.")
    detail: str = Field(description="What exactly, naming the file or command.")


class ProbeResult(Record):
    source: str = Field(description="Visible file and column submitted as the predictions.")
    score: float | None = Field(description="Its primary score on the test split (None: the evaluator refused it).")


class ValidationReport(Record):
    task_id: str | None = Field(None, description="Id of the task, once its YAML parsed.")
    accepted: bool = Field(False, description="True when every check passed.")
    rejections: list[Rejection] = Field([], description="Every failed check, in the order found.")
    metric: str | None = Field(None, description="Primary metric.")
    direction: int | None = Field(None, description="+1 higher is better, -1 lower.")
    baseline: dict[str, dict[str, float]] = Field({}, description="Baseline metrics by split.")
    reference: dict[str, dict[str, float]] = Field({}, description="Reference solution metrics by split.")
    headroom: float | None = Field(None, description="Reference over baseline on test, relative to |baseline|.")
    margin: float = Field(MARGIN, description="Headroom required.")
    probes: list[ProbeResult] = Field([], description="Cheating probes and their scores.")
    seconds: float = Field(0.0, description="Wall time of the validation.")

    def reject(self, reason: Reason, detail: str) -> "ValidationReport":
        self.rejections.append(Rejection(reason=reason, detail=detail))
        return self


def validate_task(task_dir: Path, *, sandbox: "str | dict | SandboxConfig" = "bwrap", margin: float = MARGIN,
                  record: bool = True) -> ValidationReport:
    """Validate the task in `task_dir`; when accepted and `record`, write the baseline's scores into its YAML.

    A rejected task is a result, not an error; only infrastructure failures (no sandbox) raise."""
    started = time.monotonic()
    report = ValidationReport(margin=margin)
    task = None
    try:
        task = _check(Path(task_dir), report, sandbox)
    finally:
        report.seconds = round(time.monotonic() - started, 2)
        if task is not None:
            forget_pristine_workspace(task)  # recording the scores makes a new version anyway
    report.accepted = not report.rejections
    if report.accepted and record:
        _record_baseline(Path(task_dir), report)
    return report


def _check(task_dir: Path, report: ValidationReport, sandbox) -> Task | None:
    """Run the checks into `report`; returns the task, once it loaded."""
    try:
        task = load_task(task_dir)
    except TaskError as e:
        report.reject("schema", str(e))
        return None
    report.task_id, report.metric, report.direction = task.id, task.primary.name, task.primary.sign
    for problem in schema_problems(task):
        report.reject("schema", problem)
    if report.rejections:
        return task
    labels = hidden_labels(task)
    for leak in fingerprint_leaks(task, pristine_workspace(task), labels):
        report.reject("leakage", leak)
    runtime = runtime_for(task, sandbox)
    with _Run(task, sandbox, runtime) as run:
        if not _score(run, report, "baseline"):
            return task
    with _Run(task, sandbox, runtime) as run:
        if _score(run, report, "reference"):
            _check_headroom(task, report)
            _probe(task, run, labels, report)
    return task


def schema_problems(task: Task) -> list[str]:
    """What a task needs beyond MLGym's schema so its scores can be trusted."""
    config, where = task.config, task.yaml_path
    needs = {"hidden_files": "the test labels, kept from the agent", "validation_split": "the split `validate` "
             "scores", "baseline_paths": "the baseline script", "reference_solution": "a stronger solution, to "
             "measure headroom", "metrics": "metric names and directions"}
    problems = [f"{where}: field '{field}' is empty; it must name {what}" for field, what in needs.items()
                if not getattr(config, field)]
    if not config.evaluation_read_only:
        problems.append(f"{where}: field 'evaluation_read_only' must be true so the agent cannot edit the scorer")
    if task.config.task_entrypoint != "CSVSubmissionTasks":
        problems.append(f"{where}: field 'task_entrypoint': generated tasks are CSVSubmissionTasks")
    return problems


class _Run:
    """One sandboxed workspace of the task, for a solution's commands and its evaluations."""

    def __init__(self, task: Task, sandbox, runtime: Path | None) -> None:
        self.session = Session(task, sandbox, runtime)
        self.task = task

    def __enter__(self) -> "_Run":
        return self

    def __exit__(self, *_) -> None:
        self.session.close()

    def execute(self, command: str) -> str | None:
        """None on success, else what went wrong."""
        out = self.session.sandbox.run(command, timeout=self.task.training_timeout)
        if out.timed_out:
            return f"`{command}` ran past the task's time limit of {self.task.training_timeout} s"
        if out.exit_code != 0:
            return f"`{command}` failed with exit code {out.exit_code}:\n{out.output[-1500:]}"
        return None

    def evaluate(self, split: Split) -> tuple[dict[str, float] | None, str]:
        evaluation = self.session.evaluate(split)
        return evaluation.metrics, evaluation.observation


def _score(run: _Run, report: ValidationReport, who: Literal["baseline", "reference"]) -> bool:
    """Run the baseline or the reference solution, then evaluate each split (twice for the baseline)."""
    config = run.task.config
    script = config.baseline_paths[0] if who == "baseline" else config.reference_solution
    if who == "reference":  # kept out of the task's workspace; this one no agent sees
        run.session.sandbox.write_file(script, run.task.path(script).read_text())
    if failure := run.execute(shlex.join(["python", script])):
        report.reject(f"{who}_failed", f"{who}: {failure}")
        return False
    for split in SPLITS:
        first, observation = run.evaluate(split)
        if first is None:
            report.reject("evaluation_failed" if who == "baseline" else "reference_failed",
                          f"{who}, {split} split: {observation}")
            return False
        second = run.evaluate(split)[0] if who == "baseline" else first  # the evaluator's determinism, once
        if second != first:
            report.reject("nondeterministic", f"{who}, {split} split: the evaluator gave {first}, then {second}")
            return False
        getattr(report, who)[split] = first
    return True


def _check_headroom(task: Task, report: ValidationReport) -> None:
    name = task.primary.name
    baseline, reference = report.baseline["test"][name], report.reference["test"][name]
    report.headroom = improvement(baseline, reference, task.primary.sign)
    if report.headroom < report.margin:
        report.reject("no_headroom", f"the reference solution scores {name}={reference:.6g} against the "
                      f"baseline's {baseline:.6g}: {report.headroom:+.2%}, less than the {report.margin:.0%} required")


def improvement(baseline: float, score: float, sign: int) -> float:
    """Direction-aware improvement of `score` over `baseline`, relative to |baseline| (absolute near 0)."""
    gain = sign * (score - baseline)
    return gain / abs(baseline) if abs(baseline) > 1e-9 else gain


def _probe(task: Task, run: _Run, labels, report: ValidationReport) -> None:
    """Submit the visible columns most like the labels; none may beat the baseline."""
    name, baseline = task.primary.name, report.baseline["test"][task.primary.name]
    target = task.submission_files[0]
    for probe in cheating_probes(pristine_workspace(task), labels):
        run.session.sandbox.write_file(target, probe.submission)
        metrics, _ = run.evaluate("test")
        score = metrics.get(name) if metrics else None
        report.probes.append(ProbeResult(source=probe.source, score=score))
        if score is not None and improvement(baseline, score, task.primary.sign) > 0:
            report.reject("leakage", f"submitting {probe.source} as the predictions scores {name}={score:.6g}, "
                          f"better than the baseline's {baseline:.6g}")


def _record_baseline(task_dir: Path, report: ValidationReport) -> None:
    path = task_dir / TASK_YAML
    fields = yaml.safe_load(path.read_text())
    fields["baseline_scores"] = [report.baseline["test"]]
    fields["baseline_validation_scores"] = [report.baseline["validation"]]
    write_task_yaml(path, fields)
