"""`synthml bank audit`: judge any bank (generated here, by an LLM, or by a stranger) by validating every task
in it again, in the sandbox, trusting nothing its manifest says: the ladder, the gaps with their bootstrap
intervals, the tier, the cheating and lookup probes, the test size, and the bank's coverage."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from synthml.envs.sandbox.config import SandboxSpec, sandbox_config
from synthml.errors import TaskError
from synthml.task_bank.coverage import Coverage, Facts, coverage
from synthml.task_bank.generate import share_cores
from synthml.task_bank.validator import validate_task
from synthml.tasks.report import ValidationReport
from synthml.tasks.task import bank_task_dirs, load_task


class AuditRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(description="The task's folder in the bank.")
    family: str = Field(description="Family or generator, from the task's provenance.")
    dataset: str | None = Field(description="Catalog or Hub id of its data, if any.")
    submission: str | None = Field(description="The file the evaluator reads first.")
    report: ValidationReport = Field(description="The validator's report, made now (not the manifest's).")


class Audit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank: str
    tasks: list[AuditRow]
    coverage: Coverage = Field(description="Coverage of the tasks that passed the audit.")

    @property
    def passed(self) -> list[AuditRow]:
        return [row for row in self.tasks if row.report.accepted]


def audit_bank(bank: Path, *, workers: int = 2, sandbox: SandboxSpec = "bwrap",
               on_row: Callable[[AuditRow], None] | None = None) -> Audit:
    """Validate every task dir of `bank` again (nothing is written into it) and sum up."""
    dirs = bank_task_dirs(Path(bank))
    if not dirs:
        raise TaskError(f"{bank}: no task dirs (folders holding a task.yaml) here; audit a bank folder")
    config = share_cores(sandbox_config(sandbox), workers)

    def audit(task_dir: Path) -> AuditRow:
        row = _row(task_dir, validate_task(task_dir, sandbox=config, record=False))
        if on_row:
            on_row(row)
        return row

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="synthml-audit") as pool:
        rows = list(pool.map(audit, dirs))
    facts = [Facts(r.family, r.dataset, r.submission, r.report.tier) for r in rows if r.report.accepted]
    return Audit(bank=str(bank), tasks=rows, coverage=coverage(facts))


def _row(task_dir: Path, report: ValidationReport) -> AuditRow:
    family, dataset, submission = "unknown", None, None
    try:
        task = load_task(task_dir)
    except TaskError:
        task = None  # the report says why
    if task is not None:
        provenance = task.config.provenance
        family = provenance.generator.removeprefix("procedural/") if provenance else "unknown"
        dataset = provenance.dataset.id if provenance and provenance.dataset else None
        submission = task.submission_files[0] if task.submission_files else None
    return AuditRow(task_id=task_dir.name, family=family, dataset=dataset, submission=submission, report=report)
