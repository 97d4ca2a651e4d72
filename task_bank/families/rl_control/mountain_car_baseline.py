"""Rock the car: push in the direction it is moving, so each swing climbs higher."""


def act(observation):
    """0 pushes left, 1 not at all, 2 right; from (position, velocity)."""
    velocity = observation[1]
    return 2 if velocity >= 0 else 0
