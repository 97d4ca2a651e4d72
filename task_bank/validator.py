"""The validator every task passes before it enters a bank, whoever wrote it (a family, an LLM, a stranger).

It climbs the task's ladder, each rung a solution run in the sandbox and scored on the validation and
test splits: `trivial` (a constant, a random policy), `baseline` (what the agent starts from),
`default` (a fixed cheap solution a practitioner tries first) and `reference` (the author's stronger
one). Checks, in order, with a reason recorded for each rejection: the schema (and the SynthML fields
a trustworthy task needs); no visible file carries the test labels; the baseline runs within the
task's time limit and the evaluator prints the same metrics twice; enough test rows or instances; the
baseline beats the trivial rung; the reference beats the baseline by a margin (headroom) and beats the
default on both splits with a 95% bootstrap interval above zero (else the task is saturated: a default
already solves it); submitting the visible columns most like the labels does not beat the baseline, nor
does the lookup of the public source table's rows nearest to the test rows, unless it is not reliably better
than a nearest-neighbour model on the training rows (`_check_lookup`). All task code runs in the sandbox;
the host only reads files.
"""

import math
import shlex
import tempfile
import time
from pathlib import Path
from typing import Literal

import yaml

from synthml.envs.evaluation import Split
from synthml.envs.sandbox.config import SandboxConfig, SandboxSpec, sandbox_config
from synthml.envs.session import Session, runtime_for
from synthml.envs.workspace import forget_pristine_workspace, pristine_workspace
from synthml.errors import TaskError
from synthml.task_bank.host_scorer import host_scorer
from synthml.task_bank.leakage import cheating_probes, fingerprint_leaks, hidden_labels
from synthml.task_bank.lookup import lookup_probes, neighbour_probe
from synthml.task_bank.statistics import instance_gap, metric_gap, point_gap
from synthml.tasks.improvement import relative_improvement
from synthml.tasks.report import MARGIN, Interval, ProbeResult, Reason, ValidationReport
from synthml.tasks.task import TASK_YAML, Task, load_task, write_task_yaml

Rung = Literal["trivial", "baseline", "default", "reference"]
SPLITS: tuple[Split, ...] = ("validation", "test")
MIN_TEST = {"classification": 200, "regression": 200, "instances": 20}
"""Test rows (or a program task's instances) below which which of two solutions wins is mostly chance."""
TIERS = (0.02, 0.10)
"""Tier 1: the reference is less than 2% (relative) above the cheap default on test; 2: 2-10%; 3: more."""
NEAR_ZERO = math.nextafter(1e-9, math.inf)
"""Improvements over a baseline with |baseline| at most 1e-9 are absolute, not relative (the smallest float
above 1e-9, as `relative_improvement` divides from `epsilon` up)."""


def validate_task(task_dir: Path, *, sandbox: SandboxSpec = "bwrap", margin: float = MARGIN,
                  record: bool = True) -> ValidationReport:
    """Validate the task in `task_dir`; when accepted and `record`, write the baseline's and the reference's
    scores into its YAML.

    A rejected task is a result, not an error; only infrastructure failures (no sandbox) raise."""
    started = time.monotonic()
    report = ValidationReport(margin=margin)
    task = None
    try:
        task = _check(Path(task_dir), report, sandbox_config(sandbox))
    finally:
        report.seconds = round(time.monotonic() - started, 2)
        if task is not None:
            forget_pristine_workspace(task)  # recording the scores makes a new version anyway
    report.accepted = not report.rejections
    if report.accepted and record:
        _record_scores(Path(task_dir), report)
    return report


def _check(task_dir: Path, report: ValidationReport, sandbox: SandboxConfig) -> Task | None:
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
    with _Run(task, sandbox, runtime_for(task, sandbox)) as run:
        if not (run.climb("baseline", report) and _check_test_size(run, report) and run.climb("trivial", report)
                and _check_above_trivial(task, report)):
            return task
        if run.climb("default", report) and run.climb("reference", report):
            _check_headroom(task, report)
            _check_over_default(run, report)
            _probe(task, run, labels, report)
    return task


def schema_problems(task: Task) -> list[str]:
    """What a task needs beyond MLGym's schema so its scores can be trusted."""
    config, where = task.config, task.yaml_path
    needs = {"hidden_files": "the test labels or instances, kept from the agent", "validation_split": "the split "
             "`validate` scores", "baseline_paths": "the baseline script", "reference_solution": "a stronger "
             "solution, to measure headroom", "default_solution": "a fixed cheap default (gradient boosting, TF-IDF "
             "+ linear, seasonal naive, a textbook heuristic) the reference must beat", "trivial_solution": "the "
             "ladder's bottom rung (a constant, a random policy) the baseline must beat", "metrics": "metric names "
             "and directions"}
    problems = [f"{where}: field '{field}' is empty; it must name {what}" for field, what in needs.items()
                if not getattr(config, field)]
    if not config.evaluation_read_only:
        problems.append(f"{where}: field 'evaluation_read_only' must be true so the agent cannot edit the scorer")
    if config.task_entrypoint not in ("CSVSubmissionTasks", "PythonSubmissionTasks"):
        problems.append(f"{where}: field 'task_entrypoint': generated tasks are CSVSubmissionTasks (predictions) "
                        "or PythonSubmissionTasks (code the evaluator calls)")
    elif config.task_entrypoint == "PythonSubmissionTasks" and len(task.submission_files) != 1:
        problems.append(f"{where}: field 'submission_files' must name the one module the evaluator imports")
    return problems


class _Run:
    """One sandboxed workspace of the task, where the ladder's rungs run and are evaluated in turn."""

    def __init__(self, task: Task, sandbox: SandboxConfig, runtime: Path | None) -> None:
        self.session = Session(task, sandbox, runtime)
        self.task = task
        self.program = task.config.task_entrypoint == "PythonSubmissionTasks"
        self.scorer = host_scorer(task)
        self.samples: dict[tuple[Rung, Split], object] = {}
        """What the bootstrap resamples, by rung and split: instance scores, or (truth, predictions) arrays."""

    def __enter__(self) -> "_Run":
        return self

    def __exit__(self, *_) -> None:
        self.session.close()

    def climb(self, rung: Rung, report: ValidationReport) -> bool:
        """Put the rung's solution in place, run it, and score it on each split (the baseline twice)."""
        if failure := self._install(rung):
            report.reject(_FAILED[rung], f"{rung}: {failure}")
            return False
        for split in SPLITS:
            evaluation = self.session.evaluate(split)
            if evaluation.metrics is None:
                report.reject("evaluation_failed" if rung == "baseline" else _FAILED[rung],
                              f"{rung}, {split} split: {evaluation.observation}")
                return False
            again = self.session.evaluate(split).metrics if rung == "baseline" else evaluation.metrics
            if again != evaluation.metrics:  # the evaluator's determinism, once
                report.reject("nondeterministic", f"{rung}, {split} split: the evaluator gave {evaluation.metrics}, "
                              f"then {again}")
                return False
            if self.program and evaluation.instance_scores is None:
                report.reject("evaluation_failed", f"{rung}, {split} split: the evaluator printed no "
                              '`{"instance_scores": [...]}` line (see task_bank/program.py)')
                return False
            getattr(report, rung)[split] = evaluation.metrics
            self.samples[rung, split] = evaluation.instance_scores if self.program else self._predictions(split)
        return True

    def _install(self, rung: Rung) -> str | None:
        """None once the rung's solution is in place (a program's module written, a script's run), else why not."""
        config = self.task.config
        path = {"trivial": config.trivial_solution, "baseline": config.baseline_paths[0],
                "default": config.default_solution, "reference": config.reference_solution}[rung]
        if self.program:
            text = self.task.path(path).read_text() if rung != "baseline" else None
            if text is not None:  # kept out of the workspace: this copy no agent sees
                self.session.box.write_file(self.task.submission_files[0], text)
            return None
        if rung != "baseline":
            self.session.box.write_file(path, self.task.path(path).read_text())
        return self.execute(shlex.join(["python", path]))

    def execute(self, command: str) -> str | None:
        """None on success, else what went wrong."""
        out = self.session.box.run(command, timeout=self.task.training_timeout)
        if out.timed_out:
            return f"`{command}` ran past the task's time limit of {self.task.training_timeout} s"
        if out.exit_code != 0:
            return f"`{command}` failed with exit code {out.exit_code}:\n{out.output[-1500:]}"
        return None

    def _predictions(self, split: Split):
        """(truth, predictions) as the host's scorer reads them, or None where it cannot."""
        if self.scorer is None:
            return None
        with tempfile.TemporaryDirectory() as scratch:
            mine = Path(scratch) / "predictions.csv"
            if not self.session.box.download(self.scorer.prediction_file(split), mine):
                return None
            truth = self.task.path(self.scorer.truth_file(split))
            try:
                return self.scorer.arrays(truth, mine)
            except (SystemExit, ValueError, OSError):  # the sandbox's evaluator judges malformed files
                return None

    def gap(self, split: Split, first: Rung, second: Rung, report: ValidationReport) -> Interval:
        """`second` over `first` on `split`, with a bootstrap interval where the samples allow one."""
        name, sign = self.task.primary.name, self.task.primary.sign
        a, b = self.samples.get((first, split)), self.samples.get((second, split))
        try:
            if self.program and a and b:
                return instance_gap(a, b, sign)
            if self.scorer is not None and a is not None and b is not None:
                return metric_gap(self.scorer.metric(name), a[0], a[1], b[1], sign)
        except (ValueError, KeyError, SystemExit, ZeroDivisionError, FloatingPointError):
            pass  # a metric the host cannot resample: the point estimate only
        return point_gap(getattr(report, first)[split][name], getattr(report, second)[split][name], sign)


_FAILED: dict[Rung, Reason] = {"trivial": "trivial_failed", "baseline": "baseline_failed",
                               "default": "default_failed", "reference": "reference_failed"}


def _check_test_size(run: _Run, report: ValidationReport) -> bool:
    """Enough test rows (by the evaluator's kind) or instances for a ranking of solutions to mean something."""
    if run.program:
        kind, size = "instances", len(run.samples.get(("baseline", "test")) or ())
    elif run.scorer is not None:
        kind, size = run.scorer.kind, _rows(run, "test")
    else:
        kind, size = "classification", _rows(run, "test")
    report.test_size = size
    minimum = MIN_TEST.get(kind, MIN_TEST["classification"])
    if size < minimum:
        report.reject("small_test", f"the test split has {size} {'instances' if run.program else 'rows'}; a "
                      f"{kind} task needs at least {minimum} for its scores to rank solutions")
        return False
    return True


def _rows(run: _Run, split: Split) -> int:
    sample = run.samples.get(("baseline", split))
    if sample is not None:
        return len(sample[0])
    labels = hidden_labels(run.task)
    return max((len(label.by_id) for label in labels), default=0)


def _check_above_trivial(task: Task, report: ValidationReport) -> bool:
    """The baseline must beat the trivial rung on both splits: else the task's scale is broken (a leaked
    constant, a degenerate split) or its baseline is."""
    name, sign = task.primary.name, task.primary.sign
    for split in SPLITS:
        baseline, trivial = report.baseline[split][name], report.trivial[split][name]
        if sign * (baseline - trivial) <= 0:
            report.reject("baseline_not_above_trivial", f"{split} split: the baseline scores {name}={baseline:.6g}, "
                          f"no better than the trivial solution's {trivial:.6g}")
            return False
    return True


def _check_headroom(task: Task, report: ValidationReport) -> None:
    name = task.primary.name
    baseline, reference = report.baseline["test"][name], report.reference["test"][name]
    report.headroom = improvement(baseline, reference, task.primary.sign)
    if report.headroom < report.margin:
        report.reject("no_headroom", f"the reference solution scores {name}={reference:.6g} against the "
                      f"baseline's {baseline:.6g}: {report.headroom:+.2%}, less than the {report.margin:.0%} required")


def _check_over_default(run: _Run, report: ValidationReport) -> None:
    """The reference must beat the cheap default on both splits, with 95% confidence; the test gap sets the tier."""
    name = run.task.primary.name
    for split in SPLITS:
        gap = report.gaps[split] = run.gap(split, "default", "reference", report)
        if not gap.positive:
            bounds = f" (95% interval {gap.low:+.4g} to {gap.high:+.4g})" if gap.low is not None else ""
            report.reject("saturated", f"{split} split: the reference's {name} is {gap.estimate:+.4g} over the cheap "
                          f"default's{bounds}, not reliably above it: a default model already does as well")
    test = improvement(report.default["test"][name], report.reference["test"][name], run.task.primary.sign)
    report.tier = 1 + sum(test >= bound for bound in TIERS)


def improvement(baseline: float, score: float, sign: int) -> float:
    """Direction-aware improvement of `score` over `baseline`, relative to |baseline| (absolute near 0)."""
    return relative_improvement(score, baseline, sign, epsilon=NEAR_ZERO)


def _probe(task: Task, run: _Run, labels, report: ValidationReport) -> None:
    """Submit the visible columns most like the labels (none may beat the baseline), then the public source
    table's lookup (see `_check_lookup`)."""
    name, baseline = task.primary.name, report.baseline["test"][task.primary.name]
    for probe in [] if run.program else cheating_probes(pristine_workspace(task), labels):
        score, _ = _submit(run, probe, report)
        if _beats(task, score, baseline):
            report.reject("leakage", f"submitting {probe.source} as the predictions scores {name}={score:.6g}, "
                          f"better than the baseline's {baseline:.6g}")
    _check_lookup(task, run, report)


def _check_lookup(task: Task, run: _Run, report: ValidationReport) -> None:
    """A task falls to a lookup of its public source table when the lookup's submission beats the baseline and
    beats a model that holds no table with a 95% paired bootstrap interval above zero: a nearest-neighbour model
    fit on the training rows (`neighbour_probe`), or for a forecasting program the task's reference. Where the
    target is simulated (`families/simulated.py`) the table holds no answer, and where a series is disguised
    (`families/disguise.py`) its values are not the table's: holding the table is then worth no more than what
    the visible data gives a model. Where no such model can be scored, beating the baseline is enough."""
    found = lookup_probes(task)
    if not found:
        return
    name, baseline = task.primary.name, report.baseline["test"][task.primary.name]
    score, sample = _submit(run, found[0], report)
    rival = _rival(task, run, report)
    edge = _edge(run, rival[1:], (score, sample)) if rival else None
    if not _beats(task, score, baseline) or (edge is not None and not edge.positive):
        return
    detail = (f"submitting the {found[0].source} (no model) scores {name}={score:.6g}, better than the baseline's "
              f"{baseline:.6g}")
    if edge is not None:
        bounds = f"95% interval {edge.low:+.4g} to {edge.high:+.4g}" if edge.low is not None else "no interval"
        detail += f", and {edge.estimate:+.4g} over {rival[0]} ({name}={rival[1]:.6g}; {bounds})"
    detail += (": the answers must be in no public table (simulate the target from the real columns, as "
               "families/simulated.py does, or disguise a series, as families/disguise.py does)")
    report.reject("lookup", detail)


def _rival(task: Task, run: _Run, report: ValidationReport) -> tuple[str, float | None, object] | None:
    """(what, test score, sample) of the model a lookup must not beat; None where there is none."""
    if run.program:
        return "the reference", report.reference["test"][task.primary.name], run.samples.get(("reference", "test"))
    neighbour = neighbour_probe(task)
    if neighbour is None:
        return None
    return ("a nearest-neighbour model on the training rows", *_submit(run, neighbour, report))


def _submit(run: _Run, probe, report: ValidationReport) -> tuple[float | None, object]:
    """Score the probe's submission on test in the sandbox, recorded in `report.probes`: (score, its sample: a
    program's instance scores or the host's (truth, predictions), None where there is none)."""
    run.session.box.write_file(run.task.submission_files[0], probe.submission)
    evaluation = run.session.evaluate("test")
    metrics = evaluation.metrics
    score = metrics.get(run.task.primary.name) if metrics else None
    report.probes.append(ProbeResult(source=probe.source, score=score))
    if score is None:
        return None, None
    return score, evaluation.instance_scores if run.program else run._predictions("test")


def _beats(task: Task, score: float | None, baseline: float) -> bool:
    return score is not None and improvement(baseline, score, task.primary.sign) > 0


def _edge(run: _Run, first: tuple[float | None, object], second: tuple[float | None, object]) -> Interval | None:
    """`second` over `first` on test, each (score, sample): a paired bootstrap interval over the rows where the host
    can score them, else the point gap; None where either has no score."""
    (first_score, a), (second_score, b) = first, second
    if first_score is None or second_score is None:
        return None
    name, sign = run.task.primary.name, run.task.primary.sign
    if run.program and a and b:
        return instance_gap(a, b, sign)
    if run.scorer is not None and a is not None and b is not None:
        try:
            return metric_gap(run.scorer.metric(name), a[0], a[1], b[1], sign)
        except (ValueError, KeyError, SystemExit, ZeroDivisionError, FloatingPointError):
            pass  # a metric the host cannot resample: the point estimate only
    return point_gap(first_score, second_score, sign)


def _record_scores(task_dir: Path, report: ValidationReport) -> None:
    path = task_dir / TASK_YAML
    fields = yaml.safe_load(path.read_text())
    fields["baseline_scores"] = [report.baseline["test"]]
    fields["baseline_validation_scores"] = [report.baseline["validation"]]
    fields["reference_scores"] = [report.reference["test"]]
    fields["reference_validation_scores"] = [report.reference["validation"]]
    write_task_yaml(path, fields)
