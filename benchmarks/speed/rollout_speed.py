"""Rollout throughput: env steps per second with 1, 2 and 4 Ray workers, beside the same episodes in one process.

Run from a checkout's root: `python -m benchmarks.speed.rollout_speed --episodes 24 --steps 30`. Every episode
is the `commands` agent playing cheap shell commands (`true`, `ls`, `pwd`) until the step limit auto-submits, over the
sample bank, in the bubblewrap sandbox. The in-process row plays them with the rollout worker itself,
one after another, recording nothing; each Ray row is a fresh `run_rollout` into a fresh store (episodes
scheduled, every record fsynced). Ray's start-up and each run's worker start-up are timed apart. Scaling efficiency is
steps/s with W workers over W x steps/s with one; the per-episode overhead is what one Ray worker takes
per episode beyond the in-process run. Workers beyond the machine's cores share them (cpus_per_worker < 1).
"""

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from synthml.agents.spec import AgentSpec
from synthml.envs.env import sample_bank
from synthml.tasks.selection import resolve_tasks
from synthml.training.episodes import plan_episodes
from synthml.training.rollout import run_rollout
from synthml.training.rollout_config import RolloutConfig
from synthml.training.worker import RolloutWorker

COMMANDS = ["true", "ls", "pwd"]


@dataclass
class Row:
    name: str
    workers: int
    episodes: int
    steps: int
    seconds: float
    startup: float = 0.0
    """Seconds before the first episode: workers spawned and ready (not in `seconds`)."""

    @property
    def rate(self) -> float:
        return self.steps / self.seconds


def in_process(agent: AgentSpec, tasks_spec: str, episodes: int, steps: int) -> Row:
    tasks = resolve_tasks(tasks_spec).tasks
    plan = plan_episodes(tasks, -(-episodes // len(tasks)))[:episodes]
    worker = RolloutWorker(agent, max_steps=steps)
    started, played = time.monotonic(), 0
    for episode in plan:
        outcome = worker.play(episode)
        assert outcome.failure is None, outcome.error
        played += len(outcome.trajectory.steps)
    worker.close()
    return Row("one process, no Ray", 1, len(plan), played, time.monotonic() - started)


def on_ray(agent: AgentSpec, tasks_spec: str, episodes: int, steps: int, workers: int, out: Path) -> Row:
    tasks = len(resolve_tasks(tasks_spec).tasks)
    cpus = min(1.0, (os.cpu_count() or 1) / workers)
    config = RolloutConfig(tasks=tasks_spec, agent=agent, episodes_per_task=-(-episodes // tasks), max_steps=steps,
                           workers=workers, cpus_per_worker=cpus)
    started = time.monotonic()
    result = run_rollout(config, out)
    wall = time.monotonic() - started
    assert result.failures == {} and result.unfinished == 0, result
    return Row(f"Ray, {workers} worker{'s' * (workers > 1)}", workers, result.finished, result.steps, result.seconds,
               wall - result.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=24, help="Episodes per row.")
    parser.add_argument("--steps", type=int, default=30, help="Env steps per episode.")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts, comma-separated.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of every row, interleaved; medians shown.")
    args = parser.parse_args()
    import ray

    agent = AgentSpec(name="commands", commands=COMMANDS * args.steps)
    tasks_spec = str(sample_bank())
    started = time.monotonic()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    ray_start = time.monotonic() - started
    in_process(agent, tasks_spec, 2, args.steps)  # warm: runtimes resolved, files cached
    rounds: list[list[Row]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            rows = [in_process(agent, tasks_spec, args.episodes, args.steps)]
            for workers in map(int, args.workers.split(",")):
                out = Path(tmp) / f"round{n}-w{workers}"
                rows.append(on_ray(agent, tasks_spec, args.episodes, args.steps, workers, out))
            rounds.append(rows)
    ray.shutdown()
    print_table(Console(width=130), [median_row(runs) for runs in zip(*rounds, strict=True)], args, ray_start)


def median_row(runs: tuple[Row, ...]) -> Row:
    """One row's median run, by seconds."""
    return sorted(runs, key=lambda row: row.seconds)[len(runs) // 2]


def print_table(console: Console, rows: list[Row], args: argparse.Namespace, ray_start: float) -> None:
    single = next(row for row in rows if row.name.startswith("Ray") and row.workers == 1)
    local = rows[0]
    table = Table("run", "episodes", "steps", "seconds", "steps/s", "x one process", "scaling efficiency",
                  "start-up s",
                  title=f"rollout throughput, {args.steps} cheap steps per episode, median of {args.rounds} rounds",
                  caption=f"{platform.node()}, {os.cpu_count()} CPUs; Ray start-up {ray_start:.1f} s (not counted)")
    for row in rows:
        efficiency = f"{row.rate / (row.workers * single.rate):.0%}" if row.name.startswith("Ray") else ""
        table.add_row(row.name, str(row.episodes), str(row.steps), f"{row.seconds:.1f}", f"{row.rate:.1f}",
                      f"{row.rate / local.rate:.2f}", efficiency, f"{row.startup:.1f}" if row.startup else "")
    console.print(table)
    overhead = (single.seconds / single.episodes - local.seconds / local.episodes) * 1000
    console.print(f"per-episode overhead of a Ray worker over one process: {overhead:.0f} ms "
                  f"({local.seconds / local.episodes * 1000:.0f} ms per episode in one process)", highlight=False)


if __name__ == "__main__":
    main()
