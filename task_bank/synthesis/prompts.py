"""The pipeline's prompts. Kept short: a small local model has an 8K context, and every token is paid."""

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.synthesis.spec import STANDARD_METRICS, TaskSpec
from synthml.task_bank.synthesis.taxonomy import Area, Topic
from synthml.tasks.report import ValidationReport

SYSTEM = ("You design machine-learning research tasks for AI research agents. Each task is a small, real "
          "experiment on one dataset with a fair baseline and a measurable goal. Answer with JSON only.")
MAX_COLUMNS = 24
CELL = 60


def topics(areas: Sequence[Area], per_area: int, known: Sequence[str]) -> list[dict]:
    lines = [f"- {a.name}: e.g. {a.examples[0]}" for a in areas]
    example = json.dumps({"topics": [{"area": areas[0].name, "topic": areas[0].examples[1]}]})
    avoid = ("\nDo not repeat these topics:\n" + "\n".join(f"- {t}" for t in known[-40:])) if known else ""
    return _chat(f"List {per_area} specific research question(s) for each area of machine learning below. "
                 "Each must be answerable by experiments on one small tabular, text or image dataset in minutes "
                 "on a CPU.\nAreas:\n" + "\n".join(lines) + avoid +
                 f"\nAnswer as JSON like {example}")


def proposal(topic: Topic, offered: Sequence[DatasetEntry], *, hub: bool) -> list[dict]:
    lines = [f"- {e.id}{f' (Hub: {e.hub_id})' if e.hub_id else ''}: {e.title}; {e.task_type}, {e.rows} rows, "
             f"target `{e.target}`" for e in offered]
    others = ("Another Hugging Face Hub dataset id is accepted only if it can be verified to exist." if hub
              else "The Hub cannot be reached now: choose one of these.")
    return _chat(f"Research topic ({topic.area}): {topic.topic}\n\nPropose one dataset to study it. These are "
                 "available offline:\n" + "\n".join(lines) + f"\n{others}\n"
                 'Answer as JSON: {"dataset_id": "<id>", "rationale": "<one sentence>"}')


def task(topic: Topic, entry: DatasetEntry, table: pd.DataFrame) -> list[dict]:
    return _chat(f"Write an ML research task for an AI agent on this research topic ({topic.area}): {topic.topic}"
                 f"\n\n{dataset_card(entry, table)}\n\n{CONTRACT}")


def repair(task_messages: list[dict], spec: TaskSpec, report: ValidationReport, round: int, rounds: int,
           task_dir: Path) -> list[dict]:
    """The task prompt, the task as it stands, and why it failed: the context stays one task long. Paths
    are the task's own (where the bank lives is no business of the LLM's, nor of the call log's key)."""
    failure = report.rejections[0].model_copy(update={"detail": report.rejections[0].detail.replace(
        f"{task_dir}/", "")})
    scores = "".join(f"\n{who} scores: {json.dumps(getattr(report, who))}" for who in ("baseline", "reference")
                     if getattr(report, who))
    current = spec.model_dump_json(exclude_none=True)
    return [*task_messages, {"role": "assistant", "content": current},
            {"role": "user", "content": f"Validation round {round} of {rounds} failed: {failure.reason}: "
                                        f"{failure.detail}{scores}\n\nFix the task. Answer as JSON with the "
                                        'files you change, {"files": {"<file>": "<code>"}}, and any other '
                                        "field that changes."}]


def dataset_card(entry: DatasetEntry, table: pd.DataFrame) -> str:
    columns = [f"- {c} ({table[c].dtype}): {entry.columns.get(c, '')[:100]}" for c in table.columns[:MAX_COLUMNS]]
    if len(table.columns) > MAX_COLUMNS:
        columns.append(f"- ... and {len(table.columns) - MAX_COLUMNS} more columns like these")
    head = table.iloc[:3, :MAX_COLUMNS].map(lambda v: str(v)[:CELL]).to_csv(index=False)
    return (f"Dataset {entry.id}: {entry.title}. {' '.join(entry.about.split())}\n"
            f"raw/dataset.csv has {len(table)} rows; suggested target `{entry.target}`. Columns:\n"
            + "\n".join(columns) + f"\nFirst rows:\n{head}")


CONTRACT = f"""The agent sees data/train.csv, data/validation.csv, data/test.csv (without the target), \
baseline.py and evaluate.py; it must write submission.csv (test predictions) and validation_predictions.csv. \
Write these files:
- prepare.py: reads raw/dataset.csv and writes data/train.csv, data/validation.csv and data/test.csv, each \
with the target column and no `id` column (ids are added after, and the test labels hidden). Use a fixed \
seed. The topic's twist goes here: which columns stay, how rows are split (by subgroup for a shift, a small \
training set, by time). The table is public, so its own target can be looked up (the validator matches each \
test row to its nearest row of the public table and rejects the task if copying that row's target beats the \
baseline): for a table, keep the real columns, drop the real target, and simulate the target from the \
columns with a fixed seed (a hidden function of several of them, e.g. smooth nonlinear functions of weighted \
sums of the numeric ones, plus noise; cut at quantiles for classes), and say in the statement that it is \
simulated and how noisy; for texts, keep the documents and simulate the label the same way from features of \
their content (e.g. latent topic coordinates of their tf-idf, taken within each real class); for images, draw \
new ones; for a series, transform the values so that none can be found in the public data.
- baseline.py: a simple honest baseline. It reads data/*.csv (which then start with an `id` column), fits \
on train and writes submission.csv for every row of data/test.csv and validation_predictions.csv for every \
row of data/validation.csv, both with the columns id,<target>.
- reference.py: a stronger solution, same inputs and outputs, at least 2% better on the primary metric.
- evaluate.py (optional; leave it out for the standard evaluator of {", ".join(STANDARD_METRICS)}): \
`python evaluate.py --split validation` scores validation_predictions.csv against data/validation.csv, \
`--split test` scores submission.csv against hidden/test_labels.csv (columns id,<target>); it prints one \
JSON line of metric name to number.
Python has numpy, pandas and scikit-learn, no network; each script must run in minutes on one CPU core.
Answer as JSON: {{"name": "<short title>", "statement": "<one paragraph for the agent: the problem and the \
research question>", "target": "<column>", "kind": "classification" or "regression", "metrics": [{{"name": \
"<metric>", "direction": "max" or "min"}}] (the first is primary), "baseline_summary": "<one line on \
baseline.py>", "files": {{"prepare.py": "<code>", "baseline.py": "<code>", "reference.py": "<code>"}}}}"""


def _chat(prompt: str) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
