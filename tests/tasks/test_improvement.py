"""The improvement over the baseline, computed once for the validator, the env's reward and the filters."""

import pytest

from synthml.envs.reward import RewardConfig, episode_reward
from synthml.task_bank.validator import improvement as headroom
from synthml.tasks.improvement import relative_improvement
from synthml.training.filters import NEAR_ZERO as FILTER_NEAR_ZERO


def test_relative_improvement_is_direction_aware_and_signed():
    assert relative_improvement(0.88, 0.8, +1, epsilon=1e-6) == pytest.approx(0.1)  # higher is better
    assert relative_improvement(0.72, 0.8, +1, epsilon=1e-6) == pytest.approx(-0.1)
    assert relative_improvement(9.0, 10.0, -1, epsilon=1e-6) == pytest.approx(0.1)  # lower is better
    assert relative_improvement(11.0, 10.0, -1, epsilon=1e-6) == pytest.approx(-0.1)
    assert relative_improvement(-1.5, -2.0, +1, epsilon=1e-6) == pytest.approx(0.25)  # divided by |baseline|
    assert relative_improvement(-2.5, -2.0, -1, epsilon=1e-6) == pytest.approx(0.25)
    assert relative_improvement(0.8, 0.8, -1, epsilon=1e-6) == 0.0


def test_a_baseline_below_epsilon_gives_the_absolute_gain():
    assert relative_improvement(-0.5, 0.0, -1, epsilon=1e-6) == 0.5
    assert relative_improvement(0.3, 1e-7, +1, epsilon=1e-6) == pytest.approx(0.3 - 1e-7)
    assert relative_improvement(0.3, 1e-6, +1, epsilon=1e-6) == pytest.approx((0.3 - 1e-6) / 1e-6)  # epsilon is in


def test_the_callers_keep_their_thresholds():
    assert headroom(1e-9, 0.5, +1) == pytest.approx(0.5 - 1e-9)  # the validator: absolute up to 1e-9 inclusive
    assert headroom(2e-9, 0.5, +1) == pytest.approx((0.5 - 2e-9) / 2e-9)
    relative = RewardConfig(kind="relative", bounds=None)
    for score, baseline, sign in [(0.88, 0.8, 1), (9.0, 10.0, -1), (0.3, 5e-7, 1), (0.3, 1e-6, 1), (-0.5, 0.0, -1)]:
        assert episode_reward(score, baseline, sign, relative) == relative_improvement(
            score, baseline, sign, epsilon=relative.epsilon)
    assert FILTER_NEAR_ZERO == RewardConfig().epsilon == 1e-6  # the filter measures as the reward does
