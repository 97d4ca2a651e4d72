"""WalkSAT with few flips: from the assignment each variable's clause weights favour, 3n flips, each of a
variable of a random unsatisfied clause (a random one with probability 0.5, else the one whose flip leaves
the least weight newly unsatisfied), keeping the best assignment seen."""

import random

FLIPS_PER_VARIABLE, NOISE = 3, 0.5


def solve(instance):
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
    unsat = [c for c in range(len(clauses)) if not true[c]]
    best, best_cost, rng = values[:], sum(weights[c] for c in unsat), random.Random(0)
    for _ in range(FLIPS_PER_VARIABLE * n):
        if not unsat:
            break
        clause = clauses[rng.choice(unsat)]
        candidates = [abs(lit) - 1 for lit in clause]

        def breaks(v):
            return sum(weights[c] for c, positive in occurs[v] if true[c] == 1 and values[v] == positive)

        v = rng.choice(candidates) if rng.random() < NOISE else min(candidates, key=breaks)
        values[v] = not values[v]
        for c, positive in occurs[v]:
            true[c] += 1 if values[v] == positive else -1
        unsat = [c for c in range(len(clauses)) if not true[c]]
        cost = sum(weights[c] for c in unsat)
        if cost < best_cost:
            best, best_cost = values[:], cost
    return best
