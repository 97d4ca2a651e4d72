"""A loaded task: its YAML validated, paths resolved and checked, metrics settled, version hashed.

Four ways to name a task: a task directory holding `task.yaml` (SynthML's layout), a task YAML
(an MLGym checkout's `configs/tasks/X.yaml` resolves paths against the checkout root and
`configs/`, as MLGym does), `BANK_DIR:TASK_ID`, or `MLGYM_ROOT:tasks/X.yaml` (see `mlgym.py`).
"""

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TypeVar

import yaml
from pydantic import ValidationError

from synthml.errors import TaskError
from synthml.io import write_atomic
from synthml.tasks.mlgym_facts import MLGYM_TASKS, is_mlgym_checkout, mlgym_config
from synthml.tasks.paths import inside
from synthml.tasks.schema import DatasetConfig, Metric, TaskConfig

TASK_YAML = "task.yaml"
PROVENANCE = "provenance"
"""A task's record of how it was written (LLM calls, data preparation): never shown, not in its version."""
M = TypeVar("M", TaskConfig, DatasetConfig)
ENTRYPOINT_SUBMISSIONS = {"CSVSubmissionTasks": ("submission.csv",),
                          "ModelSubmissionTasks": ("checkpoints", "config.yaml")}
"""Python and LM tasks have no such default: their evaluator reads the whole workspace, as in MLGym."""
DEFAULT_TRAINING_TIMEOUT = 3600
"""MLGym's long-action timeout, used when a task sets no training_timeout."""


@dataclass(frozen=True)
class Task:
    config: TaskConfig
    yaml_path: Path
    root: Path
    """Base of starter_code, data_path, hidden_files and the other file paths."""
    datasets: tuple[DatasetConfig, ...]
    metrics: tuple[Metric, ...]
    primary: Metric
    submission_files: tuple[str, ...]
    """Workspace paths the evaluator reads; empty means the whole workspace (MLGym's behaviour)."""

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def hidden_files(self) -> tuple[str, ...]:
        return (*self.config.hidden_files, *self.config.secret_files)

    @property
    def training_timeout(self) -> int:
        return self.config.training_timeout or DEFAULT_TRAINING_TIMEOUT

    @property
    def baseline_score(self) -> float | None:
        """The baseline's primary score on the split `submit` uses."""
        return _primary_of(self.config.baseline_scores, self.primary.name)

    @property
    def reference_score(self) -> float | None:
        """The reference solution's primary score on the split `submit` uses (recorded by the validator)."""
        return _primary_of(self.config.reference_scores, self.primary.name)

    @property
    def baseline_validation_score(self) -> float | None:
        return _primary_of(self.config.baseline_validation_scores, self.primary.name)

    @cached_property
    def description(self) -> str:
        """The task statement with `{dataset_docs}` expanded, as MLGym renders it."""
        docs = "".join(f"{d.name.upper()}:\n{d.description}\n\n" for d in self.datasets)
        return self.config.description.replace("{dataset_docs}", docs)

    @cached_property
    def version(self) -> str:
        """Content hash of every file that defines the task (YAMLs, code, data, hidden files). The task
        YAML counts by its fields, less the time it was written: the same task written twice is one version."""
        digest = hashlib.sha256()
        for path in sorted(self.files()):
            digest.update(str(path.relative_to(self.root)).encode() + b"\0")
            digest.update(self._content_hash(path).encode())
        return digest.hexdigest()[:16]

    def _content_hash(self, path: Path) -> str:
        if path.is_symlink():
            return os.readlink(path)
        if path == self.yaml_path:
            fields = self.config.model_dump(mode="json", exclude_none=True,
                                            exclude={"provenance": {"created_at"}})
            return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
        return _file_sha256(path)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def files(self) -> set[Path]:
        """Every file the task consists of, with data only for local datasets."""
        roots = [self.yaml_path, *self.dataset_yaml_paths()]
        roots += [self.path(p) for p in (*self.config.starter_code, *self.hidden_files)]
        roots += [self.path(d.data_path) for d in self.datasets if d.is_local]
        optional = (self.config.requirements_path, self.config.memory_path, self.config.sample_submission,
                    self.config.reference_solution)
        roots += [self.path(p) for p in optional if p]
        return {f for r in roots for f in ([r] if r.is_file() else r.rglob("*")) if f.is_file() or f.is_symlink()}

    def dataset_yaml_paths(self) -> list[Path]:
        return [_config_root(self.yaml_path, self.root) / p for p in self.config.dataset_configs]


def load_task(spec: str | Path, *, metrics: list[Metric] | None = None) -> Task:
    """Load a task dir, task YAML or `BANK_DIR:TASK_ID`; `metrics` overrides any table or YAML."""
    yaml_path = resolve_task_yaml(spec)
    config = _parse(TaskConfig, yaml_path)
    root = _task_root(yaml_path)
    config_root = _config_root(yaml_path, root)
    datasets = tuple(_parse(DatasetConfig, inside(config_root / p, root, yaml_path, "dataset_configs"))
                     for p in config.dataset_configs)
    chosen, primary = _settle_metrics(config, yaml_path, metrics)
    task = Task(config, yaml_path, root, datasets, chosen, primary, _submission_files(config))
    _check_paths(task)
    return task


def _submission_files(config: TaskConfig) -> tuple[str, ...]:
    """The YAML's, else MLGym's table's, else what the entrypoint's MLGym class looks for."""
    facts = MLGYM_TASKS.get(config.id)
    if config.submission_files:
        return tuple(config.submission_files)
    return facts.submission_files if facts else ENTRYPOINT_SUBMISSIONS.get(config.task_entrypoint, ())


def resolve_task_yaml(spec: str | Path) -> Path:
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / TASK_YAML).is_file():
            raise TaskError(f"{path}: no {TASK_YAML} in this folder; point at a task dir, a task YAML "
                            "or BANK_DIR:TASK_ID")
        return (path / TASK_YAML).resolve()
    if path.is_file():
        return path.resolve()
    bank, sep, task_id = str(spec).rpartition(":")
    if sep and Path(bank).expanduser().is_dir():
        if is_mlgym_checkout(Path(bank).expanduser()):  # MLGYM_ROOT:tasks/X.yaml, as MLGym's run.py names it
            return mlgym_config(bank, task_id)
        return find_in_bank(Path(bank).expanduser(), task_id)
    raise TaskError(f"{spec}: no such task dir, task YAML, BANK_DIR:TASK_ID or MLGYM_ROOT:tasks/X.yaml")


class _TaskYamlDumper(yaml.SafeDumper):
    """Multi-line strings (the description) as literal blocks, so a task YAML reads like its text."""


def _block_strings(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_TaskYamlDumper.add_representer(str, _block_strings)


def write_task_yaml(path: Path, fields: dict) -> None:
    """Write a task (or dataset) YAML atomically: a reader sees the old file or the new, never half."""
    write_atomic(path, yaml.dump(fields, Dumper=_TaskYamlDumper, sort_keys=False, width=100, allow_unicode=True))


def bank_task_dirs(bank: Path) -> list[Path]:
    """Task dirs of a bank, sorted by name."""
    return sorted(p.parent for p in Path(bank).glob(f"*/{TASK_YAML}"))


def find_in_bank(bank: Path, task_id: str) -> Path:
    dirs = bank_task_dirs(bank)
    for task_dir in dirs:
        if task_dir.name == task_id or _parse(TaskConfig, task_dir / TASK_YAML).id == task_id:
            return (task_dir / TASK_YAML).resolve()
    known = ", ".join(d.name for d in dirs) or "none"
    raise TaskError(f"{bank}: no task '{task_id}' in this bank (tasks: {known})")


def _task_root(yaml_path: Path) -> Path:
    """An MLGym checkout resolves file paths against its root; a task dir against itself."""
    if yaml_path.parent.name == "tasks" and yaml_path.parent.parent.name == "configs":
        return yaml_path.parent.parent.parent
    return yaml_path.parent


def _config_root(yaml_path: Path, root: Path) -> Path:
    return root / "configs" if yaml_path.parent == root / "configs" / "tasks" else root


def _parse(model: type[M], path: Path) -> M:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as e:
        raise TaskError(f"{path}: cannot read ({e.strerror})") from e
    except yaml.YAMLError as e:
        raise TaskError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise TaskError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"field '{'.'.join(map(str, err['loc'])) or '(top)'}': {err['msg']}"
                             for err in e.errors())
        raise TaskError(f"{path}: {problems}. Fix the field (schema: synthml.tasks.schema."
                        f"{model.__name__})") from e


def _settle_metrics(config: TaskConfig, yaml_path: Path,
                    override: list[Metric] | None) -> tuple[tuple[Metric, ...], Metric]:
    facts = MLGYM_TASKS.get(config.id)
    metrics = tuple(override or config.metrics or (facts.metrics if facts else ()))
    if not metrics:
        seen = sorted({k for scores in config.baseline_scores for k in scores}) or ["<name>"]
        raise TaskError(f"{yaml_path}: field 'metrics': no direction known for {', '.join(seen)}; add "
                        f"`metrics: [{{name: {seen[0]}, direction: max}}]` (or min) to the YAML")
    name = config.primary_metric or metrics[0].name
    primary = next((m for m in metrics if m.name == name), None)
    if primary is None:
        raise TaskError(f"{yaml_path}: field 'primary_metric': '{name}' is not one of the metrics "
                        f"({', '.join(m.name for m in metrics)})")
    return metrics, primary


def _primary_of(scores: list[dict[str, float]], name: str) -> float | None:
    return scores[0].get(name) if scores else None


_digests: dict[tuple[Path, int, int], str] = {}


def _file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _digests:
        with path.open("rb") as f:
            _digests[key] = hashlib.file_digest(f, "sha256").hexdigest()
    return _digests[key]


def _check_paths(task: Task) -> None:
    fields = _path_fields(task)
    for field, paths in fields.items():
        for p in paths:
            inside(task.path(p), task.root, task.yaml_path, field)
    for field in ("starter_code", "hidden_files", "requirements_path", "reference_solution"):
        for p in fields[field]:
            if not task.path(p).exists():
                raise TaskError(f"{task.yaml_path}: field '{field}': {p} does not exist under {task.root}")
    _check_workspace_paths(task)
    _check_unshipped(task, [*task.hidden_files, *fields["reference_solution"]],
                     [*fields["starter_code"], *fields["data_path"]])
    for p in (*fields["starter_code"], *fields["data_path"]):
        _check_links(task, task.path(p))


def _path_fields(task: Task) -> dict[str, list[str]]:
    config = task.config
    optional = {"requirements_path": config.requirements_path, "memory_path": config.memory_path,
                "sample_submission": config.sample_submission, "reference_solution": config.reference_solution}
    fields = {name: [value] if value else [] for name, value in optional.items()}
    return fields | {"starter_code": config.starter_code, "hidden_files": list(task.hidden_files),
                     "data_path": [d.data_path for d in task.datasets if d.is_local]}


def _check_workspace_paths(task: Task) -> None:
    """evaluation_paths and baseline_paths are relative to the workspace and come from starter_code."""
    if not task.config.evaluation_paths:
        raise TaskError(f"{task.yaml_path}: field 'evaluation_paths' is empty; name the evaluation script")
    provided = {Path(p).name for p in task.config.starter_code}
    for field in ("evaluation_paths", "baseline_paths"):
        for p in getattr(task.config, field):
            parts = PurePosixPath(p).parts
            if PurePosixPath(p).is_absolute() or ".." in parts or parts[0] not in provided:
                raise TaskError(f"{task.yaml_path}: field '{field}': '{p}' (relative to the workspace) is not "
                                "provided by any starter_code entry; add it to starter_code")


def _check_unshipped(task: Task, kept_back: list[str], shipped: list[str]) -> None:
    """Hidden files and the reference solution never reach the agent's workspace."""
    for private in kept_back:
        path = task.path(private).resolve()
        field = "reference_solution" if private == task.config.reference_solution else "hidden_files"
        for entry in shipped:
            if path.is_relative_to(task.path(entry).resolve()):
                raise TaskError(f"{task.yaml_path}: field '{field}': {private} lies in '{entry}', which is "
                                "copied into the agent's workspace; keep it apart (e.g. hidden/)")


def _check_links(task: Task, top: Path) -> None:
    candidates = [top]
    if top.is_dir() and not top.is_symlink():
        for folder, dirs, files in os.walk(top):
            candidates += [Path(folder) / name for name in (*dirs, *files)]
    for path in candidates:
        if path.is_symlink() and not path.resolve().is_relative_to(task.root.resolve()):
            raise TaskError(f"{task.yaml_path}: {path} is a symlink out of the task root; ship the file itself")
