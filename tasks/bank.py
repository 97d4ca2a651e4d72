"""A task bank: MLGym-layout task dirs plus `manifest.jsonl`, one entry per task ever considered.

Accepting a task writes its manifest entry first, then moves its validated dir out of `.staging/`
into place; the manifest is rewritten whole into a temporary file and renamed over the old one. So a
process killed at any moment leaves either the old bank or the new one: `recover()` (run when a bank
is opened) finishes a move the manifest already records and drops leftover staging dirs.
"""

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthml.errors import TaskError
from synthml.io import run_lock, write_atomic
from synthml.tasks.paths import TaskId, confined
from synthml.tasks.report import ValidationReport
from synthml.tasks.task import PROVENANCE, TASK_YAML, load_task
from synthml.usage import Usage

MANIFEST = "manifest.jsonl"
STAGING = ".staging"
MANIFEST_VERSION = 1


class ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifest_version: int = Field(MANIFEST_VERSION, description="Schema version of this entry.")
    task_id: TaskId = Field(description="Task id; also the name of its dir in the bank.")
    status: Literal["accepted", "rejected"] = Field(description="Whether the task is in the bank.")
    version: str | None = Field(None, description="Content hash of the accepted task (its version).")
    content_hash: str | None = Field(None, description="Content hash as generated, before scores were recorded.")
    generator: str = Field(description="What wrote it: procedural/<family> or llm.")
    family: str | None = Field(None, description="Procedural family, if any.")
    dataset: str | None = Field(None, description="Catalog or Hub id of the data.")
    task_type: str | None = Field(None, description="Catalog task type of the data.")
    knobs: dict[str, Any] = Field({}, description="Seeded choices that made the task.")
    submission: str | None = Field(None, description="What the agent submits: the file the evaluator reads first "
                                   "(submission.csv, or the module of a program task).")
    key: str = Field(description="Near-duplicate key: generator, dataset and knobs.")
    seed: int | None = Field(None, description="Seed of the `generate` run that planned it.")
    index: int | None = Field(None, description="Its place in that run's plan.")
    report: ValidationReport = Field(description="The validator's report.")
    rounds: int | None = Field(None, description="LLM tasks: validation rounds used (1: accepted as first written).")
    usage: Usage | None = Field(None, description="LLM tasks: tokens, calls and cost of writing it.")
    created_at: datetime = Field(description="When it was recorded (UTC).")



def check_bank_folder(root: Path) -> None:
    """A bank is a folder: refuse a path that is, or lies under, a file."""
    blocker = next((p for p in [root, *root.parents] if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        where = "is a file" if blocker == root else f"lies under a file, {blocker}"
        raise TaskError(f"{root} {where}, and a bank is a folder: give --out a new or existing folder")


class TaskBank:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.manifest = self.root / MANIFEST
        self.staging = self.root / STAGING
        self._lock = threading.RLock()
        self._entries = self._read()

    def entries(self) -> list[ManifestEntry]:
        with self._lock:
            return list(self._entries.values())

    def accepted(self) -> list[ManifestEntry]:
        return [e for e in self.entries() if e.status == "accepted"]

    def get(self, task_id: str) -> ManifestEntry | None:
        return self._entries.get(task_id)

    def task_dir(self, task_id: str) -> Path:
        return confined(self.root, task_id)

    def staging_dir(self, task_id: str) -> Path:
        return confined(self.staging, task_id)

    @contextmanager
    def exclusive(self) -> Iterator["TaskBank"]:
        """Held by a run that writes the bank: a second one, in any process, fails at once instead of
        interleaving its manifest writes and staging dirs with the first's."""
        check_bank_folder(self.root)
        with run_lock(self.root, "another `synthml generate` is writing this bank",
                      "wait for it to end, or give this run another --out", TaskError):
            with self._lock:
                self._entries = self._read()  # what a writer that just let go recorded
            yield self

    def record(self, entry: ManifestEntry) -> None:
        """Record a validated task; an accepted one moves from its staging dir into the bank."""
        with self._lock:
            if entry.task_id in self._entries:
                raise TaskError(f"{self.manifest}: task {entry.task_id} is already recorded; a bank holds each id once")
            self._entries[entry.task_id] = entry
            self._write()
            if entry.status == "accepted":
                self.staging_dir(entry.task_id).rename(self.task_dir(entry.task_id))
            else:
                shutil.rmtree(self.staging_dir(entry.task_id), ignore_errors=True)

    def recover(self) -> None:
        """Finish what a killed run left: moves the manifest records, staging dirs it does not."""
        with self._lock:
            for entry in self.accepted():
                final, staged = self.task_dir(entry.task_id), self.staging_dir(entry.task_id)
                if not final.is_dir() and staged.is_dir():
                    staged.rename(final)
                elif not final.is_dir():
                    del self._entries[entry.task_id]  # lost before it was moved: plan it again
            self._write()
            shutil.rmtree(self.staging, ignore_errors=True)

    def problems(self) -> list[str]:
        """Inconsistencies between the manifest and the dirs (none in a healthy bank)."""
        found = []
        for entry in self.accepted():
            final = self.task_dir(entry.task_id)
            if not (final / TASK_YAML).is_file():
                found.append(f"{entry.task_id}: accepted in the manifest but {final} has no {TASK_YAML}")
            elif load_task(final).version != entry.version:
                found.append(f"{entry.task_id}: its files changed since validation (version differs)")
        listed = {e.task_id for e in self.accepted()}
        found += [f"{d.name}: a task dir the manifest does not list" for d in sorted(self.root.iterdir())
                  if d.is_dir() and (d / TASK_YAML).is_file() and d.name not in listed]
        if self.staging.exists() and any(self.staging.iterdir()):
            found.append(f"{self.staging}: leftover staging dirs (run `synthml generate` again to clear them)")
        return found

    def _read(self) -> dict[str, ManifestEntry]:
        if not self.manifest.is_file():
            return {}
        entries = {}
        for number, line in enumerate(self.manifest.read_text().splitlines(), 1):
            try:
                entry = ManifestEntry.model_validate_json(line)
            except ValidationError as e:
                raise TaskError(f"{self.manifest}, line {number}: not a manifest entry ({_first_problem(e)}); "
                                "restore the file or remove the line and the task dir it names") from e
            entries[entry.task_id] = entry
        return entries

    def _write(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        ordered = sorted(self._entries.values(), key=lambda e: (e.seed is None, e.seed, e.index, e.task_id))
        lines = "".join(json.dumps(e.model_dump(mode="json"), sort_keys=True) + "\n" for e in ordered)
        write_atomic(self.manifest, lines, fsync=True)


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"field '{'.'.join(map(str, first['loc']))}': {first['msg']}" if first["loc"] else first["msg"]


def export_bank(bank: TaskBank, out: Path) -> int:
    """Write the accepted tasks as a Hugging Face dataset, one row per task with every file of it:
    a `.parquet` file, or a folder (`save_to_disk`). Returns the number of rows."""
    import datasets

    rows = [_export_row(bank, entry) for entry in bank.accepted()]
    table = datasets.Dataset.from_list(rows)
    datasets.disable_progress_bars()
    if out.suffix == ".parquet":
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(str(out))
    else:
        table.save_to_disk(str(out))
    return len(rows)


def _export_row(bank: TaskBank, entry: ManifestEntry) -> dict:
    task = load_task(bank.task_dir(entry.task_id))
    report = entry.report
    paths = task.files() | {p for p in (task.root / PROVENANCE).rglob("*") if p.is_file()}
    files = [{"path": str(p.relative_to(task.root)), "content": p.read_bytes()} for p in sorted(paths)]
    return {"task_id": entry.task_id, "version": entry.version, "name": task.config.name,
            "generator": entry.generator, "family": entry.family, "dataset": entry.dataset,
            "task_type": entry.task_type, "metric": report.metric, "direction": report.direction,
            "baseline_score": task.baseline_score, "reference_score": report.reference["test"][report.metric],
            "headroom": report.headroom, "description": task.description,
            "knobs": json.dumps(entry.knobs, sort_keys=True), "report": report.model_dump_json(), "files": files}
