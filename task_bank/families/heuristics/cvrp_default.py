"""Nearest neighbour: each vehicle goes on to the nearest unvisited customer it still has room for, and
back to the depot when it has room for none."""

import math


def solve(instance):
    depot, points, demands = instance["depot"], instance["customers"], instance["demands"]
    left, routes = set(range(len(points))), []
    while left:
        route, here, room = [], depot, instance["capacity"]
        while fits := [c for c in left if demands[c] <= room]:
            route.append(min(fits, key=lambda c: math.dist(here, points[c])))
            left.remove(route[-1])
            here, room = points[route[-1]], room - demands[route[-1]]
        routes.append(route)
    return routes
