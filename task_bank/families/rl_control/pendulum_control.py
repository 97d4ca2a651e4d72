"""Energy-shaping swing-up, then PD control near upright with gains placed on the linearised pendulum."""

import math

PARAMS = {"physics": {"g": 10.0, "m": 1.0, "l": 1.0, "max_torque": 2.0}}
"""The model the controller assumes."""
P = PARAMS["physics"]
GRAVITY, CONTROL = 3 * P["g"] / (2 * P["l"]), 3 / (P["m"] * P["l"] ** 2)
"""theta_acc = GRAVITY * sin(theta) + CONTROL * torque (theta = 0 upright)."""
NEAR_TOP = 0.8
"""cos(theta) above which the PD rule takes over from the swing-up."""
POLE, DAMPING = 4.0, 0.9
"""Natural frequency (rad/s) and damping ratio of the linearised closed loop near the top."""
KP, KD = (GRAVITY + POLE**2) / CONTROL, 2 * DAMPING * POLE / CONTROL


def act(observation):
    """The torque, from (cos theta, sin theta, theta_dot)."""
    theta, theta_dot = math.atan2(observation[1], observation[0]), observation[2]
    if math.cos(theta) > NEAR_TOP:
        torque = -KP * theta - KD * theta_dot
    else:  # pump energy in: push along the swing while below the top's energy, against it above
        energy = 0.5 * theta_dot**2 + GRAVITY * (math.cos(theta) - 1)
        torque = P["max_torque"] * (1 if theta_dot * -energy >= 0 else -1)
    return max(-P["max_torque"], min(P["max_torque"], torque))
