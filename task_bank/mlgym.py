"""MLGym checkouts: what MLGym keeps out of its task YAMLs, which of its tasks run here, and loading one.

MLGym's `scripts/evaluation` hard-codes which metrics are minimised; here the table is data, and a
task YAML's own `metrics`/`submission_files` (or a caller's override) win over it.

A checkout's task is named as MLGym's `run.py --task_config_path` names it (`tasks/blotto.yaml`), or by
its config's stem or its id; `load_task("MLGYM_ROOT:tasks/blotto.yaml")` loads one. `mlgym_tasks` says
which run here (no GPU, no download) and why the others are skipped.
"""

import difflib
import re
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple, get_args

import yaml

from synthml.errors import TaskError
from synthml.task_bank.schema import Metric, TaskConfig

if TYPE_CHECKING:
    from synthml.envs.sandbox.config import SandboxConfig
    from synthml.task_bank.task import Task


class MLGymTaskFacts(NamedTuple):
    metrics: tuple[Metric, ...]
    """Metrics with directions; the first is primary."""
    submission_files: tuple[str, ...] = ()
    """Workspace paths the evaluator reads; empty: the whole workspace, as MLGym does."""
    answers: tuple[str, ...] = ()
    """Workspace paths of the labels MLGym copies into data/ with the inputs: withheld from the workspace,
    shown to the evaluator at the same path."""


def _max(name: str) -> Metric:
    return Metric(name=name, direction="max")


def _min(name: str) -> Metric:
    return Metric(name=name, direction="min")


_GAME = MLGymTaskFacts((_max("Score"),), ("strategy.py",))
_RL = MLGymTaskFacts((_max("Reward Mean"), _min("Reward Std")), ("checkpoints", "config.yaml"))
_HOUSE = MLGymTaskFacts((_max("r2"), _min("rmse")), ("submission.csv",), ("data/answer.csv",))
_CIFAR = MLGymTaskFacts((_max("accuracy"),), ("submission.csv",))

# The 13 tasks of the MLGym benchmark, keyed by task id, then the extra YAMLs its checkout ships.
MLGYM_TASKS: dict[str, MLGymTaskFacts] = {
    "imageClassificationCifar10": _CIFAR,
    "imageClassificationFMnist": _CIFAR,
    "imageCaptioningCOCO": MLGymTaskFacts((_max("BLEU Score"),), ("submission.csv",)),
    "naturalLanguageInferenceMNLI": MLGymTaskFacts((_max("validation_accuracy"),), ("bert_mnli_model",)),
    "languageModelingFineWeb": MLGymTaskFacts((_min("val_loss"),), ("model.pt", "model_config.pt")),
    "regressionKaggleHousePrice": _HOUSE,
    "3SATTime": MLGymTaskFacts((_min("Time"), _max("Correct"), _min("Incorrect")), ("heuristic.py",)),
    "battleOfSexes": _GAME,
    "prisonersDilemma": _GAME,
    "blotto": _GAME,
    "rlMetaMazeMisc": _RL,
    "rlMountainCarContinuous": _RL,
    "rlBreakoutMinAtar": _RL,
    # Extra task YAMLs in MLGym's configs/tasks (not part of the 13-task benchmark).
    "regressionKaggleHousePriceL1": _HOUSE,
    "regressionHousePrice": _HOUSE,
    "rlMountainCarContinuousReinforce": _RL,
    "titanicSurvival": MLGymTaskFacts((_max("Accuracy"),), ("submission.csv",), ("data/ground_truth.csv",)),
}

MLGYM_BENCHMARK_TASKS = ("imageClassificationCifar10", "imageClassificationFMnist", "imageCaptioningCOCO",
                         "naturalLanguageInferenceMNLI", "languageModelingFineWeb", "regressionKaggleHousePrice",
                         "3SATTime", "battleOfSexes", "prisonersDilemma", "blotto", "rlMetaMazeMisc",
                         "rlMountainCarContinuous", "rlBreakoutMinAtar")
MLGYM_BENCHMARK_CONFIGS = tuple(f"tasks/{stem}.yaml" for stem in (
    "imageClassificationCifar10", "imageClassificationFMnist", "imageCaptioningCOCO", "naturalLanguageInferenceMNLI",
    "languageModelingFineWeb", "regressionKaggleHousePrice", "3SATTime", "battleOfSexes", "prisonersDilemma",
    "blotto", "rlMetaMaze", "rlMountainCarContinuous", "rlBreakoutMinAtar"))
"""The 13 MLGym-Bench tasks as MLGym's experiment scripts name them (`--task_config_path`, relative to configs/)."""
TASK_CONFIGS = Path("configs/tasks")
HELPERS = "_helpers"
"""MLGym's folder, beside a task's data, of scripts that generate the data (the house price split)."""
HELPER_REQUIREMENTS = ("numpy==2.4.6", "pandas==2.3.3", "scikit-learn==1.9.1")
"""The runtime MLGym's helpers run in: they predate pandas 3 (`drop(columns=..., axis=1)` fails there)."""
HELPER_TIMEOUT = 600
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
    root = _checkout(root)
    return [_survey(root, path, benchmark_only) for path in _configs(root)]


def load_mlgym_task(root: str | Path, ref: str) -> "Task":
    """Load a checkout's task (`tasks/X.yaml`, `X` or its id) as a Task that SynthML-v0 runs unchanged."""
    from synthml.task_bank.task import load_task  # task.py imports this module's table: import it late

    return load_task(mlgym_config(root, ref))


def mlgym_config(root: str | Path, ref: str) -> Path:
    """The task YAML that `ref` names: `tasks/X.yaml` (MLGym's --task_config_path), `X` or a task id."""
    root = _checkout(root)
    configs = _configs(root)
    stem = ref.removeprefix("configs/").removeprefix("tasks/").removesuffix(".yaml")
    for path in configs:
        if path.stem == stem:
            return path
    by_id = [path for path in configs if _raw(path).get("id") == ref]
    if len(by_id) == 1:
        return by_id[0]
    names = [f"tasks/{path.name}" for path in configs]
    if by_id:
        shared = ", ".join(f"tasks/{path.name}" for path in by_id)
        raise TaskError(f"{root}: task id '{ref}' is in {len(by_id)} configs ({shared}); name one of them")
    close = difflib.get_close_matches(stem, [path.stem for path in configs], n=1)
    hint = f"did you mean tasks/{close[0]}.yaml?" if close else f"tasks: {', '.join(names) or 'none'}"
    raise TaskError(f"{root}: no MLGym task '{ref}' in {TASK_CONFIGS}; {hint}")


def mlgym_answers(task: "Task") -> dict[str, Path]:
    """The answers of a known MLGym task that its data holds: workspace path -> the task's file (the
    workspace gets the first local dataset's folder as data/, as MLGym lays it out)."""
    facts, local = MLGYM_TASKS.get(task.id), [d for d in task.datasets if d.is_local]
    if facts is None or not local:
        return {}
    data = task.path(local[0].data_path)
    sources = {answer: data / PurePosixPath(answer).relative_to("data") for answer in facts.answers}
    return {answer: source for answer, source in sources.items() if source.is_file()}


def is_mlgym_checkout(root: Path) -> bool:
    return (root / TASK_CONFIGS).is_dir()


def prepare_mlgym_data(root: str | Path, ref: str | None = None, *, sandbox: "str | dict | SandboxConfig" = "bwrap",
                       runtime: Path | None = None, log=print) -> list[Path]:
    """Generate the missing data that MLGym's helpers make (every task's, or `ref`'s), each helper run in a
    sandbox on a copy of its folder; returns the data folders written (none when nothing is missing).
    `runtime` defaults to one with pandas 2."""
    chosen = mlgym_config(root, ref) if ref else None
    folders: dict[Path, tuple[Path, ...]] = {}
    for task in mlgym_tasks(root, benchmark_only=False):
        if task.helpers and chosen in (None, task.config):
            folders.setdefault(task.helpers[0].parent.parent, task.helpers)
    if folders and runtime is None:
        from synthml.envs.runtime import ensure_runtime

        runtime = ensure_runtime("mlgym-helpers", list(HELPER_REQUIREMENTS), log=log).path
    return [written for folder, helpers in folders.items()
            for written in _run_helpers(folder, helpers, sandbox, runtime, log)]


def _run_helpers(folder: Path, helpers: tuple[Path, ...], sandbox: "str | dict | SandboxConfig",
                 runtime: Path | None, log) -> list[Path]:
    """Run the helpers on a copy of `folder` (the sandbox may own what it writes) and copy back the new folders."""
    from synthml.envs.sandbox import Mounts, disk
    from synthml.envs.sandbox.config import make_sandbox, sandbox_config
    from synthml.envs.sandbox.files import copy_out, remove_tree

    root = Path(tempfile.mkdtemp(prefix="synthml-mlgym-helpers-"))
    scratch, bounded = root / "box", None
    try:
        bounded = disk.bounded(getattr(sandbox_config(sandbox), "limits", None), scratch)
        copy_out(folder, HELPERS, scratch / HELPERS)
        box = make_sandbox(sandbox, Mounts(workspace=scratch, runtime=runtime))
        try:
            for helper in helpers:
                log(f"generating data with MLGym's {helper.relative_to(folder.parent.parent)}")
                out = box.run(f"cd {HELPERS} && {shlex.join(['python', f'./{helper.name}'])}", HELPER_TIMEOUT)
                if out.exit_code != 0 or out.timed_out:
                    raise TaskError(f"{helper}: MLGym's helper failed (exit {out.exit_code}):\n{out.output[-2000:]}")
        finally:
            box.close()
        made = [p.name for p in scratch.iterdir() if p.name != HELPERS and not (folder / p.name).exists()]
        for name in made:
            copy_out(scratch, name, folder / name)  # plain files and folders only, never a link
        return [folder / name for name in made]
    finally:
        if bounded is not None:
            bounded.close()
        remove_tree(root)


def _survey(root: Path, config: Path, benchmark_only: bool) -> MLGymTask:
    from synthml.task_bank.task import load_task

    raw = _raw(config)
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


def _gpu_reasons(task: "Task") -> list[str]:
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


def _data_reasons(task: "Task") -> list[str]:
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
                               "synthml.task_bank.mlgym.prepare_mlgym_data")
            else:
                reasons.append(f"needs a download: {dataset.data_path} is not in the checkout")
    return reasons


def _missing_data_helpers(task: "Task") -> tuple[Path, ...]:
    missing = [d.data_path for d in task.datasets if d.is_local and not task.path(d.data_path).exists()]
    return tuple(h for data_path in missing for h in _helpers_for(task, data_path))


def _helpers_for(task: "Task", data_path: str) -> list[Path]:
    folder = task.path(data_path).parent / HELPERS
    return sorted(p for p in folder.glob("*.py") if p.resolve().is_relative_to(task.root.resolve()))


def _starter_python(task: "Task") -> list[Path]:
    paths = [task.path(entry) for entry in task.config.starter_code]
    return [f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py")) if f.suffix == ".py" and f.is_file()]


def _checkout(root: str | Path) -> Path:
    root = Path(root).expanduser().resolve()
    if not is_mlgym_checkout(root):
        raise TaskError(f"{root}: not an MLGym checkout (no {TASK_CONFIGS}/); point at the folder that holds "
                        "MLGym's configs/ and data/")
    return root


def _configs(root: Path) -> list[Path]:
    return sorted((root / TASK_CONFIGS).glob("*.yaml"))


def _raw(path: Path) -> dict:
    """A YAML's fields, or none where it does not read (the listing reports why when it loads it)."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}
