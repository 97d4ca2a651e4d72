"""From an LLM's task spec to a task dir: its prepare.py runs in the sandbox on the raw table, and the
splits it writes become a TaskDraft that the shared writer lays out (test labels into hidden/).

The host never runs generated code; it only reads the CSV files the sandbox wrote back.
"""

import tempfile
from pathlib import Path

import pandas as pd

from synthml.envs.sandbox import Mounts, disk
from synthml.envs.sandbox.config import SandboxConfig
from synthml.errors import CopyRefused, SynthMLError, TaskError
from synthml.task_bank.catalog import DatasetEntry, load_table
from synthml.task_bank.draft import TaskDraft, write_task
from synthml.task_bank.families.scripts import default_script, trivial_script
from synthml.task_bank.synthesis.spec import STANDARD_METRICS, TaskSpec
from synthml.task_bank.synthesis.taxonomy import Topic
from synthml.tasks.schema import Metric
from synthml.tasks.task import PROVENANCE

SPLITS = ("train", "validation", "test")
PREPARE_TIMEOUT = 300
MAX_SPLIT_BYTES = 200 * 2**20


class AssemblyFailed(SynthMLError):
    """The spec could not become a task dir; `reason` is a validator rejection reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def assemble(spec: TaskSpec, entry: DatasetEntry, topic: Topic, task_id: str, out: Path, *,
             sandbox: SandboxConfig, runtime: Path | None, model: str, knobs: dict) -> None:
    """Write the task dir `out` (absent or empty) from the spec; AssemblyFailed says why it cannot be."""
    if missing := spec.missing():
        raise AssemblyFailed("schema", f"the task lacks {', '.join(missing)}")
    unknown = [m.name for m in spec.metrics if m.name not in STANDARD_METRICS]
    if unknown and not spec.files.get("evaluate.py", "").strip():
        raise AssemblyFailed("schema", f"metric(s) {', '.join(unknown)} are unknown to the standard evaluator "
                             f"({', '.join(STANDARD_METRICS)}); write evaluate.py or choose among those")
    splits = prepare_data(spec.files["prepare.py"], entry, sandbox, runtime)
    (trivial, trivial_summary), (default, default_summary) = (  # the procedural families' fixed rungs, by kind
        trivial_script(spec.target, spec.kind), default_script(spec.target, spec.kind))
    try:
        draft = TaskDraft(
            task_id=task_id, name=spec.name, intro=spec.statement, target=spec.target, kind=spec.kind,
            metrics=tuple(Metric(name=m.name, direction=m.direction) for m in spec.metrics),
            train=splits["train"], validation=splits["validation"], test=splits["test"],
            baseline_code=spec.files["baseline.py"], baseline_summary=spec.baseline_summary or "the baseline",
            reference_code=spec.files["reference.py"], reference_summary="", family="llm", topic=topic.topic,
            trivial_code=trivial, trivial_summary=trivial_summary, default_code=default,
            default_summary=default_summary,
            dataset=entry, knobs=knobs, generator="llm", model=model)
        write_task(draft, out)
    except Exception as e:  # whatever odd data trips the writer is this task's failure, not the run's
        why = str(e) if isinstance(e, TaskError) else f"{type(e).__name__}: {e}"
        raise AssemblyFailed("prepare_failed", f"the splits prepare.py wrote do not make a task: {why}") from None
    if evaluator := spec.files.get("evaluate.py", "").strip():
        (out / "evaluate.py").write_text(evaluator + "\n")
    (out / PROVENANCE).mkdir()
    (out / PROVENANCE / "prepare.py").write_text(spec.files["prepare.py"])


def prepare_data(code: str, entry: DatasetEntry, sandbox: SandboxConfig,
                 runtime: Path | None) -> dict[str, pd.DataFrame]:
    """Run prepare.py in a sandbox whose workspace holds raw/dataset.csv; read back the splits it wrote."""
    with tempfile.TemporaryDirectory(prefix="synthml-prepare-") as scratch:
        folder = disk.bounded(getattr(sandbox, "limits", None), Path(scratch) / "box")
        try:
            return _prepare_in(Path(scratch) / "box", Path(scratch) / "back", code, entry, sandbox, runtime)
        finally:
            if folder is not None:
                folder.close()


def _prepare_in(box_folder: Path, back: Path, code: str, entry: DatasetEntry, sandbox: SandboxConfig,
                runtime: Path | None) -> dict[str, pd.DataFrame]:
    """prepare_data in a folder of its own (bounded in bytes and files where possible)."""
    workspace = box_folder / "workspace"
    (workspace / "raw").mkdir(parents=True)
    load_table(entry).to_csv(workspace / "raw" / "dataset.csv", index=False)
    (workspace / "prepare.py").write_text(code)
    box = sandbox.build(Mounts(workspace=workspace, runtime=runtime))
    try:
        out = box.run("python prepare.py", timeout=PREPARE_TIMEOUT)
        if out.timed_out:
            raise AssemblyFailed("prepare_failed", f"`python prepare.py` ran past {PREPARE_TIMEOUT} s")
        if out.exit_code != 0:
            raise AssemblyFailed("prepare_failed", f"`python prepare.py` failed with exit code {out.exit_code}:"
                                 f"\n{out.output[-1500:]}")
        absent = [s for s in SPLITS if not box.download(f"data/{s}.csv", back / f"{s}.csv")]
    except CopyRefused as e:
        raise AssemblyFailed("prepare_failed", f"the splits prepare.py wrote cannot be copied out: {e}") from None
    finally:
        box.close()
    if absent:
        files = ", ".join(f"data/{s}.csv" for s in absent)
        raise AssemblyFailed("prepare_failed", f"prepare.py ran but wrote no {files}")
    return {s: _read_split(back / f"{s}.csv") for s in SPLITS}


def _read_split(path: Path) -> pd.DataFrame:
    if path.is_dir() or path.stat().st_size > MAX_SPLIT_BYTES:
        raise AssemblyFailed("prepare_failed", f"data/{path.name} is not a CSV file under {MAX_SPLIT_BYTES >> 20} MB")
    try:
        frame = pd.read_csv(path)
    except ValueError as e:  # pandas' parser errors among them
        raise AssemblyFailed("prepare_failed", f"data/{path.name} is not readable CSV: {e}") from None
    if frame.empty:
        raise AssemblyFailed("prepare_failed", f"data/{path.name} has no rows")
    return frame.drop(columns=["id"], errors="ignore")  # the writer numbers the rows itself
