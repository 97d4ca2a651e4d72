"""A rollout's episodes: every task x sample index, each with a seed and an id that never change.

The id is a function of the task (id and content version), the sample index and the seed, so a run
started again, or on another machine, names the same episodes the same way and skips those it has.
Episodes come task by task: the k samples of one task are neighbours, as a GRPO group wants them.
"""

import hashlib

from pydantic import BaseModel, ConfigDict, Field

from synthml.tasks.selection import TaskRef


class Episode(BaseModel):
    """One episode to play: a task, which of its samples, and the seed of `env.reset`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    episode_id: str = Field(description="Deterministic id: task, version, sample index, seed.")
    task: TaskRef = Field(description="The task, with the path the env loads it from.")
    sample: int = Field(ge=0, description="Which sample of this task (recorded as the trajectory's run).")
    seed: int = Field(ge=0, description="The seed passed to env.reset.")
    agent: str | None = Field(None, description="Which of the run's agents plays it, when a run plays several "
                                                "(a bench); None: the run's one agent (a rollout).")


def plan_episodes(tasks: list[TaskRef], per_task: int, seed: int = 0) -> list[Episode]:
    """`per_task` episodes of every task, task by task."""
    return [episode(task, sample, seed) for task in tasks for sample in range(per_task)]


def episode(task: TaskRef, sample: int, base_seed: int = 0) -> Episode:
    seed = episode_seed(base_seed, task.version, sample)
    return Episode(episode_id=episode_id(task.id, task.version, sample, seed), task=task, sample=sample, seed=seed)


def episode_seed(base_seed: int, task_version: str, sample: int) -> int:
    """A 31-bit seed per (base seed, task version, sample): samples and tasks never share one by accident."""
    digest = hashlib.sha256(f"{base_seed}:{task_version}:{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


def episode_id(task_id: str, task_version: str, sample: int, seed: int) -> str:
    return f"{task_id}@{task_version[:12]}/{sample}/{seed}"
