"""The info dict `reset` and `step` return: the task's facts, how the episode ended, and the last score."""

from typing import TypedDict

from synthml.tasks.task import Task


class StepInfo(TypedDict, total=False):
    task_id: str
    task_version: str
    """The task's content hash: a changed task is a new version."""
    metric: str
    """The primary metric."""
    direction: int
    """+1: higher is better; -1: lower is better."""
    baseline_score: float | None
    """The baseline's primary score on the split `submit` scores."""
    reference_score: float | None
    baseline_validation_score: float | None
    exit_status: str | None
    """MLGym's exit status (see `exit_status.ExitStatus`); None while the episode runs."""
    score: dict[str, float]
    """The metrics of the last validate or submit; absent until one scored."""


def task_info(task: Task) -> StepInfo:
    """The task's part of the info."""
    return StepInfo(task_id=task.id, task_version=task.version, metric=task.primary.name,
                    direction=task.primary.sign, baseline_score=task.baseline_score,
                    reference_score=task.reference_score, baseline_validation_score=task.baseline_validation_score)
