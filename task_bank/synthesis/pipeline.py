"""`synthml generate --llm`: topics, dataset proposals and task code from an LLM, each task validated in
the sandbox and repaired from the validator's findings for up to `max_rounds` rounds.

Candidate i of a seed is the seed's i-th topic; its id is fixed before any task LLM call, so a run
stopped anywhere (Ctrl-C, a kill, the cost cap, a dead endpoint) and started again skips the tasks
the manifest records and replays from the call log every answer it already paid for.
"""

import hashlib
import json
import logging
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from synthml.agents.llm import LLM
from synthml.envs.sandbox.config import SandboxSpec, sandbox_config
from synthml.envs.session import generic_runtime_for
from synthml.errors import LLMError, LLMRequestRejected, SandboxError
from synthml.task_bank import generate
from synthml.task_bank.catalog import load_table
from synthml.task_bank.dedupe import duplicate_of
from synthml.task_bank.generate import share_cores
from synthml.task_bank.synthesis import prompts
from synthml.task_bank.synthesis.assemble import AssemblyFailed, assemble
from synthml.task_bank.synthesis.calls import CallLog, CostCapReached, Recorder
from synthml.task_bank.synthesis.proposal import Unverified, Verified, propose_dataset
from synthml.task_bank.synthesis.replies import Structured, Unparsed, ask, structured_mode
from synthml.task_bank.synthesis.spec import REPAIR_SCHEMA, TASK_SCHEMA, TaskSpec
from synthml.task_bank.synthesis.taxonomy import Topic
from synthml.task_bank.synthesis.topics import Diversity, diversity, sample_topics
from synthml.task_bank.validator import validate_task
from synthml.tasks.bank import ManifestEntry, TaskBank
from synthml.tasks.report import MARGIN, ValidationReport
from synthml.tasks.task import PROVENANCE, load_task
from synthml.usage import Usage

log = logging.getLogger(__name__)
MAX_ROUNDS = 5
HALTS = (CostCapReached, LLMError, SandboxError, OSError)
"""What stops the whole run (the budget, the endpoint, the sandbox, the disk), leaving the candidate for the next."""


@dataclass(frozen=True)
class SynthesisConfig:
    max_rounds: int = MAX_ROUNDS
    """Validation rounds per task: the first, plus max_rounds - 1 repairs."""
    max_cost: float | None = None
    """USD this run may spend on new calls; then no new call starts and the run stops cleanly."""
    in_flight: int = 4
    """Tasks in progress at once (most of a task's time is spent waiting on the LLM)."""
    workers: int = 2
    """Sandboxed preparations and validations at once (they take the CPU)."""
    structured: Structured = "auto"
    sandbox: SandboxSpec = "bwrap"
    """A backend's name, a config dict or a config: made a config once, when the run starts."""
    margin: float = MARGIN


@dataclass(frozen=True)
class Candidate:
    seed: int
    index: int
    topic: Topic

    @property
    def task_id(self) -> str:
        digest = hashlib.sha256(f"{self.seed}:{self.index}:{self.topic.topic}".encode()).hexdigest()[:8]
        return f"llm-{re.sub(r'[^a-z0-9]+', '-', self.topic.area.lower()).strip('-')}-{digest}"


@dataclass
class Summary(generate.Summary):
    unfinished: int = 0
    """Candidates left for the next run (it stopped early: see `stopped`)."""
    stopped: str | None = None
    spent: Usage = field(default_factory=Usage)
    """New calls of this run; replayed answers cost nothing."""
    replayed: int = 0
    topics: Diversity | None = None
    structured: str = ""
    """The structured-output form used."""

    def rounds(self) -> Counter:
        """Validation rounds used, over every task that reached validation."""
        return Counter(e.rounds for e in self.accepted + self.rejected if e.rounds)

    def per_accepted(self) -> Usage | None:
        """Tokens and cost of all tasks (rejected ones too) per accepted task: what a bank task costs."""
        if not self.accepted:
            return None
        total = sum((e.usage for e in self.accepted + self.rejected if e.usage), Usage())
        n = len(self.accepted)
        return Usage(prompt_tokens=total.prompt_tokens // n, completion_tokens=total.completion_tokens // n,
                     cost=total.cost / n, calls=total.calls // n)


def synthesize(out: Path, n: int, llm: LLM, *, seed: int = 0, config: SynthesisConfig = SynthesisConfig(),
               on_result: Callable[[ManifestEntry], None] | None = None) -> Summary:
    """Plan n candidates from the seed's topics, write and validate those the bank has not recorded."""
    started = time.monotonic()
    bank = TaskBank(out)
    with bank.exclusive():
        bank.recover()
        recorder = Recorder(llm, CallLog(bank.root), config.max_cost)
        summary = Summary(planned=n)
        try:
            run = _Run(bank, recorder, config, structured_mode(llm, config.structured))
            summary.structured = run.mode
            topics = sample_topics(bank.root, n, seed, recorder, run.mode)
            summary.topics = diversity(topics)
            candidates = [Candidate(seed, i, topics[i % len(topics)]) for i in range(n)]  # short of topics: cycle
            pending = [c for c in candidates if bank.get(c.task_id) is None]
            summary.skipped = n - len(pending)
            run.all(pending, summary, on_result)
        except HALTS as e:
            summary.stopped = str(e)
        finally:
            bank.recover()
            summary.unfinished = n - summary.skipped - len(summary.accepted) - len(summary.rejected)
            summary.spent, summary.replayed = recorder.spent, recorder.replayed
            summary.seconds = time.monotonic() - started
    return summary


class _Run:
    def __init__(self, bank: TaskBank, recorder: Recorder, config: SynthesisConfig, mode: Structured) -> None:
        self.bank, self.recorder, self.config, self.mode = bank, recorder, config, mode
        self.sandbox = share_cores(sandbox_config(config.sandbox), config.workers)
        self.runtime = generic_runtime_for(self.sandbox)
        self.cpu = threading.Semaphore(max(1, config.workers))
        self.stop = threading.Event()

    def all(self, pending: list[Candidate], summary: Summary, on_result) -> None:
        with ThreadPoolExecutor(max(1, self.config.in_flight), thread_name_prefix="synthml-synthesize") as pool:
            waiting = {pool.submit(self.one, c) for c in pending}
            try:
                self._drain(waiting, summary, on_result)
            except BaseException:
                self.stop.set()  # whatever ends the loop, queued candidates must not run on unseen
                _cancel(waiting)
                raise

    def _drain(self, waiting: set[Future], summary: Summary, on_result) -> None:
        """Record candidates as they finish; the first Ctrl-C stops them after their current step, the next exits."""
        while waiting:
            try:
                for future in as_completed(waiting):
                    waiting.discard(future)
                    self._collect(future, summary, on_result)
            except KeyboardInterrupt:
                if self.stop.is_set():
                    raise
                self._halt(summary, "interrupted (Ctrl-C)")
                _cancel(waiting)

    def _collect(self, future: Future, summary: Summary, on_result) -> None:
        try:
            entry = None if future.cancelled() else future.result()
        except HALTS as e:
            self._halt(summary, f"{type(e).__name__}: {e}" if isinstance(e, OSError) else str(e))
            entry = None
        if entry is None:
            return
        entry = self._unless_duplicate(entry)
        self.bank.record(entry)
        (summary.accepted if entry.status == "accepted" else summary.rejected).append(entry)
        if on_result:
            on_result(entry)

    def _halt(self, summary: Summary, why: str) -> None:
        """No candidate starts another step; what is recorded stays, what is not is left for the next run."""
        self.stop.set()
        summary.stopped = summary.stopped or why

    def _go_on(self) -> None:
        if self.stop.is_set():
            raise _Halted

    def _unless_duplicate(self, entry: ManifestEntry) -> ManifestEntry:
        """Tasks validated side by side may duplicate each other: the first recorded wins."""
        if entry.status != "accepted":
            return entry
        task = load_task(self.bank.staging_dir(entry.task_id))
        duplicate = duplicate_of(self.bank, entry.key, entry.content_hash, entry.dataset, task.description)
        if duplicate is None:
            return entry
        report = entry.report.model_copy(update={"accepted": False}, deep=True).reject("duplicate", duplicate)
        return entry.model_copy(update={"status": "rejected", "version": None, "report": report})

    def one(self, candidate: Candidate) -> ManifestEntry | None:
        """The candidate's manifest entry; None when the run stopped before it was done."""
        attempt = _Attempt(candidate, self.bank.staging_dir(candidate.task_id),
                           ValidationReport(task_id=candidate.task_id, margin=self.config.margin))
        try:
            self._go_on()
            attempt.verified = propose_dataset(self.recorder, self.mode, candidate.topic, candidate.task_id,
                                               candidate.seed)
            self._rounds(attempt)
        except Unverified as e:
            attempt.report.reject("dataset_unverified", str(e))
        except (Unparsed, LLMRequestRejected) as e:  # garbage replies, or a prompt refused (past the context)
            attempt.report.reject("llm_failed", str(e))
        except _Halted:
            return None
        except HALTS:
            raise  # the run stops; this candidate is left for the next one
        except Exception as e:  # a bug that one task's odd output trips is that task's rejection, not a dead run
            log.exception("candidate %s", candidate.task_id)
            attempt.report.reject("generation_failed", f"{type(e).__name__}: {e}")
        if attempt.report.accepted:
            self._keep_calls(attempt)
        return self._entry(attempt)

    def _rounds(self, attempt: "_Attempt") -> None:
        """Write, validate and repair the task until it passes, the round limit, or a duplicate."""
        candidate, entry = attempt.candidate, attempt.verified.entry
        messages = prompts.task(candidate.topic, entry, load_table(entry))
        spec = ask(self.recorder, messages, TaskSpec, TASK_SCHEMA, mode=self.mode, task_id=candidate.task_id,
                   purpose="task", check=TaskSpec.missing)
        for attempt.rounds in range(1, self.config.max_rounds + 1):
            self._go_on()
            attempt.report = self._validate(attempt, spec)
            if attempt.report.accepted or attempt.report.rejections[0].reason == "duplicate" \
                    or attempt.rounds == self.config.max_rounds:
                return
            self._go_on()
            repair = prompts.repair(messages, spec, attempt.report, attempt.rounds, self.config.max_rounds,
                                    attempt.staged)
            spec = spec.merged(ask(self.recorder, repair, TaskSpec, REPAIR_SCHEMA, mode=self.mode,
                                   task_id=candidate.task_id, purpose="repair", round=attempt.rounds))

    def _validate(self, attempt: "_Attempt", spec: TaskSpec) -> ValidationReport:
        candidate, verified, staged = attempt.candidate, attempt.verified, attempt.staged
        report = ValidationReport(task_id=candidate.task_id, margin=self.config.margin)
        shutil.rmtree(staged, ignore_errors=True)
        staged.parent.mkdir(parents=True, exist_ok=True)
        with self.cpu:
            try:
                assemble(spec, verified.entry, candidate.topic, candidate.task_id, staged, sandbox=self.sandbox,
                         runtime=self.runtime, model=self.recorder.llm.name, knobs=attempt.knobs)
            except AssemblyFailed as e:
                return report.reject(e.reason, e.detail)
            task = load_task(staged)
            attempt.content_hash = task.version
            if duplicate := duplicate_of(self.bank, attempt.key, task.version, verified.entry.id, task.description):
                return report.reject("duplicate", duplicate)
            return validate_task(staged, sandbox=self.sandbox, margin=self.config.margin)

    def _keep_calls(self, attempt: "_Attempt") -> None:
        """The accepted task keeps every call that wrote it, in order: its provenance."""
        records = self.recorder.used(attempt.candidate.task_id)
        lines = "".join(json.dumps(r.provenance(), sort_keys=True) + "\n" for r in records)
        (attempt.staged / PROVENANCE / "llm_calls.jsonl").write_text(lines)

    def _entry(self, attempt: "_Attempt") -> ManifestEntry:
        candidate, verified, report = attempt.candidate, attempt.verified, attempt.report
        usage = sum((r.usage for r in self.recorder.used(candidate.task_id)), Usage())
        return ManifestEntry(
            task_id=candidate.task_id, status="accepted" if report.accepted else "rejected",
            version=load_task(attempt.staged).version if report.accepted else None,
            content_hash=attempt.content_hash, generator="llm",
            dataset=verified.entry.id if verified else None, task_type=verified.entry.task_type if verified else None,
            knobs=attempt.knobs, key=attempt.key,
            seed=candidate.seed, index=candidate.index, report=report, rounds=attempt.rounds, usage=usage,
            created_at=datetime.now(UTC).replace(microsecond=0))


def _cancel(futures: set[Future]) -> None:
    for future in futures:
        future.cancel()


class _Halted(Exception):
    """The run is stopping: the candidate ends unfinished, unrecorded."""


@dataclass
class _Attempt:
    """One candidate on its way through the pipeline."""

    candidate: Candidate
    staged: Path
    report: ValidationReport
    verified: Verified | None = None
    rounds: int | None = None
    """Validation rounds run so far."""
    content_hash: str | None = None
    """Of the task as last written, before validation recorded scores in it."""

    @property
    def knobs(self) -> dict:
        """The choices that made the task, in its YAML and its manifest entry."""
        topic = self.candidate.topic
        knobs = {"area": topic.area, "topic": topic.topic, "topic_source": topic.source}
        if self.verified:
            knobs |= {"proposed": self.verified.proposed, "verified_by": self.verified.verified_by}
        return knobs

    @property
    def key(self) -> str:
        """Near-duplicate key: the same topic on the same dataset."""
        return json.dumps(["llm", self.verified.entry.id if self.verified else None, self.candidate.topic.topic])
