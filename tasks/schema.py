"""On-disk schema of a task: MLGym's task and dataset YAML fields plus SynthML's extensions.

An MLGym checkout's `configs/tasks/X.yaml` validates unmodified; SynthML tasks add the fields
under "SynthML extensions" to the same YAML.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from synthml.tasks.paths import TaskId


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitConfig(Schema):
    name: str = Field(description="Split name, e.g. train.")
    file_regex: str = Field(description="Regex matching the split's files.")


class DatasetConfig(Schema):
    """A dataset YAML, as MLGym's `configs/datasets/X.yaml`."""

    name: str = Field(description="Dataset name; upper-cased as the heading in {dataset_docs}.")
    description: str = Field(description="What the files hold, shown to the agent.")
    data_path: str = Field(description="Local folder (relative to the task root) or a Hub id.")
    is_local: bool = Field(False, description="True when data_path is a local folder copied to data/.")
    train_split: SplitConfig | None = Field(None, description="Files of the training split.")
    valid_split: SplitConfig | None = Field(None, description="Files of the validation split.")
    test_split: SplitConfig | None = Field(None, description="Files of the test split.")


class Metric(Schema):
    name: str = Field(description="Key of the metric in the evaluator's JSON.")
    direction: Literal["max", "min"] = Field(description="max: higher is better; min: lower is better.")

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is better."""
        return 1 if self.direction == "max" else -1


class DatasetProvenance(Schema):
    id: str = Field(description="Catalog or Hub id of the dataset.")
    source: str | None = Field(None, description="Package and loader, or 'hub'.")
    revision: str | None = Field(None, description="Pinned revision (Hub commit or package version).")
    sha256: str | None = Field(None, description="sha256 of the materialised table.")
    license: str | None = Field(None, description="Licence, where known.")


class Provenance(Schema):
    generator: str = Field(description="What wrote the task: 'handwritten', a family name, or 'llm'.")
    topic: str | None = Field(None, description="Research topic the task was sampled for.")
    dataset: DatasetProvenance | None = Field(None, description="Where the data came from.")
    model: str | None = Field(None, description="LLM that wrote the task, if any.")
    knobs: dict[str, Any] | None = Field(None, description="Seeded choices that made this task (metric, twists).")
    created_at: datetime | None = Field(None, description="When the task was written (UTC).")


class TaskConfig(Schema):
    """A task YAML. MLGym's fields first, then SynthML's extensions (all optional)."""

    id: TaskId = Field(description="Unique task identifier; a slug, since it names host folders (see paths.TASK_ID).")
    name: str = Field(description="Display name.")
    description: str = Field(description="Task statement; `{dataset_docs}` expands to the datasets' docs.")
    dataset_configs: list[str] = Field([], description="Dataset YAML paths, relative to the config root.")
    task_entrypoint: Literal["CSVSubmissionTasks", "PythonSubmissionTasks", "ModelSubmissionTasks",
                             "LMSubmissionTasks"] = Field("CSVSubmissionTasks", description="MLGym task class "
                                                          "deciding how the evaluator is called.")
    training_timeout: int | None = Field(None, gt=0, description="Seconds allowed for a training run.")
    requirements_path: str | None = Field(None, description="requirements.txt for a task runtime.")
    use_generic_conda: bool = Field(True, description="Use the generic runtime (MLGym's generic conda).")
    benchmark_name: str | None = Field(None, description="Unused by MLGym; kept for compatibility.")
    starter_code: list[str] = Field([], description="Files or folders copied into the workspace.")
    baseline_paths: list[str] = Field([], description="Baseline scripts, relative to the workspace.")
    baseline_scores: list[dict[str, float]] = Field([], description="Baseline metrics on the submit split.")
    sample_submission: str | None = Field(None, description="A valid example submission.")
    evaluation_paths: list[str] = Field([], description="Evaluation scripts, relative to the workspace.")
    evaluation_read_only: bool = Field(False, description="Make evaluation scripts read-only for the agent.")
    secret_files: list[str] = Field([], description="MLGym's unimplemented secret files; treated as hidden.")
    memory_path: str | None = Field(None, description="Memory file copied to /home/agent/memory.json.")

    # SynthML extensions
    metrics: list[Metric] = Field([], description="Metrics with directions; the first is primary by default.")
    primary_metric: str | None = Field(None, description="Name of the metric that scores the task.")
    submission_files: list[str] = Field(
        [], description="Workspace files the evaluator reads (nothing else comes from the workspace); the "
        "first is what `submit` needs."
    )
    hidden_files: list[str] = Field(
        [], description="Evaluation-only files (test labels); never in the agent's sandbox."
    )
    validation_split: str | None = Field(
        None, description="Split `validate` scores on (passed as --split); None: as MLGym, the submit split."
    )
    baseline_validation_scores: list[dict[str, float]] = Field(
        [], description="Baseline metrics on the validation split."
    )
    reference_solution: str | None = Field(
        None, description="A stronger solution by the task's author, never shown to the agent; the validator "
        "runs it to measure headroom over the baseline."
    )
    trivial_solution: str | None = Field(
        None, description="The ladder's bottom rung (a constant, a random policy), never shown to the agent."
    )
    default_solution: str | None = Field(
        None, description="A fixed cheap default a practitioner would try first (gradient boosting, TF-IDF + "
        "linear, seasonal naive, a textbook heuristic), never shown; the reference must beat it."
    )
    reference_scores: list[dict[str, float]] = Field(
        [], description="Reference solution metrics on the submit split (the gap the bounded reward divides by)."
    )
    reference_validation_scores: list[dict[str, float]] = Field(
        [], description="Reference solution metrics on the validation split."
    )
    provenance: Provenance | None = Field(None, description="Who wrote the task, from which data.")

