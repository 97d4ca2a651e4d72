"""`synthml bench`: every agent on every task, several runs each, in parallel; then tables, AUP and a report.

A bench is plan, run, read the store, report. The plan is every agent x task x run, each an `Episode` whose
run is its sample and the seed of `env.reset` (as MLGym's runs), with an id naming the agent (and the llm
agent's model). A `LocalPool` plays them, in-process, into a rollout store in OUT (`trajectories/part-*.jsonl`,
`attempts.jsonl`): the same schedule, crash policy and store as `synthml rollout`. An episode already in the
store is skipped, so a killed bench, started again, plays only what is missing. An infrastructure failure
(sandbox died, endpoint down, a crash in our code) is logged in `attempts.jsonl` and reported apart: it is
never scored as the agent's failure, and the episode runs again on the next start. MLGym's per-run files
(`OUT/runs/<agent>/<task_id>/run_<k>/{results.json,<task_id>.traj}`), the tables and the report are then
written from the store.

`--tasks` names a SynthML bank or an MLGym checkout; a checkout's tasks that cannot run here (GPU, download,
data not generated) are listed as skipped, with why, in the report.
"""

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from synthml.agents.agent import Agent
from synthml.agents.llm import OpenAIChatConfig
from synthml.agents.spec import AgentSpec, build_agent
from synthml.agents.trajectory import Trajectory, read_trajectories, results_json, to_swe_agent_traj
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
from synthml.training.local_pool import LocalPool
from synthml.training.pool import Event, first_interrupt_stops
from synthml.training.rollout_config import RolloutResult
from synthml.training.store import Attempt, RolloutStore

AGENTS = ("baseline", "expert", "llm")
CONFIG = "bench.json"
RUNS = "runs"
LEGACY_TRAJECTORIES = "trajectories.jsonl"
"""Where a bench kept its trajectories before it had a store; its scored episodes are taken into the store."""
MAX_ATTEMPTS = 1
"""Attempts per episode and bench: an infrastructure failure is reported, and the next start plays it again."""


@dataclass(frozen=True)
class Job:
    agent: str
    model: str | None
    """The llm agent's model (another model is another job); None for scripted agents."""
    task: TaskRef
    run: int

    @property
    def episode(self) -> Episode:
        """The job's episode: its run is the sample, and seeds the env's reset as MLGym's runs do."""
        task, player = self.task, f"{self.agent}:{self.model}" if self.model else self.agent
        return Episode(episode_id=f"{player}/{episode_id(task.id, task.version, self.run, self.run)}", task=task,
                       sample=self.run, seed=self.run, agent=self.agent)


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
    stopped: str | None = None
    """Why the pool stopped early (Ctrl-C, every episode failing), with the fix; None if it played everything."""

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
    """Play every agent x task x run not yet in OUT's store, `workers` at a time; write the report.

    `prepare` first makes an MLGym checkout's missing data with MLGym's helpers. `on_start(to_run, skipped)` is
    called once the jobs are known, `on_job(result)` as each one ends.
    """
    started = time.monotonic()
    config = _config(tasks_spec, agents, runs, workers, sandbox, max_steps, llm_config, prepare)
    result = BenchResult(Path(out), config)
    result.out.mkdir(parents=True, exist_ok=True)
    store = RolloutStore(result.out)
    with store.exclusive(what="bench"):
        write_atomic(result.out / CONFIG, config.model_dump_json(indent=2) + "\n")
        jobs = jobs_by_episode(config)
        _take_in_legacy(store, jobs)
        done = store.finished()
        result.jobs = [JobResult(job, "skipped") for key, job in jobs.items() if key in done]
        todo = [job.episode for key, job in jobs.items() if key not in done]
        if on_start:
            on_start(len(todo), len(result.jobs))
        result.stopped = _play(store, todo, config, partial(_job_ended, result, jobs, on_job))
        write_run_files(result.out, config)
    result.seconds = time.monotonic() - started
    result.report = write_report(result.out, config, latest(config, result.out), wall_seconds=result.seconds)
    return result


def _play(store: RolloutStore, todo: list[Episode], config: BenchConfig,
          on_event: Callable[[Event], None]) -> str | None:
    """The episodes to do, played by a local pool into the store; why the pool stopped early, if it did."""
    if not todo:
        return None
    progress = RolloutResult(store.out, len(todo), 0)
    agents = {name: AgentSpec(name=name) for name in config.agents}
    with LocalPool(store, todo, agents, config.workers, config.sandbox, config.max_steps, config.llm,
                   MAX_ATTEMPTS, on_event) as pool, first_interrupt_stops(pool):
        pool.run(progress)
    return progress.stopped


def _job_ended(result: BenchResult, jobs: dict[str, Job], on_job: Callable[[JobResult], None] | None,
               event: Event) -> None:
    if event.kind == "finished":
        status, error = "ran", None
    elif event.kind == "failed" and event.final:
        status, error = "infra_error", event.outcome.error
    else:
        return
    ended = JobResult(jobs[event.episode_id], status, event.outcome.trajectory, error, event.outcome.seconds)
    result.jobs.append(ended)
    if on_job:
        on_job(ended)


def _take_in_legacy(store: RolloutStore, jobs: dict[str, Job]) -> None:
    """Records into the store the scored episodes of the config that an older bench left in its one JSONL file
    (the file stays; they are taken once)."""
    path = store.out / LEGACY_TRAJECTORIES
    if not path.is_file():
        return
    ids = {(job.agent, job.model, job.task.id, job.task.version, job.run): key for key, job in jobs.items()}
    for trajectory in read_trajectories(path, skip_torn=True):
        key = ids.get((trajectory.agent, trajectory.model, trajectory.task_id, trajectory.task_version,
                       trajectory.run))
        if key and not trajectory.infra_error:
            store.record(trajectory.model_copy(update={"episode_id": key}))


def latest(config: BenchConfig, out: Path) -> list[Trajectory]:
    """One trajectory per job of the config that has one: its finished one, else its last failed attempt."""
    jobs = jobs_by_episode(config)
    store = RolloutStore(out)
    finished = {t.episode_id: t for t in store.trajectories() if t.episode_id in jobs}
    failed = {attempt.episode_id: failed_record(jobs[attempt.episode_id], attempt) for attempt in store.attempts()
              if attempt.episode_id in jobs and attempt.episode_id not in finished}
    return [*finished.values(), *failed.values()]


def rebuild_report(out: Path) -> Report:
    """Write the report again from OUT's saved config and store (no episode is played)."""
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


def jobs_by_episode(config: BenchConfig) -> dict[str, Job]:
    """The config's jobs by their episode's id, in plan order."""
    return {job.episode.episode_id: job for job in jobs_of(config)}


def write_run_files(out: Path, config: BenchConfig) -> None:
    """MLGym's files of every scored run in the store: results.json and the SWE-agent .traj."""
    jobs = jobs_by_episode(config)
    for trajectory in RolloutStore(out).trajectories():
        job = jobs.get(trajectory.episode_id)
        if job is None:
            continue
        folder = run_dir(out, job.agent, job.task.id, job.run)
        folder.mkdir(parents=True, exist_ok=True)
        _write_json(folder / "results.json", results_json(trajectory))
        _write_json(confined(folder, f"{job.task.id}.traj"), to_swe_agent_traj(trajectory))


def run_dir(out: Path, agent: str, task_id: str, run: int) -> Path:
    """Where MLGym's per-run files of one job lie (always inside OUT/runs, whatever the task id says)."""
    return confined(Path(out) / RUNS, agent, task_id, f"run_{run}")


def failed_record(job: Job, attempt: Attempt) -> Trajectory:
    """What a failed attempt left: the agent's record when it returned one, else a record of the crash."""
    if attempt.trajectory is not None:
        return attempt.trajectory
    task = job.task
    return Trajectory(task_id=task.id, task_version=task.version, agent=job.agent, model=job.model, run=job.run,
                      seed=job.run, metric=task.metric, direction=task.direction, baseline={"test": task.baseline},
                      exit_status=INFRA_STATUS, infra_error=attempt.error, episode_id=attempt.episode_id,
                      started_at=attempt.at, seconds=attempt.seconds)


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


def _write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n")
