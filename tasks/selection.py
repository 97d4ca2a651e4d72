"""The tasks a bench plays: a SynthML bank's accepted tasks, or an MLGym checkout's, each as a `TaskRef`
holding what the score tables need even if every episode on it fails; MLGym tasks that cannot run here are
`SkippedTask`s with the reason."""

from collections.abc import Callable
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from synthml.errors import SynthMLError, did_you_mean
from synthml.tasks.bank import MANIFEST, TaskBank
from synthml.tasks.mlgym import MLGymTask, mlgym_tasks
from synthml.tasks.mlgym_facts import MLGYM_BENCHMARK_CONFIGS
from synthml.tasks.task import TASK_YAML, bank_task_dirs, load_task


class TaskRef(BaseModel):
    """One task of a bench, with what its score tables need even if every job on it fails."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Task id: the row name in the score tables.")
    spec: str = Field(description="What `gym.make(task=...)` gets: a task dir or task YAML.")
    version: str = Field(description="Content hash of the task; a changed task is a new job.")
    metric: str = Field(description="Primary metric.")
    direction: int = Field(description="+1: higher is better; -1: lower is better.")
    baseline: float | None = Field(description="The baseline's primary score on the test split (the best-submission "
                                   "table's column).")
    attempt_split: Literal["validation", "test"] = Field(
        description="Split the best-attempt table scores: validation where the task has a validation split (its "
        "`validate` steps), else test (as in MLGym, where validate and submit both score test).")
    attempt_baseline: float | None = Field(description="The baseline's primary score on the attempt split (the "
                                           "best-attempt table's column).")


class SkippedTask(BaseModel):
    """A task that `--tasks` names but that does not run here."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Task id.")
    config: str | None = Field(None, description="MLGym's name of its config (`tasks/X.yaml`); ids may repeat.")
    reason: str = Field(description="Why it does not run, and the fix where there is one.")


class TaskSelection(NamedTuple):
    tasks: list[TaskRef]
    """What the bench plays, in table order."""
    skipped: list[SkippedTask]


Prepare = Callable[[Path, str], object]
"""Makes the data an MLGym task misses: (checkout, `tasks/X.yaml`); see `synthml.envs.mlgym_data`."""


def resolve_tasks(spec: str | Path, prepare: Prepare | None = None) -> TaskSelection:
    """The tasks `BANK_OR_MLGYM_ROOT[:id,...]` names: a bank's accepted tasks (or every task dir of a bank
    with no manifest, such as the sample bank), or an MLGym checkout's (see `resolve_mlgym_tasks`), optionally
    only the listed ids, in the order given."""
    root, ids = _split_spec(str(spec))
    if (root / "configs" / "tasks").is_dir():
        return resolve_mlgym_tasks(root, ids, prepare)
    if (root / MANIFEST).is_file():
        dirs = {entry.task_id: TaskBank(root).task_dir(entry.task_id) for entry in TaskBank(root).accepted()}
    else:
        dirs = {d.name: d for d in bank_task_dirs(root)}
    if not dirs:
        raise SynthMLError(f"--tasks {spec}: {root} holds no accepted tasks; point at a bank that "
                           "`synthml generate` wrote, or at an MLGym checkout")
    return TaskSelection([task_ref(dirs[name]) for name in _choose(ids, sorted(dirs), spec)], [])


def resolve_mlgym_tasks(root: Path, ids: list[str] | None, prepare: Prepare | None = None) -> TaskSelection:
    """An MLGym checkout's tasks: MLGym-Bench's 13 configs, or those `ids` names (task ids or `tasks/X.yaml`,
    extra configs too). Those that cannot run here are skipped with MLGym's reason; `prepare` first makes
    their missing data with MLGym's own helpers (the house price split)."""
    chosen = _choose_mlgym(root, ids)
    if prepare and any(task.helpers for task in chosen):
        for task in chosen:
            if task.helpers:
                prepare(root, task.ref)
        surveyed = {task.ref: task for task in mlgym_tasks(root, benchmark_only=False)}
        chosen = [surveyed[task.ref] for task in chosen]
    reasons = {task.ref: _skip_reasons(task, whole_checkout=ids is None) for task in chosen}
    skipped = [SkippedTask(id=t.id, config=t.ref, reason="; ".join(reasons[t.ref])) for t in chosen if reasons[t.ref]]
    tasks = [task_ref(t.config) for t in chosen if not reasons[t.ref]]
    if not tasks:
        why = "; ".join(f"{task.id}: {task.reason}" for task in skipped) or "it has no task configs"
        raise SynthMLError(f"--tasks {root}: no MLGym task chosen runs here ({why})")
    _check_unique([task.id for task in tasks], root)
    return TaskSelection(tasks, skipped)


def _choose_mlgym(root: Path, ids: list[str] | None) -> list[MLGymTask]:
    """The checkout's tasks `ids` names by task id, config stem or `tasks/X.yaml`; every one when `ids` is None."""
    surveyed = mlgym_tasks(root, benchmark_only=False)
    if ids is None:
        return surveyed
    chosen = []
    for name in ids:
        stem = name.removeprefix("configs/").removeprefix("tasks/").removesuffix(".yaml")
        found = [t for t in surveyed if t.config.stem == stem] or [t for t in surveyed if t.id == name]
        if len(found) > 1:
            raise SynthMLError(f"--tasks {root}:{name}: task id '{name}' is in {len(found)} configs "
                               f"({', '.join(t.ref for t in found)}); name one of them")
        if not found:
            known = [*dict.fromkeys(t.id for t in surveyed), *(t.ref for t in surveyed)]
            raise SynthMLError(f"--tasks {root}:{name}: no MLGym task '{name}' in {root}/configs/tasks; "
                               f"{did_you_mean(name, known)}")
        chosen += found
    return list({task.ref: task for task in chosen}.values())


def _skip_reasons(task: MLGymTask, whole_checkout: bool) -> list[str]:
    """Why a chosen MLGym task does not run: MLGym's reasons, the fix that `--prepare` is, and (benching the
    whole checkout) that it is not one of MLGym-Bench's 13 tasks."""
    reasons = list(task.reasons)
    if task.helpers:
        reasons.append("pass --prepare to generate it with MLGym's own helper")
    if whole_checkout and task.ref not in MLGYM_BENCHMARK_CONFIGS:
        fix = "" if reasons else f"; name it to bench it (--tasks {task.config.parents[2]}:{task.ref})"
        reasons.insert(0, f"not one of MLGym-Bench's 13 tasks{fix}")
    return reasons


def _check_unique(ids: list[str], root: Path) -> None:
    twice = sorted({task_id for task_id in ids if ids.count(task_id) > 1})
    if twice:
        raise SynthMLError(f"--tasks {root}: task id(s) {', '.join(twice)} name more than one chosen config; "
                           "bench one config per task id")


def task_ref(spec: str | Path) -> TaskRef:
    """A TaskRef from a task dir or task YAML."""
    task = load_task(spec)
    target = task.root if task.yaml_path == task.root / TASK_YAML else task.yaml_path
    on_validation = bool(task.config.validation_split)
    return TaskRef(id=task.id, spec=str(target), version=task.version, metric=task.primary.name,
                   direction=task.primary.sign, baseline=task.baseline_score,
                   attempt_split="validation" if on_validation else "test",
                   attempt_baseline=task.baseline_validation_score if on_validation else task.baseline_score)


def _split_spec(spec: str) -> tuple[Path, list[str] | None]:
    if _is_dir(spec):
        return Path(spec).expanduser(), None
    root, sep, ids = spec.rpartition(":")
    if sep and _is_dir(root):
        return Path(root).expanduser(), [i.strip() for i in ids.split(",") if i.strip()]
    raise SynthMLError(f"--tasks {spec}: no such folder; pass a bank dir or an MLGym checkout, optionally "
                       "followed by :ID1,ID2 to pick tasks")


def _is_dir(text: str) -> bool:
    """Whether `text` names a folder (a long list of ids after the root is too long a name to ask the OS about)."""
    try:
        return Path(text).expanduser().is_dir()
    except OSError:
        return False


def _choose(ids: list[str] | None, known: list[str], spec: str) -> list[str]:
    if ids is None:
        return known
    for task_id in ids:
        if task_id not in known:
            raise SynthMLError(f"--tasks {spec}: no task '{task_id}' in this bank; {did_you_mean(task_id, known)}")
    return list(dict.fromkeys(ids))
