"""`synthml bench`: every agent on every task, several runs each, in parallel; then tables, AUP and a report.

Each job (agent x task x run) plays one episode in its own env and appends its trajectory to
`OUT/trajectories.jsonl` as soon as it ends, beside MLGym's per-run files
`OUT/runs/<agent>/<task_id>/run_<k>/{results.json,<task_id>.traj}`. A job whose trajectory is already
in the JSONL (same agent and model, task id and version, run) is skipped, so a killed bench, started
again, runs only what is missing. An infrastructure failure (sandbox died, endpoint down, a crash in our code) is
recorded on its trajectory and reported apart: it is never scored as the agent's failure, and the job
runs again on the next start.

`--tasks` names a SynthML bank or an MLGym checkout; a checkout's tasks that cannot run here (GPU, download,
data not generated) are listed as skipped, with why, in the report.
"""

import json
import os
import platform
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from synthml.agents.agent import Agent
from synthml.agents.llm import OpenAIChatConfig
from synthml.agents.spec import AgentSpec, build_agent
from synthml.agents.trajectory import (
    Trajectory,
    append_trajectory,
    read_trajectories,
    results_json,
    to_swe_agent_traj,
)
from synthml.benchmarks.bench_config import BenchConfig
from synthml.benchmarks.report import Report, write_report
from synthml.envs.exit_status import INFRA_STATUS
from synthml.envs.mlgym_data import prepare_mlgym_data
from synthml.envs.sandbox.config import SandboxSpec, sandbox_config
from synthml.errors import SynthMLError
from synthml.io import write_atomic
from synthml.tasks.paths import confined
from synthml.tasks.selection import SkippedTask, TaskRef, resolve_tasks
from synthml.training.episodes import Episode, episode_id
from synthml.training.worker import RolloutWorker

AGENTS = ("baseline", "expert", "llm")
CONFIG = "bench.json"
TRAJECTORIES = "trajectories.jsonl"
RUNS = "runs"


@dataclass(frozen=True)
class Job:
    agent: str
    model: str | None
    """The llm agent's model (another model is another job); None for scripted agents."""
    task: TaskRef
    run: int

    @property
    def key(self) -> tuple:
        return self.agent, self.model, self.task.id, self.task.version, self.run

    @property
    def episode(self) -> Episode:
        """The job's episode: its run is the sample, and seeds the env's reset as MLGym's runs do."""
        task = self.task
        return Episode(episode_id=episode_id(task.id, task.version, self.run, self.run), task=task, sample=self.run,
                       seed=self.run)


def trajectory_key(trajectory: Trajectory) -> tuple:
    """The job a trajectory belongs to (as `Job.key`)."""
    return trajectory.agent, trajectory.model, trajectory.task_id, trajectory.task_version, trajectory.run


@dataclass(frozen=True)
class JobResult:
    job: Job
    status: Literal["ran", "skipped", "infra_error"]
    trajectory: Trajectory | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class BenchResult:
    out: Path
    config: BenchConfig
    jobs: list[JobResult] = field(default_factory=list)
    report: Report | None = None
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.jobs)

    @property
    def skipped_tasks(self) -> list[SkippedTask]:
        return self.config.skipped


def make_agent(name: str, llm: OpenAIChatConfig | None = None) -> Agent:
    """An agent by name (see `synthml.agents.spec`): baseline, expert, or llm over `llm`'s endpoint."""
    if name not in AGENTS:
        raise SynthMLError(f"--agents: unknown agent '{name}'; choose from {', '.join(AGENTS)}")
    if name == "llm" and llm is None:
        raise SynthMLError("--agents llm needs --llm-model (and --llm-base-url for a local server)")
    return build_agent(AgentSpec(name=name), llm)


def run_bench(tasks_spec: str | Path, agents: list[str], runs: int, out: Path, workers: int = 2,
              sandbox: SandboxSpec = "bwrap", max_steps: int = 50, llm_config: OpenAIChatConfig | None = None,
              prepare: bool = False, on_start: Callable[[int, int], None] | None = None,
              on_job: Callable[[JobResult], None] | None = None) -> BenchResult:
    """Play every agent x task x run not yet in OUT/trajectories.jsonl, `workers` at a time; write the report.

    `prepare` first makes an MLGym checkout's missing data with MLGym's helpers. `on_start(to_run, skipped)` is
    called once the jobs are known, `on_job(result)` as each one ends.
    """
    started = time.monotonic()
    config = _config(tasks_spec, agents, runs, workers, sandbox, max_steps, llm_config, prepare)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG).write_text(config.model_dump_json(indent=2) + "\n")
    result = BenchResult(out, config)
    done = _done_keys(out / TRAJECTORIES)
    jobs = jobs_of(config)
    result.jobs = [JobResult(job, "skipped") for job in jobs if job.key in done]
    todo = [job for job in jobs if job.key not in done]
    if on_start:
        on_start(len(todo), len(result.jobs))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench") as pool:
        futures = [pool.submit(_play, job, config, out) for job in todo]
        try:
            for future in as_completed(futures):
                result.jobs.append(future.result())
                if on_job:
                    on_job(result.jobs[-1])
        except BaseException:  # Ctrl-C or a full disk: start nothing new; running jobs save themselves
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    result.seconds = time.monotonic() - started
    result.report = write_report(out, config, latest(config, out), wall_seconds=result.seconds)
    return result


def latest(config: BenchConfig, out: Path) -> list[Trajectory]:
    """One trajectory per job of the config that has one: its last scored one, else its last infra failure."""
    wanted = {job.key for job in jobs_of(config)}
    chosen: dict[tuple, Trajectory] = {}
    for trajectory in stored_trajectories(Path(out) / TRAJECTORIES):
        key = trajectory_key(trajectory)
        if key in wanted and (not trajectory.infra_error or key not in chosen or chosen[key].infra_error):
            chosen[key] = trajectory
    return list(chosen.values())


def rebuild_report(out: Path) -> Report:
    """Write the report again from OUT's saved config and trajectories (no episode is played)."""
    path = Path(out) / CONFIG
    if not path.is_file():
        raise SynthMLError(f"{path}: no such file; is {out} the --out folder of a `synthml bench`?")
    config = BenchConfig.model_validate_json(path.read_text())
    return write_report(out, config, latest(config, out))


def jobs_of(config: BenchConfig) -> list[Job]:
    """Every agent x task x run, task by task."""
    model = {"llm": config.llm.model if config.llm else None}
    return [Job(agent, model.get(agent), task, run)
            for task in config.tasks for agent in config.agents for run in range(config.runs)]


def run_job(job: Job, config: BenchConfig) -> JobResult:
    """One episode in its own env, played as a rollout worker plays one: every failure outside the agent's
    control (the worker's one crash policy) becomes an infra error."""
    began = datetime.now(UTC)
    worker = RolloutWorker(AgentSpec(name=job.agent), config.sandbox, config.max_steps, chat=config.llm)
    try:
        outcome = worker.play(job.episode)
    finally:
        _close(worker)
    if outcome.trajectory is None:  # the worker crashed before the agent's recorder could write a record
        return JobResult(job, "infra_error", _crashed(job, outcome.error, began, outcome.seconds), outcome.error,
                         outcome.seconds)
    status = "infra_error" if outcome.failure else "ran"
    return JobResult(job, status, outcome.trajectory, outcome.trajectory.infra_error, outcome.seconds)


def run_dir(out: Path, agent: str, task_id: str, run: int) -> Path:
    """Where MLGym's per-run files of one job lie (always inside OUT/runs, whatever the task id says)."""
    return confined(Path(out) / RUNS, agent, task_id, f"run_{run}")


def machine() -> dict[str, Any]:
    return {"host": platform.node(), "cpus": os.cpu_count(), "system": platform.platform(),
            "python": platform.python_version()}


def _config(tasks_spec: str | Path, agents: list[str], runs: int, workers: int, sandbox: SandboxSpec, max_steps: int,
            llm: OpenAIChatConfig | None, prepare: bool) -> BenchConfig:
    names = [name.strip() for name in agents if name.strip()]
    for name in names:
        if name not in AGENTS:
            raise SynthMLError(f"--agents: unknown agent '{name}'; choose from {', '.join(AGENTS)}")
    if len(set(names)) != len(names) or not names:
        raise SynthMLError(f"--agents {','.join(agents)}: name each agent once, at least one")
    if "llm" in names:
        make_agent("llm", llm)  # a missing key or model fails here, not as an infra error on every job
    if runs < 1 or workers < 1 or max_steps < 1:
        raise SynthMLError("--runs, --workers and --max-steps must be at least 1")
    sandbox = sandbox_config(sandbox)  # a mistyped backend fails here, not as an infra error on every job
    tasks, skipped = resolve_tasks(tasks_spec, partial(prepare_mlgym_data, sandbox=sandbox) if prepare else None)
    return BenchConfig(tasks=tasks, skipped=skipped, agents=names, runs=runs, workers=workers, sandbox=sandbox,
                       max_steps=max_steps, llm=llm if "llm" in names else None, machine=machine(),
                       started_at=datetime.now(UTC))


def _done_keys(path: Path) -> set[tuple]:
    """Jobs with a trajectory that is not an infra failure: those are not played again."""
    return {trajectory_key(t) for t in stored_trajectories(path) if not t.infra_error}


def stored_trajectories(path: Path) -> list[Trajectory]:
    """The JSONL's trajectories, less a torn line a killed process may leave (its job simply runs again)."""
    return read_trajectories(path, skip_torn=True) if path.is_file() else []


def _play(job: Job, config: BenchConfig, out: Path) -> JobResult:
    """Run the job and save what it made, in the worker: a job that ends is on disk, whatever else happens."""
    result = run_job(job, config)
    _save(out, result)
    return result


def _save(out: Path, result: JobResult) -> None:
    """Append the trajectory (infra failures too: they are data), then MLGym's files of a scored run."""
    trajectory = result.trajectory
    if trajectory is None:
        return
    append_trajectory(out / TRAJECTORIES, trajectory)
    if result.status != "ran":
        return
    folder = run_dir(out, result.job.agent, result.job.task.id, result.job.run)
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "results.json", results_json(trajectory))
    _write_json(confined(folder, f"{result.job.task.id}.traj"), to_swe_agent_traj(trajectory))


def _write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def _crashed(job: Job, error: str, began: datetime, seconds: float) -> Trajectory:
    """The record of a job that crashed outside the agent's own recorder (it could write none)."""
    task = job.task
    return Trajectory(task_id=task.id, task_version=task.version, agent=job.agent, model=job.model, run=job.run,
                      seed=job.run, metric=task.metric, direction=task.direction, baseline={"test": task.baseline},
                      exit_status=INFRA_STATUS, infra_error=error, started_at=began, seconds=seconds)


def _close(worker: RolloutWorker) -> None:
    try:
        worker.close()
    except Exception:  # a failing close must not hide the episode's result
        traceback.print_exc()
