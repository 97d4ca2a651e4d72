"""The sweep: customers in order of their angle around the depot, a new route whenever the next customer
would overload the vehicle."""

import math


def solve(instance):
    """Return routes: lists of customer indices, each visited in order from and back to the depot.

    instance: "depot" ([x, y]), "customers" ([x, y] of each), "demands" (each customer's), "capacity"
    (what one vehicle carries) and "time_limit" (seconds this call may take).
    """
    (x, y), customers, demands = instance["depot"], instance["customers"], instance["demands"]
    order = sorted(range(len(customers)), key=lambda c: math.atan2(customers[c][1] - y, customers[c][0] - x))
    routes, load = [[]], 0
    for c in order:
        if load + demands[c] > instance["capacity"]:
            routes.append([])
            load = 0
        routes[-1].append(c)
        load += demands[c]
    return routes
