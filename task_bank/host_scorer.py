"""Scoring predictions on the host with the families' own evaluator, for the validator's bootstrap.

Only a task whose evaluate.py is the families' template (its `TASK = ...` line aside) is scored here:
the host then runs SynthML's code on plain files, never the task's. Any other evaluator is left to
the sandbox, and its gaps get no interval.
"""

import ast
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from synthml.tasks.task import Task

TEMPLATE = Path(__file__).parent / "families" / "evaluate.py"
TASK_LINE = re.compile(r"^TASK = (.*)$", re.M)


class HostScorer:
    """The template evaluator, configured with one task's TASK literal."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    @property
    def kind(self) -> str:
        return self.module.TASK["kind"]

    def prediction_file(self, split: str) -> str:
        return self.module.FILES[split][0]

    def truth_file(self, split: str) -> str:
        return self.module.FILES[split][1]

    def arrays(self, truth_path: Path, predictions_path: Path) -> tuple[np.ndarray, np.ndarray]:
        """Truth and predictions, aligned by id and typed as the evaluator compares them."""
        target = self.module.TASK["target"]
        truth = self.module.read_column(truth_path, target, exact=False)
        predictions = self.module.read_column(predictions_path, target, exact=True)
        t, p = self.module.aligned(truth, predictions, str(predictions_path))
        if self.kind == "classification":
            return np.array([self.module.label(v) for v in t]), np.array([self.module.label(v) for v in p])
        return self.module.numbers(t, "the truth file"), self.module.numbers(p, str(predictions_path))

    def metric(self, name: str) -> Callable[[np.ndarray, np.ndarray], float]:
        function, params = self.module.METRICS[name], self.module.TASK["params"]
        return lambda truth, predictions: function(truth, predictions, params)


def host_scorer(task: Task) -> HostScorer | None:
    """The host's scorer for `task`, or None when its evaluator is not the families' template."""
    paths = task.config.evaluation_paths
    if task.config.task_entrypoint != "CSVSubmissionTasks" or len(paths) != 1:
        return None
    try:
        text = task.path(paths[0]).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    found = TASK_LINE.search(text)
    template = TEMPLATE.read_text()
    if found is None or TASK_LINE.sub(lambda _: found.group(0), template, count=1) != text:
        return None
    try:
        literal = ast.literal_eval(found.group(1))
    except (ValueError, SyntaxError, RecursionError):
        return None
    if not isinstance(literal, dict) or not {"target", "kind", "metrics", "params"} <= set(literal):
        return None
    module = _fresh_template()
    module.TASK = literal
    return HostScorer(module)


def _fresh_template() -> ModuleType:
    spec = importlib.util.spec_from_file_location("synthml_template_evaluator", TEMPLATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
