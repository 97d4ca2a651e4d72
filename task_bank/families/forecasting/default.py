"""Default solution: seasonal naive with drift, the value one season back plus, for each season ahead, the
mean change over one season in the history."""

import numpy as np

SEASON = 12


def forecast(history, horizon):
    y, steps = np.asarray(history, float), np.arange(horizon)
    m = SEASON if 1 < SEASON < len(y) else 1
    drift = np.mean(y[m:] - y[:-m])
    return (y[len(y) - m + steps % m] + (steps // m + 1) * drift).tolist()
