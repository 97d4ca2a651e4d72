"""Push the cart toward the side the pole is falling to: a PD rule on the pole's angle."""

PARAMS = {"angle": 2, "angular_velocity": 3, "gain": 0.5}
"""Where the pole's angle (and angular velocity: None when the policy does not see it) sit in the
observation, and the weight of the angular velocity."""


def act(observation):
    """0 pushes the cart left, 1 right."""
    lean = observation[PARAMS["angle"]]
    if PARAMS["angular_velocity"] is not None:
        lean += PARAMS["gain"] * observation[PARAMS["angular_velocity"]]
    return 1 if lean > 0 else 0
