"""What a bank covers: families, skills, datasets, submission kinds and difficulty tiers of its accepted
tasks, and the largest share any one dataset holds."""

from collections import Counter
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from synthml.tasks.bank import ManifestEntry

MAX_DATASET_SHARE = 0.10
"""A dataset holding more of the bank than this makes the bank about that dataset."""


class Coverage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: int = Field(description="Accepted tasks.")
    families: dict[str, int] = Field(description="Tasks per family (or generator).")
    skills: dict[str, int] = Field(description="Tasks exercising each skill (a task may count for several).")
    datasets: dict[str, int] = Field(description="Tasks per dataset (program tasks have none).")
    submissions: dict[str, int] = Field(description="Tasks per submission kind: the file the evaluator reads.")
    tiers: dict[str, int] = Field(description="Tasks per tier (how far the reference is above the cheap default).")
    largest_dataset_share: float = Field(description="The largest share of the bank one dataset holds.")

    @property
    def balanced(self) -> bool:
        return self.largest_dataset_share <= MAX_DATASET_SHARE

    def lines(self) -> list[str]:
        """One line per facet, for a terminal."""
        facets = {"families": self.families, "skills": self.skills, "datasets": self.datasets,
                  "submission kinds": self.submissions, "tiers": self.tiers}
        lines = [f"{len(counts)} {name}: " + ", ".join(f"{key} {n}" for key, n in sorted(counts.items()))
                 for name, counts in facets.items()]
        flag = "" if self.balanced else f" (over the {MAX_DATASET_SHARE:.0%} a balanced bank allows)"
        return [*lines, f"largest dataset share: {self.largest_dataset_share:.1%}{flag}"]


@dataclass(frozen=True)
class Facts:
    """What coverage counts of one accepted task."""

    family: str
    dataset: str | None
    submission: str | None
    tier: int | None


def of_entry(entry: ManifestEntry) -> Facts:
    return Facts(entry.family or entry.generator, entry.dataset, entry.submission, entry.report.tier)


def coverage(tasks: list[Facts]) -> Coverage:
    from synthml.task_bank.families import FAMILIES

    datasets = Counter(t.dataset for t in tasks if t.dataset)
    largest = max(datasets.values(), default=0) / len(tasks) if tasks else 0.0
    return Coverage(tasks=len(tasks), families=dict(Counter(t.family for t in tasks)),
                    skills=dict(Counter(s for t in tasks for s in (FAMILIES[t.family].skills
                                                                   if t.family in FAMILIES else ()))),
                    datasets=dict(datasets), submissions=dict(Counter(t.submission or "unknown" for t in tasks)),
                    tiers=dict(Counter(str(t.tier) if t.tier else "unmeasured" for t in tasks)),
                    largest_dataset_share=round(largest, 4))
