"""A program task: the agent submits code (a policy, a strategy, a heuristic, a training program) that a
hidden evaluator calls on instances the agent never sees. MLGym's Python-submission tasks, with a
validation split of visible instances and a test split of hidden ones.

The evaluator imports the submission module; in an episode or a validation that module runs in a
sandbox of its own and every call crosses a pipe as plain JSON data (`envs/submission_proxy.py`), so
arguments and results must be None, bool, int, float, str, lists, tuples or dicts of them.

Evaluator contract (`python evaluate.py --split validation|test`, run from the workspace root):
- reads the split's instances from `data/validation.json` or `hidden/test.json`;
- imports the submission module after parsing its arguments, and treats anything it returns as
  untrusted (wrong types, NaN, exceptions: the instance scores as the task's worst, never a crash);
- prints `{"instance_scores": [...]}` (one float per instance, at most 100, 6 significant digits),
  then, as its last line, the metrics as one JSON object whose primary metric is the mean of those
  scores. The validator bootstraps its confidence intervals from the instance scores.

The ladder (`trivial`, `default`, `reference`) holds whole submission modules, kept in `reference/`,
which never reaches the agent's workspace; the baseline is the submission as the agent finds it.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthml.errors import TaskError
from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import provenance_of, tidy
from synthml.tasks.schema import Metric, TaskConfig
from synthml.tasks.task import write_task_yaml

RUNGS = ("trivial", "default", "reference")
VALIDATION, TEST = "data/validation.json", "hidden/test.json"
MAX_INSTANCES = 100


@dataclass(frozen=True, eq=False)
class ProgramDraft:
    task_id: str
    name: str
    intro: str
    """Problem statement paragraph, the first thing the agent reads: what to write and how it is scored."""
    family: str
    topic: str
    """The research question the task exercises, one sentence."""
    submission: str
    """The module the agent edits and submits, e.g. `policy.py`."""
    baseline: str
    """The submission module as the agent finds it: an honest simple solution."""
    baseline_summary: str
    evaluator: str
    """Text of evaluate.py (see the module docstring for its contract)."""
    validation: list[Any]
    """Instances of the validation split (JSON data: seeds, opponents, problems), visible to the agent."""
    test: list[Any]
    """Instances of the test split, hidden."""
    ladder: dict[str, str]
    """Submission modules by rung: `trivial`, `default` (a cheap standard solution), `reference` (stronger)."""
    metrics: tuple[Metric, ...]
    """The first is primary: the mean of the instance scores."""
    knobs: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    """Extra statement paragraphs: the interface, constraints, budgets."""
    files: dict[str, str] = field(default_factory=dict)
    """Other visible files, by workspace path (helpers the evaluator and the agent share, notes)."""
    environment: str = ""
    """What the instances come from (e.g. `gymnasium CartPole-v1`), for provenance."""
    dataset: DatasetEntry | None = None
    """The catalog dataset the instances come from (a forecast's series), for provenance and the lookup probe."""
    training_timeout: int = 600

    def __post_init__(self) -> None:
        problems = []
        if set(self.ladder) != set(RUNGS):
            problems.append(f"ladder has {sorted(self.ladder)}, not {list(RUNGS)}")
        if not self.metrics:
            problems.append("no metrics; the first one is primary")
        if not self.submission.endswith(".py") or "/" in self.submission:
            problems.append(f"submission {self.submission!r} must be a module file at the workspace root")
        for split, instances in (("validation", self.validation), ("test", self.test)):
            if not 1 <= len(instances) <= MAX_INSTANCES:
                problems.append(f"{split} has {len(instances)} instances; 1 to {MAX_INSTANCES} are allowed")
        if clash := {self.submission, "evaluate.py"} & set(self.files):
            problems.append(f"files repeat {sorted(clash)}")
        if nested := [path for path in self.files if "/" in path]:
            problems.append(f"files {nested} must lie at the workspace root (starter files are copied by name)")
        if problems:
            raise TaskError(f"program draft {self.task_id}: {'; '.join(problems)}")


def write_program_task(draft: ProgramDraft, out: Path) -> Path:
    """Write the task dir into `out` (absent or empty) and return it."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: not empty; write a task into a new or empty folder")
    files = {draft.submission: draft.baseline, "evaluate.py": draft.evaluator, **draft.files,
             VALIDATION: json.dumps(draft.validation, indent=1) + "\n", TEST: json.dumps(draft.test, indent=1) + "\n",
             **{f"reference/{rung}.py": draft.ladder[rung] for rung in RUNGS}}
    for relative, text in files.items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(text)
    write_task_yaml(out / "task.yaml", program_task_yaml(draft))
    return out


def program_task_yaml(draft: ProgramDraft) -> dict:
    primary = draft.metrics[0]
    data = {
        "id": draft.task_id, "name": draft.name, "description": _description(draft),
        "task_entrypoint": "PythonSubmissionTasks", "training_timeout": draft.training_timeout,
        "use_generic_conda": True,
        "starter_code": [draft.submission, "evaluate.py", *sorted(draft.files), "data"],  # copied by name, as MLGym
        "baseline_paths": [draft.submission], "baseline_scores": [],
        "evaluation_paths": ["evaluate.py"], "evaluation_read_only": True,
        "metrics": [m.model_dump() for m in draft.metrics], "primary_metric": primary.name,
        "submission_files": [draft.submission], "hidden_files": [TEST], "validation_split": "validation",
        "baseline_validation_scores": [], "reference_solution": "reference/reference.py",
        "trivial_solution": "reference/trivial.py", "default_solution": "reference/default.py",
        "provenance": provenance_of(generator=f"procedural/{draft.family}", topic=draft.topic, dataset=draft.dataset,
                                    knobs={**draft.knobs, **({"environment": draft.environment}
                                                             if draft.environment else {})}),
    }
    TaskConfig.model_validate(data)
    return data


def _description(draft: ProgramDraft) -> str:
    primary, others = draft.metrics[0], [m.name for m in draft.metrics[1:]]
    goal = f"Goal: beat the baseline on {primary.name} ({primary.direction}imise) over the hidden test instances."
    if others:
        goal += f" Other metrics ({', '.join(others)}) are reported for information."
    files = [f"- {draft.submission}: {draft.baseline_summary}. This is your submission: edit it in place.",
             f"- {VALIDATION}: the {len(draft.validation)} validation instances `validate` scores on; the "
             f"{len(draft.test)} test instances `submit` scores on are hidden and drawn the same way.",
             "- evaluate.py: the scorer; `python evaluate.py --split validation` scores your submission on the "
             "validation instances.",
             *(f"- {path}: provided; the evaluator uses its own copy." for path in sorted(draft.files))]
    submission = (f"SUBMISSION FORMAT:\nThe evaluator imports `{draft.submission.removesuffix('.py')}` from "
                  f"{draft.submission}, in a sandbox of its own: only plain data (numbers, strings, lists, dicts) "
                  "crosses between your code and the evaluator. The `validate` command scores it on the validation "
                  "instances; `submit` scores it on the hidden test instances and ends the episode.")
    parts = [draft.intro, *draft.notes, "Your workspace holds:\n" + "\n".join(files), goal, submission]
    return tidy("\n\n".join(p.strip() for p in parts if p.strip()))
