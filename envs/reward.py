"""The episode's reward: 0 on every step but the last, then the improvement over the baseline.

`normalized` (default): direction * (score - baseline) / (direction * (reference - baseline)), the share
of the task's measured gap the agent closed: 0 at the baseline, 1 at the task's reference solution.
Tasks without a measured gap (MLGym's, hand-written ones) fall back to `relative`.
`relative`: direction * (score - baseline) / |baseline|, so +0.1 means 10% better than the baseline
whichever way the metric points; `absolute`: direction * (score - baseline), which `relative` also
falls back to when |baseline| < epsilon. With no baseline every kind gives direction * score.
Every kind is clipped to `bounds` (default -1 to 2: no single task can dominate a batch); no valid
submission at the end gives `failure`.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthml.tasks.improvement import relative_improvement


class RewardConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["normalized", "relative", "absolute"] = Field("normalized", description="How improvement is "
                                                                "measured.")
    bounds: tuple[float, float] | None = Field((-1.0, 2.0), description="The reward is clipped to [low, high]; "
                                               "None leaves it unbounded.")
    failure: float = Field(-1.0, description="Reward when the episode ends with no valid submission.")
    epsilon: float = Field(1e-6, gt=0, description="Below this |baseline| (relative) or gap (normalized), the "
                           "next simpler kind is used.")

    @model_validator(mode="after")
    def _ordered(self) -> "RewardConfig":
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError(f"bounds {list(self.bounds)}: give [low, high] with low < high, e.g. [-1, 2]")
        return self


def episode_reward(score: float | None, baseline: float | None, sign: int, config: RewardConfig,
                   reference: float | None = None) -> float:
    if score is None:
        return config.failure
    return _clip(_improvement(score, baseline, sign, config, reference), config.bounds)


def _improvement(score: float, baseline: float | None, sign: int, config: RewardConfig,
                 reference: float | None) -> float:
    if baseline is None:
        return sign * score
    gap = sign * (reference - baseline) if reference is not None else 0.0
    if config.kind == "normalized" and gap >= config.epsilon:
        return sign * (score - baseline) / gap
    if config.kind == "absolute":
        return sign * (score - baseline)
    return relative_improvement(score, baseline, sign, epsilon=config.epsilon)


def _clip(value: float, bounds: tuple[float, float] | None) -> float:
    return value if bounds is None else min(max(value, bounds[0]), bounds[1])
