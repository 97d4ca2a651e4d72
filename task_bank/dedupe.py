"""Duplicates: a task already accepted in the bank with the same content, or a near-duplicate of one.

Procedural tasks are near-duplicates when generator, dataset and knobs agree (their key). Tasks
without knobs (written by an LLM) are compared by statement: the same dataset and nearly the same
words. Procedural statements are not compared that way: two metrics on one dataset read alike but
are different tasks.
"""

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from synthml.tasks.task import load_task

if TYPE_CHECKING:
    from synthml.tasks.bank import TaskBank

SIMILAR = 0.9
"""Word-trigram Jaccard similarity from which two statements on one dataset are one task."""


def duplicate_of(bank: "TaskBank", key: str, content_hash: str, dataset: str | None,
                 statement: str | None = None) -> str | None:
    """Why the task would duplicate an accepted one, or None. `statement`: compare by words too."""
    words = _shingles(statement) if statement else None
    for entry in bank.accepted():
        if entry.content_hash == content_hash:
            return f"same content as {entry.task_id} (content hash {content_hash})"
        if entry.key == key:
            return f"near-duplicate of {entry.task_id}: same generator, dataset and knobs"
        if words and dataset and entry.dataset == dataset:
            similarity = _jaccard(words, _statement_shingles(bank.task_dir(entry.task_id), entry.version))
            if similarity >= SIMILAR:
                return f"near-duplicate of {entry.task_id}: statements on {dataset} {similarity:.0%} alike"
    return None


@lru_cache(maxsize=4096)
def _statement_shingles(task_dir: Path, version: str | None) -> frozenset[str]:
    return frozenset(_shingles(load_task(task_dir).description))


def _shingles(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower())
    return {" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))}


def _jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0
