"""Paired bootstrap confidence intervals on the gap between two solutions of one task.

Both solutions are scored on the same rows (or instances) of a split; each resample draws those rows
with replacement and scores both on the same draw, so the interval is on the gap itself, not on two
independent scores. `estimate` is the gap on the split as it is.
"""

from collections.abc import Callable, Sequence

import numpy as np

from synthml.tasks.report import Interval

RESAMPLES = 400
LEVEL = 0.95


def instance_gap(first: Sequence[float], second: Sequence[float], sign: int, seed: int = 0) -> Interval:
    """Gap in the mean instance score, second minus first, each instance scored by both."""
    a, b = np.asarray(first, float), np.asarray(second, float)
    if a.shape != b.shape or not len(a):
        raise ValueError(f"instance scores must pair up: {len(a)} against {len(b)}")
    differences = sign * (b - a)
    draws = _draws(len(a), seed)
    return _interval(float(differences.mean()), differences[draws].mean(axis=1), "instances")


def metric_gap(metric: Callable[[np.ndarray, np.ndarray], float], truth: np.ndarray, first: np.ndarray,
               second: np.ndarray, sign: int, seed: int = 0) -> Interval:
    """Gap in `metric(truth, predictions)`, second minus first, over resampled rows."""
    estimate = sign * (metric(truth, second) - metric(truth, first))
    gaps = [sign * (metric(truth[rows], second[rows]) - metric(truth[rows], first[rows]))
            for rows in _draws(len(truth), seed)]
    return _interval(estimate, np.asarray(gaps, float), "rows")


def point_gap(first: float, second: float, sign: int) -> Interval:
    """A gap with no interval (a metric this module cannot resample)."""
    return Interval(estimate=sign * (second - first), low=None, high=None, over="nothing")


def _draws(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(RESAMPLES, n))


def _interval(estimate: float, gaps: np.ndarray, over: str) -> Interval:
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(gaps, [tail, 100 - tail])
    return Interval(estimate=estimate, low=float(low), high=float(high), over=over)
