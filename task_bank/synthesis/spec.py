"""What each pipeline step asks the LLM for: the reply's model and its JSON schema.

The schemas are written out flat (no `$ref`) and use no `pattern`: llama-cpp-python's grammar for a
pattern lets the reply out of its string, so a constrained reply would not even be JSON.
"""

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthml.task_bank.families.evaluate import METRICS

FILES = ("prepare.py", "baseline.py", "evaluate.py", "reference.py")
"""The code of a task; evaluate.py may be left out for the standard evaluator of known metrics."""
REQUIRED_FILES = ("prepare.py", "baseline.py", "reference.py")
STANDARD_METRICS = tuple(name for name in METRICS if name != "expected_cost")
"""What the standard evaluator (used when a task brings no evaluate.py) scores without parameters."""
HUB_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}"


class Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a model that adds a field has still answered


class TopicIdea(Reply):
    area: str = Field(min_length=1)
    topic: str = Field(min_length=8)

    def usable(self) -> bool:
        """A question of a few words, not a template placeholder echoed back."""
        return len(self.topic.split()) >= 4 and not re.search(r"[<>{}]", self.topic)


class TopicList(Reply):
    topics: list[TopicIdea] = Field(min_length=1)


class Proposal(Reply):
    dataset_id: str = Field(min_length=1)
    rationale: str = ""


class MetricSpec(Reply):
    name: str = Field(min_length=1)
    direction: Literal["max", "min"]


class TaskSpec(Reply):
    """A task as the LLM writes it; a repair reply may carry only what changed (see `merged`)."""

    name: str | None = None
    statement: str | None = None
    target: str | None = None
    kind: Literal["classification", "regression"] | None = None
    metrics: list[MetricSpec] | None = None
    baseline_summary: str | None = None
    files: dict[str, str] = {}

    @field_validator("files")
    @classmethod
    def _known_files(cls, files: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(files) - set(FILES))
        if unknown:
            raise ValueError(f"unknown file(s) {unknown}; a task's files are {', '.join(FILES)}")
        return files

    def merged(self, patch: "TaskSpec") -> "TaskSpec":
        """This spec with the patch's fields and files over it."""
        fields = {k: v for k, v in patch.model_dump(exclude={"files"}).items() if v is not None}
        return TaskSpec.model_validate({**self.model_dump(), **fields, "files": {**self.files, **patch.files}})

    def missing(self) -> list[str]:
        absent = [f for f in ("name", "statement", "target", "kind", "metrics") if not getattr(self, f)]
        return absent + [f"files.{name}" for name in REQUIRED_FILES if not self.files.get(name, "").strip()]


_STRING = {"type": "string"}
_LINE = {"type": "string", "maxLength": 300}
_METRIC = {"type": "object", "properties": {"name": _STRING, "direction": {"enum": ["max", "min"]}},
           "required": ["name", "direction"]}
_FILES = {"type": "object", "properties": {name: _STRING for name in FILES}}
TASK_SCHEMA = {"type": "object", "required": ["name", "statement", "target", "kind", "metrics", "baseline_summary",
                                              "files"],
               "properties": {"name": _LINE, "statement": _STRING, "target": _LINE,
                              "kind": {"enum": ["classification", "regression"]},
                              "metrics": {"type": "array", "minItems": 1, "items": _METRIC},
                              "baseline_summary": _LINE,
                              "files": {**_FILES, "required": list(REQUIRED_FILES)}}}
REPAIR_SCHEMA = {"type": "object", "required": ["files"],
                 "properties": {**TASK_SCHEMA["properties"], "files": _FILES}}


def topics_schema(areas: list[str]) -> dict:
    item = {"type": "object", "properties": {"area": {"enum": areas}, "topic": _LINE}, "required": ["area", "topic"]}
    return {"type": "object", "required": ["topics"],
            "properties": {"topics": {"type": "array", "minItems": 1, "items": item}}}


def proposal_schema(offered: list[str], *, hub: bool) -> dict:
    """One of the offered ids; with the Hub reachable, any id (verified after)."""
    dataset_id = {"type": "string", "maxLength": 200} if hub else {"enum": offered}
    return {"type": "object", "properties": {"dataset_id": dataset_id, "rationale": _LINE},
            "required": ["dataset_id", "rationale"]}
