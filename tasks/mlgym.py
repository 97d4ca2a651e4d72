"""MLGym checkouts: which of their tasks run here and why the others are skipped, loading one, and the
answers MLGym keeps in a task's data folder.

`load_task("MLGYM_ROOT:tasks/blotto.yaml")` loads one; `mlgym_tasks` says which run here (no GPU, no download).
"""

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import get_args

from synthml.errors import TaskError
from synthml.tasks.mlgym_facts import (
    MLGYM_BENCHMARK_CONFIGS,
    MLGYM_TASKS,
    checkout_root,
    config_paths,
    mlgym_config,
    raw_fields,
)
from synthml.tasks.schema import TaskConfig
from synthml.tasks.task import Task, load_task

HELPERS = "_helpers"
"""MLGym's folder, beside a task's data, of scripts that generate the data (the house price split)."""
ENTRYPOINTS = get_args(TaskConfig.model_fields["task_entrypoint"].annotation)
_GPU_IMPORT = re.compile(r"^\s*(?:import|from)\s+(torch|jax|flax|tensorflow|transformers)\b", re.MULTILINE)
_GPU_REQUIREMENT = re.compile(r"cuda|^(torch|jax|flax|tensorflow)\b", re.IGNORECASE)


@dataclass(frozen=True)
class MLGymTask:
    """One task YAML of a checkout, and whether it runs here."""

    id: str
    """The YAML's id (the config's stem where the YAML does not read)."""
    config: Path
    """The task YAML, ROOT/configs/tasks/X.yaml."""
    reasons: tuple[str, ...] = ()
    """Why it is skipped; empty: it runs here."""
    helpers: tuple[Path, ...] = ()
    """MLGym's scripts that generate data it misses (`prepare_mlgym_data` runs them)."""

    @property
    def runnable(self) -> bool:
        return not self.reasons

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons) or None

    @property
    def ref(self) -> str:
        """The name MLGym's run.py takes (`tasks/X.yaml`); `ROOT:ref` is what `load_task` takes."""
        return f"tasks/{self.config.name}"


def mlgym_tasks(root: str | Path, *, benchmark_only: bool = True) -> list[MLGymTask]:
    """Every task YAML of an MLGym checkout, each runnable or skipped with its reasons. With `benchmark_only`,
    configs outside MLGym-Bench's 13 (extras such as titanic.yaml) are skipped too."""
    root = checkout_root(root)
    return [_survey(root, path, benchmark_only) for path in config_paths(root)]


def load_mlgym_task(root: str | Path, ref: str) -> Task:
    """Load a checkout's task (`tasks/X.yaml`, `X` or its id) as a Task that SynthML-v0 runs unchanged."""
    return load_task(mlgym_config(root, ref))


def mlgym_answers(task: Task) -> dict[str, Path]:
    """The answers of a known MLGym task that its data holds: workspace path -> the task's file (the
    workspace gets the first local dataset's folder as data/, as MLGym lays it out)."""
    facts, local = MLGYM_TASKS.get(task.id), [d for d in task.datasets if d.is_local]
    if facts is None or not local:
        return {}
    data = task.path(local[0].data_path)
    sources = {answer: data / PurePosixPath(answer).relative_to("data") for answer in facts.answers}
    return {answer: source for answer, source in sources.items() if source.is_file()}


def _survey(root: Path, config: Path, benchmark_only: bool) -> MLGymTask:
    raw = raw_fields(config)
    task_id = str(raw.get("id") or config.stem)
    extra = [] if not benchmark_only or f"tasks/{config.name}" in MLGYM_BENCHMARK_CONFIGS else [
        "not one of MLGym-Bench's 13 tasks (an extra config; list every config to include it)"]
    entry = raw.get("task_entrypoint", "CSVSubmissionTasks")
    if entry not in ENTRYPOINTS:
        return MLGymTask(task_id, config, (f"unsupported task_entrypoint {entry} (SynthML runs "
                                           f"{', '.join(ENTRYPOINTS)})", *extra))
    try:
        task = load_task(config)
    except TaskError as e:
        return MLGymTask(task_id, config, (f"the config does not load: {e}", *extra))
    reasons = (*_gpu_reasons(task), *_data_reasons(task), *extra)
    return MLGymTask(task.id, config, reasons, _missing_data_helpers(task))


def _gpu_reasons(task: Task) -> list[str]:
    if task.config.task_entrypoint == "LMSubmissionTasks":
        return ["needs GPUs: MLGym trains and evaluates LMSubmissionTasks with torchrun"]
    requirements = task.config.requirements_path
    if requirements:
        for line in task.path(requirements).read_text().splitlines():
            if _GPU_REQUIREMENT.search(line.strip()):
                return [f"needs a GPU: {requirements} installs {line.strip()}"]
    for path in sorted(_starter_python(task)):
        found = _GPU_IMPORT.search(path.read_text(errors="replace"))
        if found:
            return [f"needs a GPU: {path.relative_to(task.root)} trains with {found.group(1)}"]
    return []


def _data_reasons(task: Task) -> list[str]:
    reasons = []
    for dataset in task.datasets:
        if not dataset.is_local:
            reasons.append(f"needs a download: dataset {dataset.name} is {dataset.data_path} on the Hugging Face Hub")
        elif not task.path(dataset.data_path).exists():
            helpers = _helpers_for(task, dataset.data_path)
            if helpers:
                commands = " && ".join(f"python {h.name}" for h in helpers)
                reasons.append(f"data not generated: {dataset.data_path} is missing; make it with MLGym's helper "
                               f"(cd {helpers[0].parent.relative_to(task.root)} && {commands}) or "
                               "synthml.envs.mlgym_data.prepare_mlgym_data")
            else:
                reasons.append(f"needs a download: {dataset.data_path} is not in the checkout")
    return reasons


def _missing_data_helpers(task: Task) -> tuple[Path, ...]:
    missing = [d.data_path for d in task.datasets if d.is_local and not task.path(d.data_path).exists()]
    return tuple(h for data_path in missing for h in _helpers_for(task, data_path))


def _helpers_for(task: Task, data_path: str) -> list[Path]:
    folder = task.path(data_path).parent / HELPERS
    return sorted(p for p in folder.glob("*.py") if p.resolve().is_relative_to(task.root.resolve()))


def _starter_python(task: Task) -> list[Path]:
    paths = [task.path(entry) for entry in task.config.starter_code]
    return [f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py")) if f.suffix == ".py" and f.is_file()]
