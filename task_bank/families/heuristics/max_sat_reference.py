"""WalkSAT at length: from the assignment each variable's clause weights favour, flips of a variable of a
random unsatisfied clause (a random one with probability NOISE, else the one whose flip leaves the least
weight newly unsatisfied), the set of unsatisfied clauses kept up to date flip by flip, keeping the best
assignment seen, while a share of the time limit lasts (and for at most FLIPS_PER_VARIABLE * n flips,
so that an idle machine gives the same answer every time)."""

import random
import time

SHARE, FLIPS_PER_VARIABLE, NOISE = 0.4, 40, 0.3


def solve(instance):
    deadline = time.monotonic() + SHARE * instance["time_limit"]
    n, clauses, weights = instance["variables"], instance["clauses"], instance["weights"]
    lean = [0] * n
    for clause, weight in zip(clauses, weights, strict=True):
        for literal in clause:
            lean[abs(literal) - 1] += weight if literal > 0 else -weight
    values = [v > 0 for v in lean]
    occurs = [[] for _ in range(n)]
    for c, clause in enumerate(clauses):
        for literal in clause:
            occurs[abs(literal) - 1].append((c, literal > 0))
    true = [sum(values[abs(lit) - 1] == (lit > 0) for lit in clause) for clause in clauses]
    unsat, where = [], {}  # the unsatisfied clauses, and where each lies in that list
    for c in range(len(clauses)):
        if not true[c]:
            where[c] = len(unsat)
            unsat.append(c)
    cost = sum(weights[c] for c in unsat)
    best, best_cost, rng = values[:], cost, random.Random(0)
    for flip in range(FLIPS_PER_VARIABLE * n):
        if not unsat or (flip % 64 == 0 and time.monotonic() > deadline):
            break
        candidates = [abs(lit) - 1 for lit in clauses[rng.choice(unsat)]]
        if rng.random() < NOISE:
            v = rng.choice(candidates)
        else:
            v = min(candidates, key=lambda v: sum(weights[c] for c, positive in occurs[v]
                                                  if true[c] == 1 and values[v] == positive))
        values[v] = not values[v]
        for c, positive in occurs[v]:
            if values[v] == positive:
                true[c] += 1
                if true[c] == 1:  # newly satisfied
                    last = unsat.pop()
                    if last != c:
                        unsat[where[c]] = last
                        where[last] = where[c]
                    del where[c]
                    cost -= weights[c]
            else:
                true[c] -= 1
                if true[c] == 0:
                    where[c] = len(unsat)
                    unsat.append(c)
                    cost += weights[c]
        if cost < best_cost:
            best, best_cost = values[:], cost
    return best
