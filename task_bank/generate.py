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

from synthml.envs.sandbox.config import SandboxConfig, sandbox_config
from synthml.errors import TaskError
from synthml.task_bank.bank import ManifestEntry, TaskBank
from synthml.task_bank.catalog import DatasetEntry, catalog, load_table
from synthml.task_bank.dedupe import duplicate_of
from synthml.task_bank.draft import TaskDraft, write_task
from synthml.task_bank.families import FAMILIES, Family
from synthml.task_bank.task import load_task
from synthml.task_bank.validator import MARGIN, ValidationReport, validate_task

KNOB_TRIES = 20


@dataclass(frozen=True)
class Candidate:
    seed: int
    index: int
    family: str
    dataset: DatasetEntry
    knobs: dict[str, Any]
    split_seed: int

    @property
    def key(self) -> str:
        """What makes two tasks near-duplicates: same family, data and knobs (the split seed aside)."""
        return json.dumps([f"procedural/{self.family}", self.dataset.id, self.knobs], sort_keys=True)

    @property
    def task_id(self) -> str:
        name = self.dataset.id.split("/", 1)[-1].replace("/", "-").replace("_", "-").lower()
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:6]
        return f"{name}-{self.family.replace('_', '-')}-{digest}"


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


def plan(seed: int, n: int, families: list[str] | None = None) -> list[Candidate]:
    """The first n candidates of the seed's plan: families in a seeded round robin, datasets cycled in
    a seeded order within each family, knobs drawn anew while they would repeat a planned candidate."""
    chosen = _families(families)
    order = random.Random(f"{seed}:families").sample(chosen, len(chosen))
    pools = {name: _dataset_order(seed, FAMILIES[name]) for name in order}
    used: Counter = Counter()
    keys: set[str] = set()
    candidates = []
    for index in range(n):
        name = order[index % len(order)]
        rng = random.Random(f"{seed}:{index}")
        candidate = _draw(seed, index, FAMILIES[name], pools[name], used, keys, rng)
        keys.add(candidate.key)
        candidates.append(candidate)
    return candidates


def _draw(seed: int, index: int, family: Family, pool: list[DatasetEntry], used: Counter, keys: set[str],
          rng: random.Random) -> Candidate:
    """The next dataset of the family's cycle with fresh knobs that fit it and repeat no planned candidate."""
    for _ in range(KNOB_TRIES):
        dataset = pool[used[family.name] % len(pool)]
        used[family.name] += 1
        candidate = Candidate(seed, index, family.name, dataset, family.sample_knobs(rng, dataset),
                              rng.randrange(2**31))
        if candidate.key not in keys and _fits(candidate):
            return candidate
    return candidate  # the knob space is spent: planned anyway, and rejected with its reason


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


def _dataset_order(seed: int, family: Family) -> list[DatasetEntry]:
    eligible = sorted((e for e in catalog() if family.eligible(e)), key=lambda e: e.id)
    if not eligible:
        raise TaskError(f"family {family.name}: no catalog dataset is eligible (task types {family.task_types})")
    return random.Random(f"{seed}:{family.name}").sample(eligible, len(eligible))


def generate(out: Path, n: int, seed: int = 0, *, families: list[str] | None = None, workers: int = 2,
             sandbox: "str | dict | SandboxConfig" = "bwrap", margin: float = MARGIN,
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


def _make(bank: TaskBank, candidate: Candidate, sandbox, margin: float) -> ManifestEntry:
    """Write the candidate into staging, then dedupe and validate it."""
    staged = bank.staging_dir(candidate.task_id)
    shutil.rmtree(staged, ignore_errors=True)
    staged.parent.mkdir(parents=True, exist_ok=True)
    report, content_hash = ValidationReport(task_id=candidate.task_id, margin=margin), None
    try:
        content_hash = _write(candidate, staged)
    except Exception as e:  # a family's bug on one dataset is a rejected candidate, not a dead run
        report.reject("generation_failed", f"{candidate.family} on {candidate.dataset.id}: {type(e).__name__}: {e}")
    if content_hash and (duplicate := duplicate_of(bank, candidate.key, content_hash, candidate.dataset.id)):
        report.reject("duplicate", duplicate)
    elif content_hash:
        report = validate_task(staged, sandbox=sandbox, margin=margin)
    return ManifestEntry(
        task_id=candidate.task_id, status="accepted" if report.accepted else "rejected",
        version=load_task(staged).version if report.accepted else None, content_hash=content_hash,
        generator=f"procedural/{candidate.family}", family=candidate.family, dataset=candidate.dataset.id,
        task_type=candidate.dataset.task_type, knobs=candidate.knobs, key=candidate.key, seed=candidate.seed,
        index=candidate.index, report=report, created_at=datetime.now(UTC).replace(microsecond=0))


def _write(candidate: Candidate, staged: Path) -> str:
    """Write the candidate's task dir; returns its content hash."""
    write_task(_build(candidate), staged)
    return load_task(staged).version


def _build(candidate: Candidate) -> TaskDraft:
    family = FAMILIES[candidate.family]
    return family.build(candidate.dataset, load_table(candidate.dataset), candidate.knobs, candidate.split_seed,
                        candidate.task_id)
