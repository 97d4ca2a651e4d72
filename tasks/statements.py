"""Phrases of a task statement that are written by the generator and read back by the scripted expert.

The expert reads a task as any agent does, from its statement; each phrase it relies on is written and read
here, side by side, so the wording cannot drift from its parser.
"""

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Costs:
    positive: str
    missed: float
    """What predicting anything but `positive` costs on a positive row."""
    false_alarm: float


def submission_columns(target: str) -> str:
    return f"Write `submission.csv` with the columns `id,{target}`"


def read_submission_target(statement: str) -> str | None:
    found = re.search(r"columns `id,([^`]+)`", statement)
    return found.group(1) if found else None


def cost_note(target: str, positive: Any, missed: Any, false_alarm: Any) -> str:
    return (f"Costs: predicting anything but {positive} for a row whose `{target}` is {positive} (a missed positive) "
            f"costs {missed}; predicting {positive} for any other row (a false alarm) costs {false_alarm}; ")


def read_costs(statement: str) -> Costs | None:
    found = re.search(r"predicting anything but (.+?) for a row whose .*?\(a missed positive\) costs ([\d.]+); .*?"
                      r"\(a false alarm\) costs ([\d.]+)", statement, flags=re.DOTALL)
    return Costs(found.group(1), float(found.group(2)), float(found.group(3))) if found else None


def history_note(points: int) -> str:
    return f"series.csv holds the first {points} points."


def read_history(statement: str) -> int | None:
    found = re.search(r"series.csv holds the first (\d+) points", statement)
    return int(found.group(1)) if found else None
