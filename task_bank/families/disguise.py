"""Disguise a public series, so that its values cannot be looked up in the table it comes from.

A forecasting task's series comes from a public table; an agent holding the table (or remembering it) reads each
window's values after the history it is given (task_bank/lookup.py). The disguise keeps what there is to learn,
the seasonal pattern and the way the trend and the irregular part move, and changes their path: the trend is
rebuilt from its own changes resampled in moving blocks, and the irregular part is redrawn in moving blocks of a
season. The future of a released series is then in no table: the public series' continuation is worth less
than a model of the released history.

    series = disguise_series(frame, target, seed, time_column="date", season=12)   # before splitting
    NOTE                                                                             # for the task statement

Table and text families need no disguise: their targets are simulated (families/simulated.py), so the public
table holds the rows but not the answers, and the image family draws its own pictures (families/shapes.py).
"""

import numpy as np
import pandas as pd

TREND_BLOCK_SEASONS = 2
"""The trend's changes are resampled in blocks of this many seasons (8 points at least). On 36 forecasting
candidates (`synthml generate --n 12 --families timeseries_forecasting`, seeds 0 to 2), against the public trend
with a random walk added to the level: 27 accepted against 23, the lookup's error 1.43 times the reference's
(median) against 1.07, and no accepted task where the lookup beat the reference against 6."""
NOTE = ("To keep the series from being looked up in the public data it comes from, its trend was rebuilt from the "
        "real trend's changes, resampled in blocks of two seasons, and its irregular part was resampled; its seasonal "
        "pattern is the real series'.")


def disguise_series(frame: pd.DataFrame, target: str, seed: int, *, time_column: str | None,
                    season: int | None) -> pd.DataFrame:
    """The series ordered by `time_column`, its values changed (same rows and timestamps). Trend (a centred moving
    average over a season) + seasonal pattern (mean detrended value by phase) + remainder, on the log scale where
    the series is positive: the trend's point-to-point changes resampled in moving blocks of TREND_BLOCK_SEASONS
    seasons and summed from its first value, the remainder redrawn in moving blocks of a season (4 points at
    least)."""
    rng = np.random.default_rng(seed)
    out = frame.sort_values(time_column, kind="stable") if time_column else frame
    out = out.reset_index(drop=True).copy()
    y = out[target].to_numpy(dtype=float)
    log = bool(np.all(y > 0))
    z = np.log(y) if log else y
    period = max(season or 1, 1)
    window = 2 * (period // 2) + 1 if period > 1 else 5
    trend = pd.Series(z).rolling(window, center=True, min_periods=1).mean().to_numpy()
    phase = np.arange(len(z)) % period
    pattern = pd.Series(z - trend).groupby(phase).transform("mean").to_numpy()
    pattern = pattern - pattern.mean()
    rest = z - trend - pattern
    steps = _blocks(rng, np.diff(trend), TREND_BLOCK_SEASONS * max(period, 4))
    new = trend[0] + np.concatenate([[0.0], np.cumsum(steps)]) + pattern + _blocks(rng, rest, max(period, 4))
    out[target] = np.exp(new) if log else new
    return out


def _blocks(rng: np.random.Generator, values: np.ndarray, size: int) -> np.ndarray:
    """`values` redrawn as consecutive runs of `size` from random starts (a moving-block bootstrap), same length."""
    size = min(size, len(values))
    starts = rng.integers(0, len(values) - size + 1, len(values) // size + 1)
    return np.concatenate([values[i:i + size] for i in starts])[: len(values)]
