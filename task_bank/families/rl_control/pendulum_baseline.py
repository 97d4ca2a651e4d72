"""Steer the pendulum toward upright with a saturated PD rule on its angle."""

import math

PARAMS = {"max_torque": 2.0, "kp": 10.0, "kd": 2.0}


def act(observation):
    """The torque, from (cos theta, sin theta, theta_dot) with theta = 0 upright."""
    cos, sin, theta_dot = observation
    torque = -PARAMS["kp"] * math.atan2(sin, cos) - PARAMS["kd"] * theta_dot
    return max(-PARAMS["max_torque"], min(PARAMS["max_torque"], torque))
