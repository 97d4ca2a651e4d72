"""Uniformly random actions: the floor of the ladder."""

import random

PARAMS = {"actions": 2, "low": None, "high": None}
"""actions: how many discrete actions there are (None: the action is a number between low and high)."""
RNG = random.Random(0)


def act(observation):
    if PARAMS["actions"] is None:
        return RNG.uniform(PARAMS["low"], PARAMS["high"])
    return RNG.randrange(PARAMS["actions"])
