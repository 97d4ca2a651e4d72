"""Scripted agents: fixed action lists played through the env (no LLM).

`baseline_actions` runs the task's baseline, validates and submits: the reference episode of every
task, and what `synthml run` shows. `BaselineAgent` and `ReplayAgent` play such lists through an
`EpisodeRecorder`, so their episodes are trajectories like an LLM agent's.
"""

import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import gymnasium as gym

from synthml.agents.agent_record import AgentRecord
from synthml.agents.trajectory import EpisodeRecorder, Trajectory
from synthml.errors import SynthMLError
from synthml.tasks.task import Task


@dataclass(frozen=True)
class Step:
    action: str
    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict


def baseline_actions(task: Task) -> list[str]:
    return [*(shlex.join(["python", path]) for path in task.config.baseline_paths), "validate", "submit"]


def play(env: gym.Env, actions: list[str], on_step: Callable[[Step], None] | None = None) -> list[Step]:
    """Play the actions in the episode that `env.reset` began, until it ends; returns every step."""
    steps = []
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        steps.append(Step(action, observation, float(reward), terminated, truncated, info))
        if on_step:
            on_step(steps[-1])
        if terminated or truncated:
            break
    return steps


class BaselineAgent:
    """Runs the task's baseline paths, validates and submits."""

    name = "baseline"

    def run(self, env: gym.Env, seed: int | None = None, options: dict | None = None, run: int = 0) -> Trajectory:
        recorder = EpisodeRecorder(env, self.name, run=run)
        recorder.reset(seed=seed, options=options)
        if not recorder.done:
            play_recorded(recorder, ((action, "") for action in baseline_actions(env.unwrapped.task)))
        return recorder.finish()


class ReplayAgent:
    """Replays a trajectory's actions (with their thoughts), or a list of actions, in a fresh episode."""

    name = "replay"

    def __init__(self, source: Trajectory | Sequence[str], name: str = "replay") -> None:
        self.name = name
        if isinstance(source, Trajectory):
            self.steps = [(s.action, s.thought) for s in source.steps if s.format_error is None]
            self.task_id, self.source_id = source.task_id or None, source.trajectory_id
        else:
            self.steps, self.task_id, self.source_id = [(action, "") for action in source], None, None

    def run(self, env: gym.Env, seed: int | None = None, options: dict | None = None, run: int = 0) -> Trajectory:
        recorder = EpisodeRecorder(env, self.name, run=run, config=AgentRecord(replays=self.source_id))
        _, info = recorder.reset(seed=seed, options=options)
        if not recorder.done:
            if self.task_id and info["task_id"] != self.task_id:
                raise SynthMLError(f"ReplayAgent: the trajectory is of task {self.task_id!r}, but the env drew "
                                   f"{info['task_id']!r}; pass options={{'task': <that task's dir>}} to run()")
            play_recorded(recorder, self.steps)
        return recorder.finish()


def play_recorded(recorder: EpisodeRecorder, steps: Iterable[tuple[str, str]]) -> None:
    """Plays (action, thought) pairs in the recorder's episode until they run out or the episode ends."""
    for action, thought in steps:
        if recorder.done:
            break
        recorder.step(action, thought)
