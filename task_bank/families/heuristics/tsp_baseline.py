"""The cities in order of their angle around the centre of all cities (a sweep)."""

import math


def solve(instance):
    """Return a tour: each city's index once, in visiting order (the tour returns to the first city).

    instance: "points" ([x, y] of each city) and "time_limit" (seconds this call may take).
    """
    points = instance["points"]
    cx = sum(x for x, _ in points) / len(points)
    cy = sum(y for _, y in points) / len(points)
    return sorted(range(len(points)), key=lambda i: math.atan2(points[i][1] - cy, points[i][0] - cx))
