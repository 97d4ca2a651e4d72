"""What MLGym keeps out of its task YAMLs: metric directions and submission files of its tasks.

MLGym's `scripts/evaluation` hard-codes which metrics are minimised; here the table is data, and a
task YAML's own `metrics`/`submission_files` (or a caller's override) win over it.
"""

from typing import NamedTuple

from synthml.task_bank.schema import Metric


class MLGymTaskFacts(NamedTuple):
    metrics: tuple[Metric, ...]
    """Metrics with directions; the first is primary."""
    submission_files: tuple[str, ...] = ()
    """Workspace paths the evaluator reads; empty: the whole workspace, as MLGym does."""


def _max(name: str) -> Metric:
    return Metric(name=name, direction="max")


def _min(name: str) -> Metric:
    return Metric(name=name, direction="min")


_GAME = MLGymTaskFacts((_max("Score"),), ("strategy.py",))
_RL = MLGymTaskFacts((_max("Reward Mean"), _min("Reward Std")), ("checkpoints", "config.yaml"))
_HOUSE = MLGymTaskFacts((_max("r2"), _min("rmse")), ("submission.csv",))
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
    "titanicSurvival": MLGymTaskFacts((_max("Accuracy"),), ("submission.csv",)),
}

MLGYM_BENCHMARK_TASKS = ("imageClassificationCifar10", "imageClassificationFMnist", "imageCaptioningCOCO",
                         "naturalLanguageInferenceMNLI", "languageModelingFineWeb", "regressionKaggleHousePrice",
                         "3SATTime", "battleOfSexes", "prisonersDilemma", "blotto", "rlMetaMazeMisc",
                         "rlMountainCarContinuous", "rlBreakoutMinAtar")
