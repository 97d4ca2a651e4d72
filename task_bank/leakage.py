"""Leakage checks: does anything the agent can see carry the hidden test labels?

Two checks, both on the host over plain files (no task code runs here): a fingerprint check (a
visible file that is a hidden file, or a visible column that matches the test labels row for row)
and the choice of cheating probes: the visible columns most like the labels, which the validator
then submits as predictions through the task's own evaluator, in the sandbox.
"""

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

from synthml.tasks.task import Task

MATCH = 0.99
"""A visible column agreeing with the labels on this share of rows carries them."""
MAX_ROWS = 200_000


@dataclass(frozen=True)
class Labels:
    file: str
    """Hidden file they come from, relative to the task root."""
    column: str
    by_id: dict[str, str]
    """Label of each row id (or row number, when the file has no `id` column)."""


@dataclass(frozen=True)
class Probe:
    source: str
    """Visible file and column, e.g. data/test.csv:petal_length."""
    submission: str
    """A submission (CSV text) that offers that column as the predictions."""
    agreement: float


def hidden_labels(task: Task) -> list[Labels]:
    """Every labelled column of the task's hidden CSV files."""
    found = []
    for hidden in task.hidden_files:
        table = _read_csv(task.path(hidden))
        if table:
            ids = _row_ids(table)
            found += [Labels(hidden, column, dict(zip(ids, values, strict=True)))
                      for column, values in table.items() if column != "id"]
    return found


def fingerprint_leaks(task: Task, workspace: Path, labels: list[Labels]) -> list[str]:
    """Visible files (the pristine workspace) that carry hidden files or test labels."""
    hidden_digests = {_sha256(task.path(h)): h for h in task.hidden_files if task.path(h).is_file()}
    leaks = []
    for path in _files(workspace):
        shown = str(path.relative_to(workspace))
        if (digest := _sha256(path)) in hidden_digests:
            leaks.append(f"{shown} is a copy of the hidden file {hidden_digests[digest]}")
            continue
        for column, agreement, label in _column_matches(path, labels):
            if agreement >= MATCH:
                leaks.append(f"{shown} column '{column}' matches the test labels ('{label.column}' of "
                             f"{label.file}) on {agreement:.0%} of rows")
    return leaks


def cheating_probes(workspace: Path, labels: list[Labels], limit: int = 3) -> list[Probe]:
    """The visible columns most like the labels, each written as a submission for the labels' file."""
    scored = []
    for path in _files(workspace):
        for column, agreement, label in _column_matches(path, labels):
            source = f"{path.relative_to(workspace)}:{column}"
            scored.append((agreement, source, _as_submission(path, column, label)))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [Probe(source, submission, agreement) for agreement, source, submission in scored[:limit]]


def _column_matches(path: Path, labels: list[Labels]):
    """(column, agreement, labels) for each visible column aligned with some labels' rows."""
    table = _read_csv(path)
    if not table:
        return
    for label in labels:
        ids = _aligned_ids(table, label)
        aligned = [i for i, row_id in enumerate(ids) if row_id in label.by_id]
        if len(aligned) < len(label.by_id):
            continue
        truth = [label.by_id[ids[i]] for i in aligned]
        for column, values in table.items():
            if column != "id":
                yield column, _agreement([values[i] for i in aligned], truth), label


def _agreement(values: list[str], truth: list[str]) -> float:
    numeric = [(_number(v), _number(t)) for v, t in zip(values, truth, strict=True)]
    if all(v is not None and t is not None for v, t in numeric):
        same = sum(math.isclose(v, t, rel_tol=1e-6, abs_tol=1e-9) for v, t in numeric)
    else:
        same = sum(v.strip() == t.strip() for v, t in zip(values, truth, strict=True))
    return same / len(truth) if truth else 0.0


def _as_submission(path: Path, column: str, label: Labels) -> str:
    table = _read_csv(path)
    rows = [f"{row_id},{_quote(value)}" for row_id, value in zip(_aligned_ids(table, label), table[column], strict=True)
            if row_id in label.by_id]
    return "\n".join([f"id,{label.column}", *rows]) + "\n"


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def _read_csv(path: Path) -> dict[str, list[str]] | None:
    """Columns of a CSV file; None for anything that is not a rectangular CSV with a header."""
    if path.suffix.lower() not in (".csv", ".tsv", ".txt") or not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(_limited(csv.reader(f, delimiter="\t" if path.suffix == ".tsv" else ",")))
    except (UnicodeDecodeError, csv.Error, OSError):
        return None
    if len(rows) < 2 or any(len(r) != len(rows[0]) for r in rows):
        return None
    return {name: [r[i] for r in rows[1:]] for i, name in enumerate(rows[0])}


def _limited(reader):
    for i, row in enumerate(reader):
        if i > MAX_ROWS:
            return
        yield row


def _row_ids(table: dict[str, list[str]]) -> list[str]:
    return table["id"] if "id" in table else [str(i) for i in range(len(next(iter(table.values()))))]


def _aligned_ids(table: dict[str, list[str]], label: Labels) -> list[str]:
    """Row ids of a visible table; a table without ids as long as the labels lines up row by row."""
    rows = len(next(iter(table.values())))
    if "id" not in table and rows == len(label.by_id):
        return list(label.by_id)
    return _row_ids(table)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
