"""Time-series forecasting with rolling origins: the history is given; validation holds ORIGINS consecutive
windows of the horizon, each forecast from the points before it; test is the window after them, forecast
from everything before it. Scores are the mean over a split's origins.

Why test has one origin: a file the agent can see that holds any point after a test origin shows the future
of that origin's window (from the values after a window, forecasting it becomes interpolating). The hidden
points of a series must therefore be one block at its end, and only the first hidden window is forecast
from all the points before it; a later one would need the hidden values of the earlier windows.
Validation values are the agent's to see anyway, so validation can roll its origin; the ladder's scripts
forecast each validation window from the points before it alone.
"""

import random
from typing import Any

import numpy as np
import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import ORIGIN, TaskDraft
from synthml.task_bank.families import common, disguise
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import docstring, ladder, render, score_code

METRICS = ("mase", "mae", "rmse", "smape")
HORIZON_SEASONS = (0.5, 1, 2, 3)
"""Horizons in seasonal periods (in units of 10 points where a series has no season)."""
MIN_HORIZON = 24
"""Points in a window at least: the test split is one window, and fewer points rank two forecasts by chance
(the validator's floor for a forecast's test split)."""
ORIGINS = 3
"""Validation windows, each forecast from the points before it."""
MAX_POINTS = 2000
"""Longer series keep their most recent points."""
NEAR_ZERO = 0.1
"""sMAPE divides by the size of the values: it is a metric only where every value is positive and at least
this share of the series' median, else the points nearest zero decide it."""

_SCRIPT = '''$docstring
import numpy as np
import pandas as pd

TARGET, SEASON = $target, $season


$forecast

def predict(known, rows, rule):
    """Each origin's window of `rows`, forecast by `rule` from the `known` values and the windows of `rows`
    before it."""
    history, forecasts = known[TARGET].to_numpy(float), []
    for _, window in rows.groupby("origin", sort=True):
        forecasts.append(rule(history, len(window)))
        if TARGET in window:  # validation: the window's values join the history of the next origin
            history = np.concatenate([history, window[TARGET].to_numpy(float)])
    return np.concatenate(forecasts)


train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
$choose
for known, rows, out in ((train, validation, "validation_predictions.csv"),
                         (pd.concat([train, validation]), test, "submission.csv")):
    pd.DataFrame({"id": rows["id"], TARGET: predict(known, rows, rule)}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''

_LAST = '''def last_value(history, horizon):
    """The last value, repeated."""
    return np.full(horizon, history[-1])
'''
_MEAN = '''def history_mean(history, horizon):
    """The mean of the history, repeated."""
    return np.full(horizon, history.mean())
'''
_SEASONAL = '''def seasonal_naive(history, horizon):
    """The value one season back, repeated season after season."""
    m = SEASON if 1 < SEASON < len(history) else 1
    return history[len(history) - m + np.arange(horizon) % m]
'''
_RULES = {
    "trivial": ("the mean of the points before each window", _MEAN, "rule = history_mean"),
    "baseline": ("a naive forecast: the last value, or the value one season before each point (seasonal naive), "
                 "whichever has the smaller mean absolute error over the validation windows",
                 f"{_LAST}\n\n{_SEASONAL}",
                 '''rules = {"the last value": last_value, "seasonal naive": seasonal_naive}
errors = {name: np.mean(np.abs(predict(train, validation, r) - validation[TARGET])) for name, r in rules.items()}
name = min(errors, key=errors.get)  # ties: the last value
rule = rules[name]
print(f"validation mean absolute errors {errors}: forecasting with {name}")'''),
    "default": ("a seasonal naive forecast with drift: the value one season back plus, per season ahead, the mean "
                "change over one season in the history", '''def seasonal_drift(history, horizon):
    """The value one season back plus the mean seasonal change for each season ahead."""
    m = SEASON if 1 < SEASON < len(history) else 1
    steps = np.arange(horizon)
    drift = np.mean(history[m:] - history[:-m])
    return history[len(history) - m + steps % m] + (steps // m + 1) * drift
''', "rule = seasonal_drift"),
}
"""The simple rungs: (summary, the code of their forecast functions, the code that picks `rule`). The trivial
forecast is the history's mean, which knows nothing of where the series now is: the naive forecasts, the
baseline's choice, start from the last value or season (where the last value is best, a trivial rung equal to
it would leave the baseline no better than trivial)."""

_REFERENCE = '''$docstring
import itertools

import numpy as np
import pandas as pd
${metrics_import}from sklearn.linear_model import Ridge

TARGET, SEASON = $target, $season
LAGS = SEASON + 1 if SEASON > 1 else 5
GRID = np.array(list(itertools.product((0.1, 0.3, 0.5, 0.8), (0.0, 0.05, 0.2), (0.05, 0.2, 0.5), (0.9, 0.98, 1.0)))).T
"""Holt-Winters smoothing parameters tried: level, trend, season, damping."""


$score

def seasonal_naive(y, horizon):
    """The value one season back, repeated season after season."""
    m = SEASON if 1 < SEASON < len(y) else 1
    return y[len(y) - m + np.arange(horizon) % m]


def seasonal_drift(y, horizon):
    """The value one season back plus the mean seasonal change for each season ahead."""
    m = SEASON if 1 < SEASON < len(y) else 1
    steps = np.arange(horizon)
    return y[len(y) - m + steps % m] + (steps // m + 1) * np.mean(y[m:] - y[:-m])


def harmonics(y, horizon):
    """Least squares on a straight line and the season's first three harmonics, over the last five seasons
    (a straight line alone without a season)."""
    recent = y[-5 * SEASON:] if SEASON > 1 else y[-60:]
    t = np.arange(len(recent) + horizon)
    waves = [f(2 * np.pi * k * t / SEASON) for k in range(1, min(3, SEASON // 2) + 1) for f in (np.sin, np.cos)]
    x = np.column_stack([np.ones(len(t)), t / len(recent), *waves])
    coef = np.linalg.lstsq(x[:len(recent)], recent, rcond=None)[0]
    return x[len(recent):] @ coef


def holt_winters(y, horizon):
    """Additive Holt-Winters with a damped trend, the grid's parameters that give the least one-step squared
    error over the history (all run at once, one column each)."""
    m = SEASON if 1 < SEASON and 2 * SEASON <= len(y) else 1
    alpha, beta, gamma, phi = GRID if m > 1 else GRID[:, GRID[2] == GRID[2, 0]] * [[1], [1], [0], [1]]
    level = np.full(alpha.shape, y[:m].mean())
    trend = np.full(alpha.shape, (y[m:2 * m].mean() - y[:m].mean()) / m if m > 1 else y[1] - y[0])
    season = np.tile(y[:m] - y[:m].mean(), (alpha.size, 1))
    error = np.zeros(alpha.shape)
    for t in range(m, len(y)):
        s = season[:, t % m]
        error += (y[t] - level - phi * trend - s) ** 2
        new = alpha * (y[t] - s) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new - level) + (1 - beta) * phi * trend
        season[:, t % m] = gamma * (y[t] - new) + (1 - gamma) * s
        level = new
    b, steps = np.argmin(error), np.arange(1, horizon + 1)
    return level[b] + np.cumsum(phi[b] ** steps) * trend[b] + season[b, (len(y) - 1 + steps) % m]


def design(z, t, scale, trend):
    """Lags 1..LAGS before point t, the position in the season (one-hot) and, with `trend`, the time."""
    position = np.eye(SEASON)[t % SEASON] if SEASON > 1 else np.zeros(0)
    return np.concatenate([z[t - LAGS:t][::-1], position, [t / scale] if trend else []])


def ridge(y, horizon, trend=True):
    """Ridge on lags of the standardised series, forecast one step at a time, each step feeding the next."""
    mean, std = y.mean(), y.std() or 1.0
    z, n = list((y - mean) / std), len(y)
    x = np.array([design(np.array(z), t, n, trend) for t in range(LAGS, n)])
    model = Ridge(alpha=1.0).fit(x, z[LAGS:])
    for t in range(n, n + horizon):
        z.append(float(model.predict(design(np.array(z), t, n, trend)[None, :])[0]))
    return np.array(z[n:]) * std + mean


def ridge_differences(y, horizon):
    """The ridge forecast of the changes from point to point, summed up from the last value."""
    return y[-1] + np.cumsum(ridge(np.diff(y), horizon, trend=False))


METHODS = {"seasonal naive with drift": seasonal_drift, "seasonal naive": seasonal_naive, "Holt-Winters": holt_winters,
           "ridge on lags": ridge, "ridge on lagged changes": ridge_differences, "trend and harmonics": harmonics}


def forecasts(history, horizon):
    """Every method's forecast, and on the log scale too where the known series (train + validation) is positive:
    the same methods at every origin, whichever history it has."""
    found = {name: method(history, horizon) for name, method in METHODS.items()}
    if POSITIVE:
        found |= {f"{name}, log scale": np.exp(method(np.log(history), horizon)) for name, method in METHODS.items()}
    return found


def combine(found, names):
    """Add the mean of the named forecasts to each origin's forecasts; returns its name."""
    name = "mean of " + " and ".join(names)
    for forecast in found:
        forecast[name] = np.mean([forecast[n] for n in names], axis=0)
    return name


def by_origin(known, rows):
    """For each origin's window of `rows`: every forecast from the values before it."""
    history, out = known[TARGET].to_numpy(float), []
    for _, window in rows.groupby("origin", sort=True):
        out.append(forecasts(history, len(window)))
        if TARGET in window:
            history = np.concatenate([history, window[TARGET].to_numpy(float)])
    return out


train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
POSITIVE = bool((pd.concat([train, validation])[TARGET] > 0).all())
windows = [w[TARGET].to_numpy(float) for _, w in validation.groupby("origin", sort=True)]
found = by_origin(train, validation)
scores = {name: np.mean([score(w, f[name]) for w, f in zip(windows, found)]) for name in found[0]}
ranked = sorted(scores, key=scores.get, reverse=True)[:3]  # ties: in the order of METHODS
best = combine(found, ranked)
print(f"mean validation score over {len(windows)} origins: {scores}; forecasting with the {best}")
pd.DataFrame({"id": validation["id"], TARGET: np.concatenate([f[best] for f in found])}).to_csv(
    "validation_predictions.csv", index=False)
found = by_origin(pd.concat([train, validation]), test)
combine(found, ranked)
pd.DataFrame({"id": test["id"], TARGET: np.concatenate([f[best] for f in found])}).to_csv("submission.csv", index=False)
print("wrote validation_predictions.csv and submission.csv")
'''
_REFERENCE_DOC = ("the mean of the three forecasts with the best mean validation score over the origins among: "
                  "seasonal naive with and without drift, additive Holt-Winters with a damped trend (parameters from "
                  "a grid by the one-step error), ridge on lags and the position in the season (recursive), ridge on "
                  "lagged changes, a straight line with the season's first three harmonics over the last five "
                  "seasons, each also on the log scale for a positive series; each origin forecast from the points "
                  "before it")


def horizons(entry: DatasetEntry) -> dict[float, int]:
    """The feasible horizons in points (MIN_HORIZON at least), by their length in seasons: the history before
    the validation windows keeps two seasons, 24 points and two horizons at least."""
    unit = entry.season if entry.season and entry.season > 1 else 10
    points = min(entry.rows, MAX_POINTS)
    found = sorted({max(MIN_HORIZON, round(seasons * unit)) for seasons in HORIZON_SEASONS})
    return {round(h / unit, 2): h for h in found if points - (ORIGINS + 1) * h >= max(2 * unit, 24, 2 * h)}


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    feasible = horizons(entry)
    seasons = common.pick(rng, sorted(feasible))
    return {"metric": common.pick(rng, METRICS), "horizon_seasons": seasons, "horizon": feasible[seasons]}


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    target, time, h = entry.target, entry.time_column, knobs["horizon"]
    series = table[[time, target]].dropna().sort_values(time, kind="stable").tail(MAX_POINTS)
    series = series.astype({target: float}).reset_index(drop=True)
    series = disguise.disguise_series(series, target, seed, time_column=time, season=entry.season)
    held = (ORIGINS + 1) * h
    common.require(h >= MIN_HORIZON, entry, f"a horizon of {h} points is under {MIN_HORIZON}")
    common.require(len(series) - held >= max(24, 2 * h), entry, f"a horizon of {h} leaves too short a history")
    train, validation, test = series.iloc[:-held], series.iloc[-held:-h], series.iloc[-h:]
    validation = validation.assign(**{ORIGIN: np.repeat(np.arange(1, ORIGINS + 1), h)})
    test = test.assign(**{ORIGIN: 1})
    season = entry.season or 1
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: forecast {target} {h} steps ahead", target=target,
        intro=f"Forecast the series `{target}` of the {entry.title} data {h} steps ahead ({len(series)} points "
              f"from {series[time].iloc[0]} to {series[time].iloc[-1]}"
              f"{f', seasonal period {season} points' if season > 1 else ''}).",
        kind="forecast", metrics=_metrics(entry, knobs["metric"], series[target], train[target], season),
        metric_params={"mase_scale": _mase_scale(entry, train[target].to_numpy(), season)},
        train=train, validation=validation, test=test, notes=(disguise.NOTE, _protocol_note(h)),
        column_docs={ORIGIN: "forecast origin: the rows of one origin are a window forecast from the points before "
                             "its first row"},
        **_scripts(target, season, knobs["metric"]), family=FAMILY.name,
        topic=f"Multi-step forecasting of a real series {h} steps ahead, judged by {knobs['metric']}.",
        knobs=knobs, dataset=entry)


def _metrics(entry: DatasetEntry, primary: str, series: pd.Series, history: pd.Series, season: int):
    """The primary metric, then the rest; sMAPE only for a series that stays clear of zero."""
    clear = smape_fits(series)
    common.require(clear or primary != "smape", entry, "sMAPE needs a series whose values are all positive and at "
                   f"least {NEAR_ZERO:.0%} of its median")
    return common.metrics(primary, [m for m in METRICS if clear or m != "smape"])


def smape_fits(series: pd.Series) -> bool:
    """Whether every value is positive and at least NEAR_ZERO of the median (sMAPE then means something)."""
    return bool(series.min() > 0 and series.min() >= NEAR_ZERO * series.median())


def _mase_scale(entry: DatasetEntry, history: np.ndarray, season: int) -> float:
    """The mean absolute change over one season in the training history (one point without a season)."""
    m = season if season > 1 and 2 * season <= len(history) else 1
    scale = float(np.mean(np.abs(history[m:] - history[:-m])))
    common.require(scale > 0, entry, "the training history never changes over a season, so MASE has no scale")
    return scale


def _scripts(target: str, season: int, metric: str) -> dict[str, str]:
    """The ladder's fields: the history's mean, the better naive forecast, seasonal naive with drift, and the
    reference."""
    rungs = {}
    for rung, (summary, code, choose) in _RULES.items():
        text = (f"{'Baseline' if rung == 'baseline' else rung.capitalize() + ' solution'}: {summary}; each validation "
                "window forecast from the points before it, test from train + validation. Writes "
                "validation_predictions.csv and submission.csv.")
        rungs[rung] = (render(_SCRIPT, {"docstring": docstring(text), "forecast": code, "choose": choose},
                              target=target, season=season), summary)
    reference = render(_REFERENCE, score_code(metric) | {"docstring": docstring(f"Reference solution: "
                                                                                 f"{_REFERENCE_DOC}.")},
                       target=target, season=season)
    return ladder(rungs["trivial"], rungs["baseline"], rungs["default"], (reference, _REFERENCE_DOC))


def _protocol_note(h: int) -> str:
    return (f"Rolling origins: the last {(ORIGINS + 1) * h} points are held out in windows of {h}. Validation "
            f"holds the first {ORIGINS} windows (with their values, numbered by `{ORIGIN}`), each to be forecast "
            f"from the points before it; test holds the last window ({h} points, without values), forecast from all "
            "the points before it. A split's score is the mean over its windows; MASE divides the mean absolute "
            "error by that of the seasonal naive forecast over the training history. Columns other than the time "
            "and the target are not given, as their future values would not be known.")


def _accepts(entry: DatasetEntry) -> bool:
    return entry.time_column is not None and bool(horizons(entry))


FAMILY = Family("timeseries_forecasting", ("timeseries",), sample_knobs, build, _accepts)
