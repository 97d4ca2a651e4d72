"""Nearest neighbour: from city 0, always on to the nearest unvisited city."""

import math


def solve(instance):
    points = instance["points"]
    tour, left = [0], set(range(1, len(points)))
    while left:
        here = points[tour[-1]]
        tour.append(min(left, key=lambda c: math.dist(here, points[c])))
        left.remove(tour[-1])
    return tour
