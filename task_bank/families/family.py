"""A task family: which catalog entries it takes, the knobs it samples, and how it builds a draft."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft

SampleKnobs = Callable[[random.Random, DatasetEntry], dict[str, Any]]
Build = Callable[[DatasetEntry, pd.DataFrame, dict[str, Any], int, str], TaskDraft]


@dataclass(frozen=True)
class Family:
    name: str
    task_types: tuple[str, ...]
    """Catalog task types the family accepts."""
    sample_knobs: SampleKnobs
    """The seeded, JSON-serialisable choices of one task (metric, twists); never a split seed."""
    build: Build
    """(entry, table, knobs, seed, task_id) -> draft; deterministic, `seed` drives splits and subsampling.
    Raises TaskError when the knobs do not fit the data (sample others)."""
    accepts: Callable[[DatasetEntry], bool] | None = None
    """Further checks on an entry of an accepted type."""

    def eligible(self, entry: DatasetEntry) -> bool:
        return entry.task_type in self.task_types and (self.accepts is None or self.accepts(entry))
