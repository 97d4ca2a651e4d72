"""Time-series forecasting: the history is given, the next `horizon` points are for validation and the
`horizon` points after those are to be forecast."""

import random
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import docstring, render, score_code

METRICS = ("mae", "rmse", "smape")
HORIZON_SEASONS = (0.5, 1, 2)
"""Horizons in seasonal periods (in units of 10 points where a series has no season)."""
WINDOWS = 3
"""The baseline picks its rule by the score over this many horizons at the end of the history."""
MAX_POINTS = 2000
"""Longer series keep their most recent points."""

BASELINE = '''$docstring
import numpy as np
import pandas as pd
$metrics_import
TARGET, WINDOWS = $target, $windows


$score

def backtest(rule, series, horizon):
    """The rule's mean score over the last WINDOWS horizons of the series, each forecast from the points before."""
    starts = [len(series) - k * horizon for k in range(1, WINDOWS + 1)]
    return np.mean([score(series[s:s + horizon], np.full(horizon, rule(series[:s]))) for s in starts])


def write(rows, forecast, out):
    pd.DataFrame({"id": rows["id"], TARGET: forecast}).to_csv(out, index=False)


train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
median = train[TARGET].median()  # the long-run level (the sample submission's constant)
rules = {"the last value": lambda series: series[-1], "the training median": lambda series: median}
history = pd.concat([train, validation])[TARGET].to_numpy(float)
name = max(rules, key=lambda r: backtest(rules[r], history, len(test)))
print(f"forecasting {name}, the better rule over the last {WINDOWS} horizons")
write(validation, rules[name](train[TARGET].to_numpy(float)), "validation_predictions.csv")
write(test, rules[name](history), "submission.csv")
print("wrote validation_predictions.csv and submission.csv")
'''

REFERENCE = '''$docstring
import numpy as np
import pandas as pd
${metrics_import}from sklearn.linear_model import Ridge

TARGET, SEASON = $target, $season
LAGS = SEASON + 1 if SEASON > 1 else 5


$score

def design(z, t, scale, trend):
    """Lags 1..LAGS before point t, the position in the season (one-hot) and, with `trend`, the time."""
    position = np.eye(SEASON)[t % SEASON] if SEASON > 1 else np.zeros(0)
    return np.concatenate([z[t - LAGS:t][::-1], position, [t / scale] if trend else []])


def recursive(y, horizon, trend):
    """Ridge forecast of the standardised series `y`, one step at a time, each step feeding the next."""
    mean, std = y.mean(), y.std() or 1.0
    z, n = list((y - mean) / std), len(y)
    x = np.array([design(np.array(z), t, n, trend) for t in range(LAGS, n)])
    model = Ridge(alpha=1.0).fit(x, z[LAGS:])
    for t in range(n, n + horizon):
        z.append(float(model.predict(design(np.array(z), t, n, trend)[None, :])[0]))
    return np.array(z[n:]) * std + mean


def forecast(history, horizon, differenced):
    """On the log of the series where all values are positive: levels with a linear trend, or the
    differences (changes from one point to the next) summed up from the last value."""
    log = bool(np.all(history > 0))
    y = np.log(history) if log else history
    out = y[-1] + np.cumsum(recursive(np.diff(y), horizon, False)) if differenced else recursive(y, horizon, True)
    return np.exp(out) if log else out


def write(rows, predictions, out):
    pd.DataFrame({"id": rows["id"], TARGET: predictions}).to_csv(out, index=False)


train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
history, truth = train[TARGET].to_numpy(float), validation[TARGET].to_numpy(float)
forecasts = {differenced: forecast(history, len(truth), differenced) for differenced in (False, True)}
differenced = max(forecasts, key=lambda d: score(truth, forecasts[d]))
print(f"modelling the {'differences' if differenced else 'levels'}, the better on validation")
write(validation, forecasts[differenced], "validation_predictions.csv")
write(test, forecast(np.concatenate([history, truth]), len(test), differenced), "submission.csv")
print("wrote validation_predictions.csv and submission.csv")
'''


def horizons(entry: DatasetEntry) -> dict[float, int]:
    """Horizon in points for each feasible number of seasons: the history keeps two seasons and three
    horizons at least."""
    unit = entry.season if entry.season and entry.season > 1 else 10
    points = min(entry.rows, MAX_POINTS)
    found = {s: max(1, round(s * unit)) for s in HORIZON_SEASONS}
    return {s: h for s, h in found.items() if points - 2 * h >= max(2 * unit + h, 3 * h, 24)}


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    feasible = horizons(entry)
    seasons = common.pick(rng, sorted(feasible))
    return {"metric": common.pick(rng, METRICS), "horizon_seasons": seasons, "horizon": feasible[seasons]}


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    target, time, h = entry.target, entry.time_column, knobs["horizon"]
    series = table[[time, target]].dropna().sort_values(time, kind="stable").tail(MAX_POINTS)
    series = series.astype({target: float}).reset_index(drop=True)
    common.require(len(series) - 2 * h >= 3 * h, entry, f"a horizon of {h} leaves too short a history")
    train, validation, test = series.iloc[:-2 * h], series.iloc[-2 * h:-h], series.iloc[-h:]
    season = entry.season or 1
    baseline, reference = _scripts(target, season, knobs["metric"])
    seasonal = f", seasonal period {season} points" if season > 1 else ""
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: forecast {target} {h} steps ahead", target=target,
        intro=f"Forecast the series `{target}` of the {entry.title} data {h} steps ahead ({len(series)} points "
              f"from {series[time].iloc[0]} to {series[time].iloc[-1]}{seasonal}).",
        kind="forecast", metrics=common.metrics(knobs["metric"], METRICS), train=train, validation=validation,
        test=test, notes=(_protocol_note(h),),
        baseline_code=baseline[0], baseline_summary=baseline[1], reference_code=reference[0],
        reference_summary=reference[1], family=FAMILY.name,
        topic=f"Multi-step forecasting of a real series {h} steps ahead, judged by {knobs['metric']}.",
        knobs=knobs, dataset=entry)


def _scripts(target: str, season: int, metric: str) -> tuple[tuple[str, str], ...]:
    """((code, summary) of the baseline, (code, summary) of the reference)."""
    baseline = (f"a constant naive forecast: the last value or the training median (the sample submission's "
                f"constant), whichever scores better over the last {WINDOWS} horizons of train + validation (each "
                "forecast from the points before it); validation is forecast from train, test from train + "
                "validation")
    reference = (f"a ridge regression on {season + 1 if season > 1 else 5} lags"
                 f"{', the position in the season' if season > 1 else ''} and a linear trend, or on the same "
                 "features of the differenced series, whichever forecasts the validation horizon better "
                 "(recursively, on the log scale for positive series); refit on train + validation")
    code = score_code(metric)
    text = f"Baseline: {baseline}. Writes validation_predictions.csv and submission.csv."
    baseline_code = render(BASELINE, code | {"docstring": docstring(text)}, target=target, windows=WINDOWS)
    reference_code = render(REFERENCE, code | {"docstring": docstring(f"Reference solution: {reference}.")},
                            target=target, season=season)
    return (baseline_code, baseline), (reference_code, reference)


def _protocol_note(h: int) -> str:
    return (f"The last {2 * h} points are held out: validation holds the first {h} (with their values), test the "
            f"{h} after them. Forecast the test points from the history and the validation points; columns "
            "other than the time and the target are not given, as their future values would not be known.")


def _accepts(entry: DatasetEntry) -> bool:
    return entry.time_column is not None and bool(horizons(entry))


FAMILY = Family("timeseries_forecasting", ("timeseries",), sample_knobs, build, _accepts)
