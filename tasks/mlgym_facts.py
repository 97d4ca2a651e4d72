"""MLGym's facts that its task YAMLs leave out (metric directions, submission files, answers kept in data/),
and where a checkout keeps its task YAMLs.

MLGym's `scripts/evaluation` hard-codes which metrics are minimised; here the table is data, and a task
YAML's own `metrics`/`submission_files` (or a caller's override) win over it. A checkout's task is named as
MLGym's `run.py --task_config_path` names it (`tasks/blotto.yaml`), or by its config's stem or its id.
"""

import difflib
from pathlib import Path
from typing import NamedTuple

import yaml

from synthml.errors import TaskError
from synthml.tasks.schema import Metric


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
TASK_CONFIGS = Path("configs/tasks")


def mlgym_config(root: str | Path, ref: str) -> Path:
    """The task YAML that `ref` names: `tasks/X.yaml` (MLGym's --task_config_path), `X` or a task id."""
    root = checkout_root(root)
    configs = config_paths(root)
    stem = ref.removeprefix("configs/").removeprefix("tasks/").removesuffix(".yaml")
    for path in configs:
        if path.stem == stem:
            return path
    by_id = [path for path in configs if raw_fields(path).get("id") == ref]
    if len(by_id) == 1:
        return by_id[0]
    names = [f"tasks/{path.name}" for path in configs]
    if by_id:
        shared = ", ".join(f"tasks/{path.name}" for path in by_id)
        raise TaskError(f"{root}: task id '{ref}' is in {len(by_id)} configs ({shared}); name one of them")
    close = difflib.get_close_matches(stem, [path.stem for path in configs], n=1)
    hint = f"did you mean tasks/{close[0]}.yaml?" if close else f"tasks: {', '.join(names) or 'none'}"
    raise TaskError(f"{root}: no MLGym task '{ref}' in {TASK_CONFIGS}; {hint}")


def is_mlgym_checkout(root: Path) -> bool:
    return (root / TASK_CONFIGS).is_dir()


def checkout_root(root: str | Path) -> Path:
    root = Path(root).expanduser().resolve()
    if not is_mlgym_checkout(root):
        raise TaskError(f"{root}: not an MLGym checkout (no {TASK_CONFIGS}/); point at the folder that holds "
                        "MLGym's configs/ and data/")
    return root


def config_paths(root: Path) -> list[Path]:
    return sorted((root / TASK_CONFIGS).glob("*.yaml"))


def raw_fields(path: Path) -> dict:
    """A YAML's fields, or none where it does not read (the listing reports why when it loads it)."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}
