"""A uniformly random split of all soldiers every round."""

import random

_rng = random.Random(0)


def play(history, setup):
    cuts = sorted(_rng.randint(0, setup["soldiers"]) for _ in range(setup["battlefields"] - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, setup["soldiers"]], strict=True)]
