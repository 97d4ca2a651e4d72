"""A task family: which catalog entries it takes, the knobs it samples, and how it builds a draft.

Data families (CSV prediction) take a catalog dataset and build a `TaskDraft`; program families
(`task_types` empty) take no dataset, get `None` for the entry and the table, and build a `ProgramDraft`.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.program import ProgramDraft

SampleKnobs = Callable[[random.Random, DatasetEntry | None], dict[str, Any]]
Build = Callable[[DatasetEntry | None, pd.DataFrame | None, dict[str, Any], int, str], TaskDraft | ProgramDraft]


@dataclass(frozen=True)
class Family:
    name: str
    task_types: tuple[str, ...]
    """Catalog task types the family accepts; empty for a program family, which needs no dataset."""
    sample_knobs: SampleKnobs
    """The seeded, JSON-serialisable choices of one task (metric, twists); never a split seed."""
    build: Build
    """(entry, table, knobs, seed, task_id) -> draft; deterministic, `seed` drives splits, subsampling and
    instances. Raises TaskError when the knobs do not fit the data (sample others)."""
    accepts: Callable[[DatasetEntry], bool] | None = None
    """Further checks on an entry of an accepted type."""
    skills: tuple[str, ...] = ()
    """What solving its tasks exercises (for the bank's coverage report), e.g. ("feature engineering",)."""

    @property
    def needs_data(self) -> bool:
        return bool(self.task_types)

    def eligible(self, entry: DatasetEntry) -> bool:
        return entry.task_type in self.task_types and (self.accepts is None or self.accepts(entry))
