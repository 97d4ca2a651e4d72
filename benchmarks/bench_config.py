"""A bench's resolved config, saved as OUT/bench.json: what the report and a resumed bench read back."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synthml.agents.llm import OpenAIChatConfig
from synthml.envs.sandbox.config import SandboxField
from synthml.tasks.selection import SkippedTask, TaskRef


class BenchConfig(BaseModel):
    """A bench's resolved config, saved as OUT/bench.json (the report reads it)."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[TaskRef] = Field(description="Tasks, in table order.")
    skipped: list[SkippedTask] = Field(default_factory=list, description="Tasks named that do not run here, and why.")
    agents: list[str] = Field(description="Agent names, in table order.")
    runs: int = Field(ge=1, description="Runs per agent and task.")
    workers: int = Field(ge=1, description="Jobs played at once.")
    sandbox: SandboxField = Field(description="Sandbox of every env.")
    max_steps: int = Field(ge=1, description="Steps before an episode is truncated and auto-submitted.")
    llm: OpenAIChatConfig | None = Field(None, description="The `llm` agent's endpoint (never the key).")
    machine: dict[str, Any] = Field(default_factory=dict, description="Host, CPUs and OS the jobs ran on.")
    started_at: datetime = Field(description="When this bench invocation started (UTC).")
