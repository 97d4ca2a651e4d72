"""A bench's numbers: MLGym's two score tables, AUP over one shared tau, performance-profile plots, report.md.

Per task and agent, over its runs, both tables on one split, with the baseline's score on that split:
- best attempt: the best of every score on the task's attempt split in any run: the validation split
  (the scores of `validate`) where the task has one, else the test split (MLGym's tasks, where `validate`
  and `submit` both score test, so this is MLGym's best attempt); baseline: the baseline on that split;
- best submission: the best over runs of the final test score (MLGym's last submission); baseline: the
  baseline's test score.
A SynthML task's `validate` scores the validation split and `submit` the hidden test split, so a table that
mixed them would compare a validation score with a test baseline. Runs with an infra error are left out
(they are not the agent's failure); an agent with no such score on a task has an empty cell.
"""

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthml.agents.trajectory import Trajectory
from synthml.benchmarks.aup import BASELINE, TASK, Comparison, compare, plot_profiles
from synthml.benchmarks.bench_config import BenchConfig
from synthml.errors import SynthMLError
from synthml.tasks.selection import TaskRef

REPORT = "report.md"
TABLES = {"best_attempt": "Best attempt", "best_submission": "Best submission"}
ERRORS_SHOWN = 30
SPLIT_RULE = ("Best attempt is the best score of any run on the task's attempt split (its validation split, scored "
              "by `validate`, where it has one, else the test split, which MLGym's `validate` and `submit` both "
              "score), against the baseline on that split; best submission is the best over runs of the final "
              "test score, against the test baseline.")

BASELINE_AGENT_NOTE = (f"In the tables and AUP, `{BASELINE}` is the task's recorded baseline score (MLGym's column) "
                       f"and `{BASELINE}_agent` the scripted `{BASELINE}` agent's runs.")


@dataclass(frozen=True)
class Report:
    path: Path
    tables: dict[str, pd.DataFrame]
    """best_attempt and best_submission, indexed by Task, a `baseline` column then one per agent."""
    minimize: list[str]
    """Tasks where lower is better."""
    comparison: Comparison | None
    """AUPs and profiles of both tables over one tau grid; None when AUP could not be computed."""
    aup_error: str | None
    plots: list[Path]

    def aups(self, table: str) -> dict[str, float]:
        return self.comparison.aups[list(TABLES).index(table)] if self.comparison else {}


def column(agent: str) -> str:
    """An agent's column in the score tables and AUP: its name, unless that is `baseline`, which in MLGym's shape
    is the recorded baseline's column; elsewhere the report names agents by their own names."""
    return f"{agent}_agent" if agent == BASELINE else agent


def attempt_scores(trajectory: Trajectory, task: TaskRef) -> list[float]:
    """The run's primary scores on the task's attempt split, in order: its `validate` scores where the task has a
    validation split, else every validate and submit score (all on test)."""
    return _primary([r.metrics for r in trajectory.scores if task.attempt_split == "test" or r.split == "validation"],
                    trajectory.metric)


def final_score(trajectory: Trajectory) -> float | None:
    """The primary score of the run's final (test) submission; None where it did not score."""
    tests = _primary([r.metrics for r in trajectory.scores if r.split == "test"], trajectory.metric)
    return tests[-1] if tests else None


def agent_scores(task: TaskRef, agent: str, trajectories: Sequence[Trajectory]) -> tuple[list[float], list[float]]:
    """The agent's runs on the task (infra failures left out): each run's best score on the attempt split, and
    each run's final test score (a run with none is left out of that list)."""
    runs = [t for t in trajectories if t.task_id == task.id and t.agent == agent and t.task_version == task.version
            and not t.infra_error]
    attempts = [_best(scores, task.direction) for scores in (attempt_scores(t, task) for t in runs) if scores]
    finals = [score for score in map(final_score, runs) if score is not None]
    return attempts, finals


def score_tables(config: BenchConfig, trajectories: Sequence[Trajectory]) -> dict[str, pd.DataFrame]:
    """best_attempt and best_submission in MLGym's shape (NaN = missing), each with its split's baseline."""
    index = pd.Index([task.id for task in config.tasks], name=TASK)
    columns = [BASELINE, *(column(agent) for agent in config.agents)]
    tables = {name: pd.DataFrame(np.nan, index=index, columns=columns, dtype=float) for name in TABLES}
    attempt, submission = tables["best_attempt"], tables["best_submission"]
    for task in config.tasks:
        attempt.at[task.id, BASELINE] = _nan(task.attempt_baseline)
        submission.at[task.id, BASELINE] = _nan(task.baseline)
        for agent in config.agents:
            attempts, finals = agent_scores(task, agent, trajectories)
            if attempts:
                attempt.at[task.id, column(agent)] = _best(attempts, task.direction)
            if finals:
                submission.at[task.id, column(agent)] = _best(finals, task.direction)
    return tables


def write_report(out: Path, config: BenchConfig, trajectories: Sequence[Trajectory],
                 wall_seconds: float | None = None) -> Report:
    """Write the CSVs, the profile PNGs and report.md into `out`; `trajectories`: one per job (see `latest`)."""
    out = Path(out)
    tables = score_tables(config, trajectories)
    minimize = [task.id for task in config.tasks if task.direction < 0]
    for name, table in tables.items():
        table.to_csv(out / f"{name}.csv", index_label=TASK, na_rep="")
    comparison, error, plots = None, None, []
    try:
        comparison = compare(list(tables.values()), minimize)
    except SynthMLError as e:
        error = str(e)
    if comparison is not None:
        for (name, title), profile in zip(TABLES.items(), comparison.profiles, strict=True):
            plots.append(plot_profiles(profile, comparison.taus, out / f"{name}.png",
                                       f"{title}, {len(config.tasks)} task(s)"))
    report = Report(out / REPORT, tables, minimize, comparison, error, plots)
    report.path.write_text(render(report, config, trajectories, wall_seconds))
    return report


def render(report: Report, config: BenchConfig, trajectories: Sequence[Trajectory],
           wall_seconds: float | None) -> str:
    sections = [_setup(config), _aup(report), _per_task(config, trajectories), _skipped(config),
                _exits(config, trajectories), _infra(trajectories), _time(config, trajectories, wall_seconds)]
    return "# Bench report\n\n" + "\n".join(section for section in sections if section)


def aup_command_line(report: Report) -> str:
    """The `synthml aup` call that recomputes the report's AUP table from its CSVs."""
    minimize = f' --minimize "{",".join(report.minimize)}"' if report.minimize else ""
    return f"synthml aup {' '.join(f'{name}.csv' for name in TABLES)}{minimize}"


def _setup(config: BenchConfig) -> str:
    lines = ["## Setup", "",
             f"- agents: {', '.join(config.agents)}; {config.runs} run(s) each per task",
             f"- tasks: {len(config.tasks)} ({sum(t.direction < 0 for t in config.tasks)} lower-is-better)"
             + (f"; {len(config.skipped)} skipped (see Skipped tasks)" if config.skipped else ""),
             f"- sandbox: {config.sandbox.type}; max steps: {config.max_steps}; workers: {config.workers}",
             "- machine: " + (", ".join(f"{key} {value}" for key, value in config.machine.items()) or "unknown"),
             f"- started: {config.started_at:%Y-%m-%d %H:%M:%S} UTC"]
    if config.llm:
        lines.append(f"- llm: {config.llm.model} at {config.llm.base_url or 'the OpenAI API'}")
    return "\n".join(lines) + "\n"


def _aup(report: Report) -> str:
    lines = ["## AUP", ""]
    if report.comparison is None:
        return "\n".join([*lines, f"AUP could not be computed: {report.aup_error}", ""])
    models = list(report.tables["best_attempt"].columns)
    attempt, submission = report.aups("best_attempt"), report.aups("best_submission")
    lines += ["| model | best attempt | best submission |", "|---|---:|---:|"]
    lines += [f"| {model} | {attempt[model]:.3f} | {submission[model]:.3f} |"
              for model in sorted(models, key=lambda m: (-submission[m], -attempt[m], m))]
    lines += ["", f"tau max {report.comparison.tau_max:.1f}, shared by both tables (a model best on every task "
              f"scores {report.comparison.tau_max:.3f}). Recompute: `{aup_command_line(report)}`", ""]
    lines += [f"![{TABLES[plot.stem]} performance profile]({plot.name})" for plot in report.plots]
    lines += ["", "Tables: [best_attempt.csv](best_attempt.csv), [best_submission.csv](best_submission.csv). "
              f"{SPLIT_RULE}", ""]
    if column(BASELINE) in models:
        lines += [BASELINE_AGENT_NOTE, ""]
    return "\n".join(lines)


def _per_task(config: BenchConfig, trajectories: Sequence[Trajectory]) -> str:
    lines = ["## Scores per task", "",
             "Best attempt is on the attempt split, beside the baseline there; best submission, mean ± std (over "
             "runs) and runs scored are of the final test score, beside the test baseline.", "",
             "| task | metric | agent | attempt split | baseline there | best attempt | test baseline | "
             "best submission | mean ± std | runs scored |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for task in config.tasks:
        arrow = "↓" if task.direction < 0 else "↑"
        for agent in config.agents:
            attempts, finals = agent_scores(task, agent, trajectories)
            best_attempt = _best(attempts, task.direction) if attempts else None
            best_final = _best(finals, task.direction) if finals else None
            lines.append(f"| {task.id} | {task.metric} {arrow} | {agent} | {task.attempt_split} | "
                         f"{_number(task.attempt_baseline)} | {_number(best_attempt)} | {_number(task.baseline)} | "
                         f"{_number(best_final)} | {_spread(finals)} | {len(finals)}/{config.runs} |")
    return "\n".join(lines) + "\n"


def _skipped(config: BenchConfig) -> str:
    if not config.skipped:
        return ""
    lines = ["## Skipped tasks", "", f"{len(config.skipped)} task(s) named by --tasks do not run here:", ""]
    lines += [f"- {task.id}{f' ({task.config})' if task.config else ''}: {task.reason}" for task in config.skipped]
    return "\n".join(lines) + "\n"


def _exits(config: BenchConfig, trajectories: Sequence[Trajectory]) -> str:
    counts = {agent: Counter("infra_error" if t.infra_error else t.exit_status or "none"
                             for t in trajectories if t.agent == agent) for agent in config.agents}
    statuses = sorted({status for counter in counts.values() for status in counter})
    jobs = len(config.tasks) * config.runs
    lines = ["## Exit statuses", "", "| agent | " + " | ".join([*statuses, "not run"]) + " |",
             "|---|" + "---:|" * (len(statuses) + 1)]
    lines += [f"| {agent} | " + " | ".join([*(str(counts[agent][s]) for s in statuses),
                                            str(jobs - sum(counts[agent].values()))]) + " |"
              for agent in config.agents]
    return "\n".join(lines) + "\n"


def _infra(trajectories: Sequence[Trajectory]) -> str:
    failed = [t for t in trajectories if t.infra_error]
    lines = ["## Infra errors", ""]
    if not failed:
        return "\n".join([*lines, "None.", ""])
    lines += [f"{len(failed)} job(s) failed for reasons outside the agent; they are not scored and run again "
              "when the bench is started again.", ""]
    lines += [f"- {t.agent} / {t.task_id} / run {t.run}: {t.infra_error.strip().splitlines()[0][:300]}"
              for t in failed[:ERRORS_SHOWN]]
    if len(failed) > ERRORS_SHOWN:
        lines.append(f"- ... and {len(failed) - ERRORS_SHOWN} more (see trajectories.jsonl)")
    return "\n".join(lines) + "\n"


def _time(config: BenchConfig, trajectories: Sequence[Trajectory], wall_seconds: float | None) -> str:
    lines = ["## Time", ""]
    if wall_seconds is not None:
        lines.append(f"- wall time of this invocation: {wall_seconds:.1f} s with {config.workers} worker(s)")
    for agent in config.agents:
        seconds = [t.seconds for t in trajectories if t.agent == agent and t.seconds is not None]
        if seconds:
            lines.append(f"- {agent}: {sum(seconds):.1f} s in {len(seconds)} episode(s), "
                         f"{statistics.mean(seconds):.1f} s each on average")
    return "\n".join(lines) + "\n"


def _best(values: Sequence[float], direction: int) -> float:
    return min(values) if direction < 0 else max(values)


def _primary(metrics: Sequence[dict[str, float]], metric: str) -> list[float]:
    values = (scores.get(metric) for scores in metrics)
    return [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]


def _nan(value: float | None) -> float:
    return np.nan if value is None else value


def _number(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}"
