"""What the validator found about a task: the rejections with their reasons, every rung's scores, the gaps
between rungs with their intervals, and the probes; the bank stores one report per task it considered."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Reason = Literal["generation_failed", "schema", "baseline_failed", "evaluation_failed", "nondeterministic",
                 "trivial_failed", "default_failed", "reference_failed", "small_test", "baseline_not_above_trivial",
                 "no_headroom", "saturated", "leakage", "lookup", "duplicate", "capped",
                 "dataset_unverified", "prepare_failed", "llm_failed"]
"""`capped` comes from `generate` (a dataset or family already holds its share of the bank); the last three
from the LLM pipeline: a proposed dataset nobody could verify, data preparation code that failed, replies
that never parsed."""
MARGIN = 0.02


class Interval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    estimate: float = Field(description="Direction-aware gap (positive: the second solution is better).")
    low: float | None = Field(description="Lower bound of the 95% bootstrap interval (None: not computable).")
    high: float | None = Field(description="Upper bound of the interval.")
    over: str = Field(description="What was resampled: rows, instances, or nothing.")

    @property
    def positive(self) -> bool:
        """The gap is above 0 with 95% confidence (or, with no interval, as estimated)."""
        return self.low > 0 if self.low is not None else self.estimate > 0


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rejection(Record):
    reason: Reason = Field(description="Which check failed.")
    detail: str = Field(description="What exactly, naming the file or command.")


class ProbeResult(Record):
    source: str = Field(description="What was submitted as the predictions: a visible column, or a lookup.")
    score: float | None = Field(description="Its primary score on the test split (None: the evaluator refused it).")


class ValidationReport(Record):
    task_id: str | None = Field(None, description="Id of the task, once its YAML parsed.")
    accepted: bool = Field(False, description="True when every check passed.")
    rejections: list[Rejection] = Field([], description="Every failed check, in the order found.")
    metric: str | None = Field(None, description="Primary metric.")
    direction: int | None = Field(None, description="+1 higher is better, -1 lower.")
    trivial: dict[str, dict[str, float]] = Field({}, description="Trivial rung metrics by split.")
    baseline: dict[str, dict[str, float]] = Field({}, description="Baseline metrics by split.")
    default: dict[str, dict[str, float]] = Field({}, description="Cheap default metrics by split.")
    reference: dict[str, dict[str, float]] = Field({}, description="Reference solution metrics by split.")
    headroom: float | None = Field(None, description="Reference over baseline on test, relative to |baseline|.")
    margin: float = Field(MARGIN, description="Headroom required.")
    gaps: dict[str, Interval] = Field({}, description="Reference over the cheap default by split, with its "
                                      "95% bootstrap interval.")
    tier: int | None = Field(None, description="How far the reference is above the cheap default on test (see "
                             "TIERS): 1 narrow, 2 moderate, 3 wide.")
    test_size: int | None = Field(None, description="Test rows, or a program task's test instances.")
    probes: list[ProbeResult] = Field([], description="Cheating and lookup probes and their scores.")
    seconds: float = Field(0.0, description="Wall time of the validation.")

    def reject(self, reason: Reason, detail: str) -> "ValidationReport":
        self.rejections.append(Rejection(reason=reason, detail=detail))
        return self
