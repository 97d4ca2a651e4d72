"""Iterated local search: a nearest-neighbour tour improved by 2-opt and or-opt moves to a local optimum,
then kicked (a double-bridge move) and improved again, keeping the best tour, while a share of the
time limit lasts (and for at most KICKS kicks, so that an idle machine gives the same tour every time)."""

import math
import random
import time

SHARE, KICKS = 0.4, 2


def solve(instance):
    start, points = time.monotonic(), instance["points"]
    deadline = start + SHARE * instance["time_limit"]
    n = len(points)
    d = [[math.dist(p, q) for q in points] for p in points]
    tour = _improve(_nearest_neighbour(d), d, deadline)
    best, best_length, rng = tour, _length(tour, d), random.Random(0)
    for _ in range(KICKS):
        if time.monotonic() > deadline or n < 8:
            break
        tour = _improve(_double_bridge(best, rng), d, deadline)
        if _length(tour, d) < best_length - 1e-9:
            best, best_length = tour, _length(tour, d)
    return best


def _nearest_neighbour(d):
    tour, left = [0], set(range(1, len(d)))
    while left:
        here = d[tour[-1]]
        tour.append(min(left, key=here.__getitem__))
        left.remove(tour[-1])
    return tour


def _length(tour, d):
    return sum(d[a][b] for a, b in zip(tour, tour[1:] + tour[:1], strict=True))


def _improve(tour, d, deadline):
    """2-opt and or-opt moves, first improvement, until neither helps (or time is up)."""
    while time.monotonic() < deadline and (_two_opt(tour, d, deadline) or _or_opt(tour, d, deadline)):
        pass
    return tour


def _two_opt(tour, d, deadline):
    """One pass; reverses tour[i + 1 : j + 1] wherever that shortens the tour. Whether it did."""
    n, improved = len(tour), False
    for i in range(n - 2):
        if time.monotonic() > deadline:
            break
        a, b = tour[i], tour[i + 1]
        for j in range(i + 2, n if i else n - 1):
            c, e = tour[j], tour[(j + 1) % n]
            if d[a][c] + d[b][e] < d[a][b] + d[c][e] - 1e-9:
                tour[i + 1:j + 1] = tour[i + 1:j + 1][::-1]
                a, b, improved = tour[i], tour[i + 1], True
    return improved


def _or_opt(tour, d, deadline):
    """Moves a run of 1 to 3 cities (either way round) between two others where that is shorter; whether
    it found such a move."""
    n = len(tour)
    for size in (1, 2, 3):
        for i in range(n - size + 1):
            if time.monotonic() > deadline:
                return False
            run = tour[i:i + size]
            before, after = tour[i - 1], tour[(i + size) % n]
            if before in run or after in run:
                continue
            gain = d[before][run[0]] + d[run[-1]][after] - d[before][after]
            rest = tour[i + size:] + tour[:i]
            for k in range(len(rest) - 1):
                p, q = rest[k], rest[k + 1]
                for piece in (run, run[::-1]):
                    if d[p][piece[0]] + d[piece[-1]][q] - d[p][q] < gain - 1e-9:
                        tour[:] = rest[:k + 1] + piece + rest[k + 1:]
                        return True
    return False


def _double_bridge(tour, rng):
    a, b, c = sorted(rng.sample(range(1, len(tour)), 3))
    return tour[:a] + tour[b:c] + tour[a:b] + tour[c:]
