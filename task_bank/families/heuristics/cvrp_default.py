"""Clarke and Wright's savings: from one route per customer, join route ends in order of the distance
saved, d(depot, i) + d(depot, j) - d(i, j), while the joined route fits in a vehicle."""

import math


def solve(instance):
    depot, points, demands = instance["depot"], instance["customers"], instance["demands"]
    n = len(points)
    to_depot = [math.dist(depot, p) for p in points]
    savings = sorted(((to_depot[i] + to_depot[j] - math.dist(points[i], points[j]), i, j)
                      for i in range(n) for j in range(i + 1, n)), reverse=True)
    route_of = {c: [c] for c in range(n)}
    loads = {c: demands[c] for c in range(n)}  # by the route's first customer
    for _, i, j in savings:
        a, b = route_of[i], route_of[j]
        if a is b or loads[a[0]] + loads[b[0]] > instance["capacity"] or i not in (a[0], a[-1]) \
                or j not in (b[0], b[-1]):
            continue
        joined = (a if a[-1] == i else a[::-1]) + (b if b[0] == j else b[::-1])
        load = loads.pop(a[0]) + loads.pop(b[0])
        loads[joined[0]] = load
        for c in joined:
            route_of[c] = joined
    return [route_of[first] for first in loads]
