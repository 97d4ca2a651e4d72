"""The rollout store: one final record per episode, in sharded JSONL, and a log of failed attempts.

    OUT/rollout.json               the latest run's resolved config
    OUT/trajectories/part-00000.jsonl ...   one Trajectory line per finished episode (its episode_id set)
    OUT/attempts.jsonl             one line per attempt that failed on infrastructure (never a record above)

Only the driver writes, one line at a time (flock, O_APPEND, fsync), under a lock on OUT/.lock that keeps
a second rollout out. A line a kill cut short can only be the last of a file: it is cut off on open, and
its episode, unrecorded, runs again. So a store holds every finished episode exactly once.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from synthml.agents.trajectory import Trajectory, append_trajectory, read_trajectories
from synthml.errors import SynthMLError
from synthml.io import append_line, cut_torn_line, read_lines, run_lock

CONFIG = "rollout.json"
SHARDS = "trajectories"
ATTEMPTS = "attempts.jsonl"
SHARD_RECORDS = 1000
FailureKind = Literal["worker_died", "sandbox", "endpoint", "crash"]


class Attempt(BaseModel):
    """An attempt at an episode that failed on infrastructure: data about the run, never about the agent."""

    model_config = ConfigDict(extra="forbid")

    episode_id: str = Field(description="The episode attempted.")
    attempt: int = Field(ge=1, description="1 for the first attempt.")
    kind: FailureKind = Field(description="worker_died: the Ray actor died; sandbox: the env's sandbox failed; "
                                          "endpoint: the LLM endpoint failed; crash: an exception in our code.")
    error: str = Field(description="What failed, as the worker or Ray reported it.")
    final: bool = Field(description="The last attempt this run allowed: the episode stays unfinished until a rerun.")
    worker: str = Field(description="The worker (Ray actor name) it ran on.")
    endpoint: str | None = Field(None, description="The LLM endpoint the episode was routed to.")
    seconds: float = Field(ge=0, description="Wall-clock seconds the attempt took.")
    at: datetime = Field(default_factory=lambda: datetime.now(UTC), description="When it failed (UTC).")
    trajectory: Trajectory | None = Field(None, description="What the agent did before the failure, if it returned.")


class RolloutStore:
    def __init__(self, out: str | Path, shard_records: int = SHARD_RECORDS) -> None:
        self.out, self.shard_records = Path(out), shard_records
        self.shards = self.out / SHARDS
        self._finished: set[str] | None = None
        self._shard, self._shard_count = 0, 0

    @contextmanager
    def exclusive(self, what: str = "rollout") -> Iterator["RolloutStore"]:
        """Holds OUT/.lock for a run (a `what`: rollout, bench), mends what a killed run left, and opens the shard
        to append to."""
        self.shards.mkdir(parents=True, exist_ok=True)
        with run_lock(self.out, f"another {what} is writing here", "wait for it, or pass another --out"):
            for path in [*self._shard_paths(), self.out / ATTEMPTS]:
                cut_torn_line(path)
            self._open_last_shard()
            yield self

    def finished(self) -> set[str]:
        """Ids of the episodes with a final record."""
        if self._finished is None:
            self._finished = {t.episode_id for t in self.trajectories() if t.episode_id}
        return self._finished

    def record(self, trajectory: Trajectory) -> bool:
        """Appends an episode's final record; False (nothing written) if the episode has one already."""
        if not trajectory.episode_id:
            raise SynthMLError("RolloutStore.record: the trajectory has no episode_id")
        if trajectory.episode_id in self.finished():
            return False
        if self._shard_count >= self.shard_records:
            self._shard, self._shard_count = self._shard + 1, 0
        append_trajectory(self._shard_path(self._shard), trajectory)
        self._shard_count += 1
        self.finished().add(trajectory.episode_id)
        return True

    def log_attempt(self, attempt: Attempt) -> None:
        append_line(self.out / ATTEMPTS, attempt.model_dump_json())

    def trajectories(self) -> Iterator[Trajectory]:
        """The finished episodes' records; read without the lock (a report), a line being written is left out."""
        for path in self._shard_paths():
            yield from read_trajectories(path, skip_torn=True)

    def attempts(self) -> list[Attempt]:
        path = self.out / ATTEMPTS
        return [Attempt.model_validate_json(line) for _, line in read_lines(path, skip_torn=True)] \
            if path.is_file() else []

    def _shard_paths(self) -> list[Path]:
        return sorted(self.shards.glob("part-*.jsonl")) if self.shards.is_dir() else []

    def _shard_path(self, index: int) -> Path:
        return self.shards / f"part-{index:05d}.jsonl"

    def _open_last_shard(self) -> None:
        paths = self._shard_paths()
        if paths:
            self._shard = int(paths[-1].stem.split("-")[1])
            self._shard_count = sum(1 for line in paths[-1].read_bytes().splitlines() if line.strip())

