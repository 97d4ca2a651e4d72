"""Every LLM call of a synthesis run, logged in the bank: the provenance of each task, and a cache that
lets an interrupted run resume without paying again for an answer it already has."""

import hashlib
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthml.agents.llm import LLM
from synthml.errors import SynthMLError
from synthml.io import append_line, end_torn_line, read_lines
from synthml.usage import Usage

CALLS = Path("synthesis") / "calls.jsonl"


class CostCapReached(SynthMLError):
    """The run spent its --max-cost; no new LLM call starts."""


class CallRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(description="The candidate task the call was for ('topics-<seed>' for the topics).")
    purpose: str = Field(description="Pipeline step: topics, proposal, task, repair, or a re-ask of one.")
    round: int = Field(description="Validation round the call belongs to (0 before the first).")
    key: str = Field(description="Hash of model, task, purpose, round and messages: what the call asked.")
    model: str = Field(description="The model that answered.")
    messages: list[dict] = Field(description="The prompt, as sent.")
    response_format: dict | None = Field(None, description="The structured-output request, if any.")
    reply: str = Field(description="The reply's text.")
    usage: Usage = Field(description="Tokens and cost of the call.")
    seconds: float = Field(0.0, description="Wall time of the call.")
    created_at: datetime = Field(description="When it was answered (UTC).")

    def provenance(self) -> dict:
        """What a task keeps of the call: all but the clock, so the same replies write the same files."""
        return self.model_dump(mode="json", exclude={"seconds", "created_at", "key"})


def call_key(model: str, task_id: str, purpose: str, round: int, messages: list[dict]) -> str:
    text = json.dumps([model, task_id, purpose, round, messages], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class CallLog:
    """Append-only JSONL of call records, read once when opened; a line a killed writer cut short is skipped."""

    def __init__(self, bank_root: Path) -> None:
        self.path = Path(bank_root) / CALLS
        self._lock = threading.Lock()
        self._by_key: dict[str, CallRecord] = {}
        if self.path.is_file():
            for _, line in read_lines(self.path):
                try:
                    record = CallRecord.model_validate_json(line)
                except ValidationError:
                    continue  # torn by a kill mid-write: the call is simply asked again
                self._by_key[record.key] = record
            end_torn_line(self.path)

    def get(self, key: str) -> CallRecord | None:
        return self._by_key.get(key)

    def append(self, record: CallRecord) -> None:
        with self._lock:
            append_line(self.path, record.model_dump_json())
            self._by_key[record.key] = record


class Recorder:
    """The run's one door to the LLM: answers from the log what it already holds, logs each new call,
    and refuses to start a call once `max_cost` dollars are spent (calls in flight then may finish)."""

    def __init__(self, llm: LLM, log: CallLog, max_cost: float | None = None) -> None:
        self.llm, self.log, self.max_cost = llm, log, max_cost
        self.spent = Usage()
        """What this run's new calls used (replayed ones are free)."""
        self.replayed = 0
        self._used: dict[str, list[CallRecord]] = {}
        self._lock = threading.Lock()

    def used(self, task_id: str) -> list[CallRecord]:
        """The calls this run made or replayed for the task, in order."""
        with self._lock:
            return list(self._used.get(task_id, []))

    def complete(self, messages: list[dict], *, task_id: str, purpose: str, round: int = 0,
                 response_format: dict | None = None) -> CallRecord:
        key = call_key(self.llm.name, task_id, purpose, round, messages)
        if (known := self.log.get(key)) is not None:
            with self._lock:
                self.replayed += 1
                self._used.setdefault(task_id, []).append(known)
            return known
        with self._lock:
            if self.max_cost is not None and self.spent.cost >= self.max_cost:
                raise CostCapReached(f"--max-cost {self.max_cost:g} USD reached ({self.spent.cost:.4f} USD spent by "
                                     "this run); the same command goes on where it stopped, with a new budget")
        started = time.monotonic()
        reply = self.llm.complete(messages, response_format=response_format)
        record = CallRecord(task_id=task_id, purpose=purpose, round=round, key=key, model=reply.model or self.llm.name,
                            messages=messages, response_format=response_format, reply=reply.text,
                            usage=reply.usage, seconds=float(f"{time.monotonic() - started:.3f}"),
                            created_at=datetime.now(UTC).replace(microsecond=0))
        self.log.append(record)
        with self._lock:
            self.spent += reply.usage
            self._used.setdefault(task_id, []).append(record)
        return record
