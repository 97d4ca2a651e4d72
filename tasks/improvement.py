"""How much better a score is than the task's baseline: the one formula behind a task's headroom (the
validator), the env's `relative` reward and the training filter's `min_improvement`. Each caller keeps its
own threshold for a baseline too close to 0 to divide by."""


def relative_improvement(score: float, baseline: float, sign: int, *, epsilon: float) -> float:
    """sign * (score - baseline) / |baseline|: +0.1 is 10% better than the baseline whichever way the metric
    points (`sign` +1: higher is better, -1: lower is better), so tasks on different scales compare. Where
    |baseline| < `epsilon` the ratio would explode, and the absolute gain sign * (score - baseline) is returned."""
    gain = sign * (score - baseline)
    return gain / abs(baseline) if abs(baseline) >= epsilon else gain
