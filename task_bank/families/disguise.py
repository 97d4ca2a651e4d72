"""Disguise a public series, so that its values cannot be looked up in the table it comes from.

A forecasting task's series comes from a public table; an agent holding the table reads each window's values
after the history it is given (task_bank/lookup.py). The disguise keeps what there is to learn, the trend and the
seasonal pattern, and changes the rest: the irregular part is redrawn in moving blocks of a season and a slow
random walk is added to the level.

    series = disguise_series(frame, target, seed, time_column="date", season=12)   # before splitting
    NOTE                                                                             # for the task statement

Table and text families need no disguise: their targets are simulated (families/simulated.py), so the public
table holds the rows but not the answers, and the image family draws its own pictures (families/shapes.py).
"""

import numpy as np
import pandas as pd

DRIFT = 0.3
"""The level walks by steps of this many times the remainder's spread over a season. On ten forecasting tasks
(validator, lookup rejection on): 1.0 left none accepted (the reference seldom reliably above seasonal naive with
drift), 0.3 four (five fell to the lookup), 0 one."""
NOTE = ("To keep the series from being looked up in the public data it comes from, its irregular part was resampled "
        "and a slow random drift added to its level; its trend and seasonal pattern are the real series'.")


def disguise_series(frame: pd.DataFrame, target: str, seed: int, *, time_column: str | None, season: int | None,
                    drift: float = DRIFT) -> pd.DataFrame:
    """The series ordered by `time_column`, its values changed (same rows and timestamps). Trend (a centred moving
    average over a season) + seasonal pattern (mean detrended value by phase) + remainder, on the log scale where
    the series is positive: the remainder redrawn in moving blocks of a season (at least 4 points), and a random
    walk added whose steps are `drift` times the remainder's spread over a season, divided by the square root of
    the season."""
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
    block = min(max(period, 4), len(z))
    starts = rng.integers(0, len(z) - block + 1, len(z) // block + 1)
    redrawn = np.concatenate([rest[i:i + block] for i in starts])[: len(z)]
    walk = np.cumsum(rng.normal(0, drift * rest.std() / np.sqrt(period), len(z)))
    new = trend + pattern + redrawn + walk
    out[target] = np.exp(new) if log else new
    return out
