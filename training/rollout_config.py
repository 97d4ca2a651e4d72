"""A rollout's resolved config, saved as OUT/rollout.json, and what a run of it did."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from synthml.agents.spec import AgentSpec
from synthml.envs.sandbox.config import SandboxField
from synthml.training.vllm_server import ServerSpec

IDENTITY = ("agent", "model", "seed", "max_steps")
"""What an episode id means besides its task: a run on the same OUT keeps these (tasks and samples may grow)."""


class RolloutConfig(BaseModel):
    """A rollout's resolved config, saved as OUT/rollout.json."""

    model_config = ConfigDict(extra="forbid")

    tasks: str = Field(description="A bank dir (its accepted tasks) or an MLGym checkout, optionally :ID1,ID2.")
    agent: AgentSpec = Field(description="What plays the episodes.")
    model: str | None = Field(None, description="The llm agent's model (from --model, the spec or the endpoints).")
    episodes_per_task: int = Field(ge=1, description="Samples per task (a GRPO group's size).")
    seed: int = Field(0, ge=0, description="Base seed: each episode's seed derives from it, its task and sample.")
    max_steps: int = Field(50, ge=1, description="Env steps before an episode is truncated and auto-submitted.")
    sandbox: SandboxField = Field("bwrap", validate_default=True, description="Sandbox of every env.")
    pool: Literal["ray", "local"] = Field("ray", description="Where episodes run: ray (actors on a Ray cluster, which "
                                                           "may launch model servers) or local (threads here).")
    workers: int = Field(2, ge=1, description="Rollout workers (Ray actors or threads), one episode each at a time.")
    cpus_per_worker: float = Field(1.0, gt=0, description="CPUs Ray reserves for each worker.")
    max_attempts: int = Field(3, ge=1, description="Attempts per episode on infrastructure failures, per run.")
    endpoints: list[str] = Field(default_factory=list, description="OpenAI-compatible base URLs (llm agent).")
    server: ServerSpec | None = Field(None, description="Model servers the rollout launches (--vllm).")
    servers: int = Field(0, ge=0, description="How many servers to launch (0: one per gpus-per-server GPUs).")
    address: str | None = Field(None, description="Ray cluster to join (None: RAY_ADDRESS, else a local one).")


@dataclass
class RolloutResult:
    out: Path
    total: int
    """Episodes planned."""
    before: int
    """Finished in earlier runs (skipped)."""
    finished: int = 0
    unfinished: int = 0
    """Episodes this run gave up on or never started (a rerun plays them)."""
    failures: dict[str, int] = field(default_factory=dict)
    """Failed attempts by kind (worker_died, sandbox, endpoint, crash)."""
    steps: int = 0
    seconds: float = 0.0
    stopped: str | None = None
    """Why the run stopped early, with the fix; None if it played everything it could."""

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0
