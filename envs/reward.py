"""The episode's reward: 0 on every step but the last, then the improvement over the baseline.

`relative` (default): direction * (score - baseline) / |baseline|, so +0.1 means 10% better than the
baseline whichever way the metric points; `absolute`: direction * (score - baseline), which
`relative` also falls back to when |baseline| < epsilon. With no baseline both give direction * score.
No valid submission at the end gives `failure`.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RewardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["relative", "absolute"] = Field("relative", description="How improvement is measured.")
    failure: float = Field(-1.0, description="Reward when the episode ends with no valid submission.")
    epsilon: float = Field(1e-6, gt=0, description="Below this |baseline|, relative falls back to absolute.")


def episode_reward(score: float | None, baseline: float | None, sign: int, config: RewardConfig) -> float:
    if score is None:
        return config.failure
    if baseline is None:
        return sign * score
    gain = sign * (score - baseline)
    relative = config.kind == "relative" and abs(baseline) >= config.epsilon
    return gain / abs(baseline) if relative else gain
