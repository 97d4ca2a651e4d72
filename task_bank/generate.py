"""`synthml generate`: plan candidate tasks from a seed, write each with its family, validate them in
parallel, and record every outcome in the bank.

The plan is a pure function of (seed, families): candidate i is the same task in every run, so the
same seed gives the same bank and a killed run, started again, skips what its manifest records.
"""

import hashlib
import json
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from synthml.envs.sandbox.config import SandboxConfig, SandboxSpec, sandbox_config
from synthml.errors import TaskError
from synthml.task_bank.catalog import DatasetEntry, catalog, load_table
from synthml.task_bank.coverage import Coverage, coverage, of_entry
from synthml.task_bank.dedupe import duplicate_of
from synthml.task_bank.draft import TaskDraft, write_task
from synthml.task_bank.families import FAMILIES, Family
from synthml.task_bank.program import ProgramDraft, write_program_task
from synthml.task_bank.validator import validate_task
from synthml.tasks.bank import ManifestEntry, TaskBank
from synthml.tasks.report import MARGIN, ValidationReport
from synthml.tasks.task import load_task

KNOB_TRIES = 20
DATASET_SHARE = 0.06
"""No dataset takes more than this share of the plan so far (one candidate at least), nor a (dataset, family)
pair more than FAMILY_DATASET_SHARE: with most candidates accepted, no dataset holds 10% of the bank."""
FAMILY_DATASET_SHARE = 0.03


@dataclass(frozen=True)
class Candidate:
    seed: int
    index: int
    family: str
    dataset: DatasetEntry | None
    """None for a program family, which needs no dataset."""
    knobs: dict[str, Any]
    split_seed: int

    @property
    def key(self) -> str:
        """What makes two tasks near-duplicates: same family, data and knobs (the split seed aside)."""
        return json.dumps([f"procedural/{self.family}", self.dataset_id, self.knobs], sort_keys=True)

    @property
    def dataset_id(self) -> str | None:
        return self.dataset.id if self.dataset else None

    @property
    def task_id(self) -> str:
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:6]
        family = self.family.replace("_", "-")
        if self.dataset is None:
            return f"{family}-{digest}"
        name = self.dataset.id.split("/", 1)[-1].replace("/", "-").replace("_", "-").lower()
        return f"{name}-{family}-{digest}"


@dataclass
class Summary:
    planned: int = 0
    skipped: int = 0
    """Candidates the manifest already recorded (a resumed run)."""
    accepted: list[ManifestEntry] = field(default_factory=list)
    rejected: list[ManifestEntry] = field(default_factory=list)
    seconds: float = 0.0

    def reasons(self) -> Counter:
        return Counter(r.reason for e in self.rejected for r in e.report.rejections[:1])

    def coverage(self, attribute: str) -> Counter:
        return Counter(getattr(e, attribute) for e in self.accepted)

    def bank_coverage(self, bank: Path) -> Coverage:
        """The coverage of the whole bank (this run's tasks and those recorded before)."""
        return coverage([of_entry(e) for e in TaskBank(bank).accepted()])


def plan(seed: int, n: int, families: list[str] | None = None) -> list[Candidate]:
    """The first n candidates of the seed's plan: families in a seeded round robin, datasets cycled in
    a seeded order within each family (skipping those at their share of the plan so far: a family with no
    dataset left gives its turn to the next), knobs drawn anew while they would repeat a planned candidate.
    Each candidate depends only on those before it, so a longer plan begins with a shorter one."""
    chosen = _families(families)
    order = random.Random(f"{seed}:families").sample(chosen, len(chosen))
    pools = {name: _dataset_order(seed, FAMILIES[name]) for name in order}
    shares = _Shares()
    keys: set[str] = set()
    candidates: list[Candidate] = []
    turn = 0
    while len(candidates) < n:
        index = len(candidates)
        for name in order[turn % len(order):] + order[:turn % len(order)]:
            turn += 1
            rng = random.Random(f"{seed}:{index}")
            if (candidate := _draw(seed, index, FAMILIES[name], pools[name], shares, keys, rng)) is not None:
                break
        else:
            raise TaskError(f"no family of {', '.join(chosen)} can plan candidate {index}: every eligible dataset "
                            f"is at its share ({DATASET_SHARE:.0%} of the plan a dataset, {FAMILY_DATASET_SHARE:.0%} "
                            f"a dataset and family); ask for {index} candidates or fewer, or add --families")
        keys.add(candidate.key)
        shares.add(candidate)
        candidates.append(candidate)
    return candidates


class _Shares:
    """How many planned candidates each dataset, and each (dataset, family), holds so far, and where each
    family's cycle through its datasets stands."""

    def __init__(self) -> None:
        self.datasets: Counter = Counter()
        self.pairs: Counter = Counter()
        self.turns: Counter = Counter()
        self.planned = 0

    def full(self, family: str, dataset: DatasetEntry) -> bool:
        after = self.planned + 1
        return (self.datasets[dataset.id] + 1 > max(1, int(DATASET_SHARE * after))
                or self.pairs[family, dataset.id] + 1 > max(1, int(FAMILY_DATASET_SHARE * after)))

    def add(self, candidate: Candidate) -> None:
        self.planned += 1
        if candidate.dataset is not None:
            self.datasets[candidate.dataset.id] += 1
            self.pairs[candidate.family, candidate.dataset.id] += 1


def _draw(seed: int, index: int, family: Family, pool: list[DatasetEntry | None], shares: _Shares,
          keys: set[str], rng: random.Random) -> Candidate | None:
    """The family's next dataset under its share, with fresh knobs that fit it and repeat no planned candidate;
    None when every eligible dataset is at its share."""
    open_pool = [d for d in pool if d is None or not shares.full(family.name, d)]
    if not open_pool:
        return None
    candidate = None
    for _ in range(KNOB_TRIES):
        dataset = open_pool[shares.turns[family.name] % len(open_pool)]
        shares.turns[family.name] += 1
        candidate = Candidate(seed, index, family.name, dataset, family.sample_knobs(rng, dataset),
                              rng.randrange(2**31))
        if candidate.key not in keys and _fits(candidate):
            break
    return candidate  # when the knob space is spent: planned anyway, and rejected with its reason


def _fits(candidate: Candidate) -> bool:
    """Whether the family can build the candidate (e.g. a shift column with enough distinct values)."""
    try:
        _build(candidate)
    except TaskError:
        return False
    return True


def _families(names: list[str] | None) -> list[str]:
    names = sorted(names or FAMILIES)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise TaskError(f"--families: unknown family {', '.join(unknown)}; choose from {', '.join(sorted(FAMILIES))}")
    return names


def _dataset_order(seed: int, family: Family) -> list[DatasetEntry | None]:
    if not family.needs_data:
        return [None]
    eligible = sorted((e for e in catalog() if family.eligible(e)), key=lambda e: e.id)
    if not eligible:
        raise TaskError(f"family {family.name}: no catalog dataset is eligible (task types {family.task_types})")
    return random.Random(f"{seed}:{family.name}").sample(eligible, len(eligible))


def generate(out: Path, n: int, seed: int = 0, *, families: list[str] | None = None, workers: int = 2,
             sandbox: SandboxSpec = "bwrap", margin: float = MARGIN,
             on_result: Callable[[ManifestEntry], None] | None = None) -> Summary:
    """Plan n candidates, validate those the bank has not recorded, and record each outcome."""
    started = time.monotonic()
    sandbox = share_cores(sandbox_config(sandbox), workers)
    bank = TaskBank(out)
    with bank.exclusive():
        bank.recover()
        candidates = plan(seed, n, families)
        pending = [c for c in candidates if bank.get(c.task_id) is None]
        summary = Summary(planned=n, skipped=n - len(pending))
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="synthml-generate") as pool:
            futures = [pool.submit(_make, bank, c, sandbox, margin) for c in pending]
            for future in as_completed(futures):
                entry = future.result()
                bank.record(entry)
                (summary.accepted if entry.status == "accepted" else summary.rejected).append(entry)
                if on_result:
                    on_result(entry)
        bank.recover()  # nothing left to finish: this only clears the staging folder
    summary.seconds = time.monotonic() - started
    return summary


def share_cores(config: SandboxConfig, workers: int) -> SandboxConfig:
    """Each of the parallel validations gets its share of the cores (unless the config says otherwise):
    thread pools that each take every core slow all of them down, badly on small machines."""
    limits = getattr(config, "limits", None)
    if limits is None or limits.threads is not None:
        return config
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    return config.model_copy(update={"limits": limits.model_copy(update={"threads": threads})})


def _make(bank: TaskBank, candidate: Candidate, sandbox: SandboxConfig, margin: float) -> ManifestEntry:
    """Write the candidate into staging, then dedupe and validate it."""
    staged = bank.staging_dir(candidate.task_id)
    shutil.rmtree(staged, ignore_errors=True)
    staged.parent.mkdir(parents=True, exist_ok=True)
    report, content_hash = ValidationReport(task_id=candidate.task_id, margin=margin), None
    try:
        content_hash = _write(candidate, staged)
    except Exception as e:  # a family's bug on one dataset is a rejected candidate, not a dead run
        on = f" on {candidate.dataset_id}" if candidate.dataset else ""
        report.reject("generation_failed", f"{candidate.family}{on}: {type(e).__name__}: {e}")
    if content_hash and (duplicate := duplicate_of(bank, candidate.key, content_hash, candidate.dataset_id)):
        report.reject("duplicate", duplicate)
    elif content_hash:
        report = validate_task(staged, sandbox=sandbox, margin=margin)
    task = load_task(staged) if content_hash else None
    return ManifestEntry(
        task_id=candidate.task_id, status="accepted" if report.accepted else "rejected",
        version=task.version if task and report.accepted else None, content_hash=content_hash,
        submission=task.submission_files[0] if task and task.submission_files else None,
        generator=f"procedural/{candidate.family}", family=candidate.family, dataset=candidate.dataset_id,
        task_type=candidate.dataset.task_type if candidate.dataset else None, knobs=candidate.knobs,
        key=candidate.key, seed=candidate.seed, index=candidate.index, report=report,
        created_at=datetime.now(UTC).replace(microsecond=0))


def _write(candidate: Candidate, staged: Path) -> str:
    """Write the candidate's task dir; returns its content hash."""
    draft = _build(candidate)
    (write_program_task if isinstance(draft, ProgramDraft) else write_task)(draft, staged)
    return load_task(staged).version


def _build(candidate: Candidate) -> TaskDraft | ProgramDraft:
    family, dataset = FAMILIES[candidate.family], candidate.dataset
    table = load_table(dataset) if dataset is not None else None
    return family.build(dataset, table, candidate.knobs, candidate.split_seed, candidate.task_id)
