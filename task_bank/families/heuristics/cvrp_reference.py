"""Savings, local search, then ruin and recreate: Clarke and Wright's savings routes, improved by moving
a customer to the best place on any route with room, swapping two customers of different routes, and
2-opt within each route until nothing helps; then, again and again, a few customers near a random one
are taken out and put back one by one where they cost least, kept when the total is shorter. While a
share of the time limit lasts, and for at most RECREATE rounds (so that an idle machine gives the same
routes every time)."""

import math
import random
import time

SHARE, RECREATE = 0.4, 40


def solve(instance):
    deadline = time.monotonic() + SHARE * instance["time_limit"]
    nodes = [instance["depot"], *instance["customers"]]  # node 0 is the depot, node c + 1 customer c
    d = [[math.dist(p, q) for q in nodes] for p in nodes]
    demand, capacity = [0, *instance["demands"]], instance["capacity"]
    best = _local_search([[c + 1 for c in r] for r in _savings(d, demand, capacity)], d, demand, capacity,
                         deadline)
    rng = random.Random(0)
    for _ in range(RECREATE):
        if time.monotonic() > deadline:
            break
        routes = _recreate(_ruin([r[:] for r in best], d, rng), d, demand, capacity)
        routes = _local_search(routes, d, demand, capacity, deadline)
        if _total(routes, d) < _total(best, d) - 1e-9:
            best = routes
    return [[c - 1 for c in r] for r in best if r]


def _local_search(routes, d, demand, capacity, deadline):
    while time.monotonic() < deadline:
        changed = any([_two_opt(r, d) for r in routes])
        changed = _relocate(routes, d, demand, capacity, deadline) or changed
        if not (_swap(routes, d, demand, capacity, deadline) or changed):
            break
    return [r for r in routes if r]


def _total(routes, d):
    return sum(d[a][b] for r in routes for a, b in zip([0, *r], [*r, 0], strict=True))


def _ruin(routes, d, rng):
    """Takes out the customers nearest to a random one (a tenth of them, at least two)."""
    customers = [c for r in routes for c in r]
    seed = rng.choice(customers)
    out = sorted(customers, key=lambda c: d[seed][c])[:max(2, len(customers) // 10)]
    rng.shuffle(out)
    return [r for r in ([c for c in r if c not in out] for r in routes) if r], out


def _recreate(ruined, d, demand, capacity):
    """Puts each customer taken out back where it adds least distance (a new route if none has room)."""
    routes, out = ruined
    for c in out:
        best = (d[0][c] + d[c][0], len(routes), 0)
        for b, route in enumerate(routes):
            if sum(demand[x] for x in route) + demand[c] > capacity:
                continue
            path = [0, *route, 0]
            for p in range(len(path) - 1):
                extra = d[path[p]][c] + d[c][path[p + 1]] - d[path[p]][path[p + 1]]
                if extra < best[0]:
                    best = (extra, b, p)
        _, b, p = best
        if b == len(routes):
            routes.append([])
        routes[b].insert(p, c)
    return routes


def _savings(d, demand, capacity):
    n = len(d) - 1
    pairs = sorted(((d[0][i] + d[0][j] - d[i][j], i, j) for i in range(1, n + 1) for j in range(i + 1, n + 1)),
                   reverse=True)
    route_of = {c: [c] for c in range(1, n + 1)}
    loads = {c: demand[c] for c in range(1, n + 1)}  # by the route's first customer
    for _, i, j in pairs:
        a, b = route_of[i], route_of[j]
        if a is b or loads[a[0]] + loads[b[0]] > capacity or i not in (a[0], a[-1]) or j not in (b[0], b[-1]):
            continue
        joined = (a if a[-1] == i else a[::-1]) + (b if b[0] == j else b[::-1])
        load = loads.pop(a[0]) + loads.pop(b[0])
        loads[joined[0]] = load
        for c in joined:
            route_of[c] = joined
    return [[c - 1 for c in route_of[first]] for first in loads]


def _two_opt(route, d):
    """Reverses stretches of the route (depot at both ends) while that shortens it. Whether it did."""
    path, improved = [0, *route, 0], False
    again = True
    while again:
        again = False
        for i in range(len(path) - 3):
            for j in range(i + 2, len(path) - 1):
                a, b, c, e = path[i], path[i + 1], path[j], path[j + 1]
                if d[a][c] + d[b][e] < d[a][b] + d[c][e] - 1e-9:
                    path[i + 1:j + 1] = path[i + 1:j + 1][::-1]
                    again = improved = True
    route[:] = path[1:-1]
    return improved


def _relocate(routes, d, demand, capacity, deadline):
    """Moves each customer to its cheapest place on any route with room, where that is shorter."""
    improved = False
    loads = [sum(demand[c] for c in r) for r in routes]
    for a, route in enumerate(routes):
        if time.monotonic() > deadline:
            break
        for c in list(route):
            k = route.index(c)
            before, after = ([0, *route])[k], ([*route, 0])[k + 1]
            saving = d[before][c] + d[c][after] - d[before][after]
            best = None
            for b, other in enumerate(routes):
                if b == a or loads[b] + demand[c] > capacity:
                    continue
                path = [0, *other, 0]
                for p in range(len(path) - 1):
                    extra = d[path[p]][c] + d[c][path[p + 1]] - d[path[p]][path[p + 1]]
                    if extra < saving - 1e-9 and (best is None or extra < best[0]):
                        best = (extra, b, p)
            if best:
                _, b, p = best
                route.remove(c)
                routes[b].insert(p, c)
                loads[a], loads[b] = loads[a] - demand[c], loads[b] + demand[c]
                improved = True
    return improved


def _swap(routes, d, demand, capacity, deadline):
    """Exchanges two customers of different routes where both still fit and the total is shorter."""
    loads = [sum(demand[c] for c in r) for r in routes]

    def change(route, k, new):
        before, after = ([0, *route])[k], ([*route, 0])[k + 1]
        return d[before][new] + d[new][after] - d[before][route[k]] - d[route[k]][after]

    for a in range(len(routes)):
        if time.monotonic() > deadline:
            break
        for b in range(a + 1, len(routes)):
            for i, x in enumerate(routes[a]):
                for j, y in enumerate(routes[b]):
                    if loads[a] - demand[x] + demand[y] > capacity or loads[b] - demand[y] + demand[x] > capacity:
                        continue
                    if change(routes[a], i, y) + change(routes[b], j, x) < -1e-9:
                        routes[a][i], routes[b][j] = y, x
                        return True
    return False
