"""Time-series forecasting with rolling origins: the agent writes `forecast(history, horizon)` in forecaster.py,
and the evaluator calls it at every origin of a split, each time with all the points before the window.

The last 2 * n windows of the horizon are held out of series.csv (n from MIN_WINDOWS to MAX_WINDOWS, as many as
the series holds). Validation holds the first n (data/validation.json, with their values: the agent may backtest
on them); test holds the last n (hidden/test.json), each forecast from the series, the validation windows and the
test windows before it. Because the evaluator calls the forecaster once per origin, in time order, no visible file
ever holds a point after a test origin, and test can roll its origin as validation does: a split's score is the
mean over n windows, so which of two forecasters is better is seldom decided by one origin's luck.

The series is disguised (families/disguise.py), and the validator submits the public table's continuation
(task_bank/lookup.py): a task it does better on than the reference is rejected.
"""

import json
import random
import re
from pathlib import Path
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.families import common, disguise
from synthml.task_bank.families.family import Family
from synthml.task_bank.program import ProgramDraft
from synthml.tasks.schema import Metric
from synthml.tasks.statements import history_note

TEMPLATES = Path(__file__).with_name("forecasting")
METRICS = ("mase", "mae", "rmse", "smape")
HORIZON_SEASONS = (0.5, 1, 2)
"""Horizons in seasonal periods (in units of 10 points where a series has no season)."""
LONG_SEASON_HORIZONS = (7, 14, 28)
"""Horizons in points of a series whose season is longer than MAX_HORIZON (days of a yearly cycle)."""
MIN_HORIZON, MAX_HORIZON = 4, 30
MIN_WINDOWS, MAX_WINDOWS = 20, 40
HISTORY_SHARE = 0.4
"""Windows in each split: as many as the series holds after its history, from the validator's floor of test
instances up (more windows, a tighter interval on the gap between two forecasters)."""
MAX_POINTS = 1500
"""Longer series keep their most recent points."""
NEAR_ZERO = 0.1
"""sMAPE divides by the size of the values: it is a metric only where every value is positive and at least
this share of the series' median, else the points nearest zero decide it."""
CALL_SECONDS = 10
"""Seconds one call of `forecast` may take."""

_BASELINE_SUMMARY = ("a naive forecast: the last value repeated, or the value one season back (seasonal naive), "
                     "whichever had the smaller mean absolute error over the last three windows of the history")


def history_points(entry: DatasetEntry) -> int:
    """Points a forecast needs before the first held-out window: two seasons and 48 points at least."""
    return max(2 * (entry.season or 1), 48)


def windows(entry: DatasetEntry, h: int, points: int) -> int:
    """Windows of `h` in each split of a series of `points` that leave `history_points` before them."""
    most = (points - history_points(entry)) // (2 * h)
    return min(most, MAX_WINDOWS, max(MIN_WINDOWS, (points - round(HISTORY_SHARE * points)) // (2 * h)))


def horizons(entry: DatasetEntry) -> list[int]:
    """The horizons in points that leave room for MIN_WINDOWS in each split after `history_points`."""
    season = entry.season if entry.season and entry.season > 1 else 10
    found = {round(s * season) for s in HORIZON_SEASONS} if season <= MAX_HORIZON / HORIZON_SEASONS[0] else set()
    found = {h for h in found if MIN_HORIZON <= h <= MAX_HORIZON} or set(LONG_SEASON_HORIZONS)
    points = min(entry.rows, MAX_POINTS)
    return sorted(h for h in found if windows(entry, h, points) >= MIN_WINDOWS)


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    return {"metric": common.pick(rng, METRICS), "horizon": common.pick(rng, horizons(entry))}


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> ProgramDraft:
    target, time, h, season = entry.target, entry.time_column, knobs["horizon"], entry.season or 1
    series = table[[time, target]].dropna().sort_values(time, kind="stable").tail(MAX_POINTS)
    series = series.astype({target: float}).reset_index(drop=True)
    series = disguise.disguise_series(series, target, seed, time_column=time, season=entry.season)
    count = windows(entry, h, len(series))
    common.require(count >= MIN_WINDOWS, entry, f"a horizon of {h} leaves room for {count} windows in each split "
                   f"after a history of {history_points(entry)} points, not {MIN_WINDOWS}")
    metrics = _metrics(entry, knobs["metric"], series[target])
    known = series.iloc[:len(series) - 2 * count * h]
    held = [_window(series.iloc[len(known) + k * h:len(known) + (k + 1) * h], time, target, k, count)
            for k in range(2 * count)]
    settings = {"target": target, "season": season, "horizon": h, "metrics": metrics,
                "mase_scale": _mase_scale(entry, known[target].to_numpy(), season), "call_seconds": CALL_SECONDS}
    return ProgramDraft(
        task_id=task_id, name=f"{entry.title}: forecast {target} {h} steps ahead", intro=_intro(entry, series, h),
        family=FAMILY.name, topic=f"Multi-step forecasting of a real series {h} steps ahead, judged by "
                                  f"{knobs['metric']} over rolling origins.",
        submission="forecaster.py", baseline=_rung("baseline", season, metrics[0]),
        baseline_summary=_BASELINE_SUMMARY, evaluator=_read("evaluate.py"), validation=held[:count],
        test=held[count:],
        ladder={rung: _rung(rung, season, metrics[0]) for rung in ("trivial", "default", "reference")},
        metrics=(*(Metric(name=m, direction="min") for m in metrics), Metric(name="failures", direction="min")),
        knobs=knobs, notes=_notes(known, h, count, metrics[0]), dataset=entry,
        files={"series.csv": known.to_csv(index=False, lineterminator="\n"),
               "forecast.json": json.dumps(settings, indent=1) + "\n"})


def _window(rows: pd.DataFrame, time: str, target: str, k: int, count: int) -> dict[str, Any]:
    split, number = ("v", k + 1) if k < count else ("t", k + 1 - count)
    return {"name": f"{split}{number}", "start": str(rows[time].iloc[0]), "values": rows[target].round(6).tolist()}


def _read(name: str) -> str:
    return (TEMPLATES / name).read_text()


def _rung(rung: str, season: int, metric: str) -> str:
    """The rung's module (forecasting/<rung>.py) with the task's season and metric in its constants."""
    text = _read(f"{rung}.py")
    for name, value in (("SEASON", season), ("METRIC", metric)):
        text = re.sub(rf"^{name} = .*$", f"{name} = {value!r}", text, count=1, flags=re.M)
    return text


def _metrics(entry: DatasetEntry, primary: str, series: pd.Series) -> list[str]:
    """The primary metric, then the rest; sMAPE only for a series that stays clear of zero."""
    clear = smape_fits(series)
    common.require(clear or primary != "smape", entry, "sMAPE needs a series whose values are all positive and at "
                   f"least {NEAR_ZERO:.0%} of its median")
    return [primary, *(m for m in METRICS if m != primary and (clear or m != "smape"))]


def smape_fits(series: pd.Series) -> bool:
    """Whether every value is positive and at least NEAR_ZERO of the median (sMAPE then means something)."""
    return bool(series.min() > 0 and series.min() >= NEAR_ZERO * series.median())


def _mase_scale(entry: DatasetEntry, history, season: int) -> float:
    """The mean absolute change over one season in series.csv (one point without a season)."""
    m = season if season > 1 and 2 * season <= len(history) else 1
    scale = float(abs(history[m:] - history[:-m]).mean())
    common.require(scale > 0, entry, "the history never changes over a season, so MASE has no scale")
    return round(scale, 6)


def _intro(entry: DatasetEntry, series: pd.DataFrame, h: int) -> str:
    time, season = entry.time_column, entry.season or 1
    return (f"Write a forecaster for the series `{entry.target}` of the {entry.title} data, {h} steps ahead "
            f"({len(series)} points from {series[time].iloc[0]} to {series[time].iloc[-1]}"
            f"{f', seasonal period {season} points' if season > 1 else ''}). {entry.about}")


def _notes(known: pd.DataFrame, h: int, count: int, metric: str) -> tuple[str, ...]:
    return (disguise.NOTE,
            f"INTERFACE: `forecast(history, horizon)` gets the values of every point before a window (a list of "
            f"floats, oldest first) and the window's length ({h}), and returns {h} numbers.",
            f"ROLLING ORIGINS: {history_note(len(known))} The next {count * h} are "
            f"data/validation.json's {count} windows of {h} (with their values and first timestamps); the "
            f"{count} test windows after them are hidden. The evaluator calls `forecast` once per window, in time "
            "order, with the history up to that window: the validation windows' values join it as it goes, and for "
            "test it holds series.csv, every validation window and the test windows already forecast. A split's "
            f"score is the mean of {metric} over its windows; MASE divides a window's mean absolute error by the "
            "mean absolute change over one season in series.csv (forecast.json holds it and the other settings).",
            f"RULES: each call may take {CALL_SECONDS} s. A window whose forecast raises, has the wrong length or "
            "holds a value that is not a finite number is scored as the history's mean repeated, and counted in "
            "`failures`; a call past its time stops the evaluation asking (that window and every later one are "
            "scored so). Calls come one after another in one process of yours, so the module may keep state. "
            "Columns other than the time and the target are not given, as their future values would not be known.")


def _accepts(entry: DatasetEntry) -> bool:
    return entry.time_column is not None and bool(horizons(entry))


FAMILY = Family("timeseries_forecasting", ("timeseries",), sample_knobs, build, _accepts,
                skills=("time-series forecasting", "model selection by backtesting"))
