"""Scripted agents: fixed action lists played through the env (no LLM).

`baseline_actions` runs the task's baseline, validates and submits: the reference episode of every
task, and what `synthml run` shows.
"""

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym

from synthml.task_bank.task import Task


@dataclass(frozen=True)
class Step:
    action: str
    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict


def baseline_actions(task: Task) -> list[str]:
    return [*(f"python {path}" for path in task.config.baseline_paths), "validate", "submit"]


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
