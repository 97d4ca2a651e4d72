"""The rules of this task: the capacitated vehicle routing problem. The evaluator imports this file (its
own copy); you may import it too, to score your solver on the validation instances yourself:

    import json, problem, solver
    for instance in json.load(open("data/validation.json")):
        print(instance["name"], problem.score(instance, solver.solve(instance)))

An instance holds "depot" ([x, y]), "customers" ([x, y] of each), "demands" (each customer's, an int),
"capacity" (what one vehicle carries) and "time_limit" (seconds for `solve`). An answer is a list of
routes, each a list of customer indices: every vehicle leaves the depot, visits its route's customers in
order and returns; every customer is on exactly one route, and no route's demands sum above the capacity.
It scores "bound" (a lower bound on any solution's total distance: the larger of a minimum spanning tree
of depot and customers, and the radial bound sum(2 * distance to depot * demand) / capacity) over the
answer's total distance.
"""

import itertools
import math
import numbers


class Infeasible(Exception):
    """The answer is not a feasible set of routes: it scores 0."""


def score(instance: dict, answer) -> float:
    return instance["bound"] / distance(instance, routes(answer, instance))


def routes(answer, instance: dict) -> list[list[int]]:
    customers, demands = len(instance["customers"]), instance["demands"]
    if type(answer) not in (list, tuple) or any(type(r) not in (list, tuple) for r in answer):
        raise Infeasible(f"an answer is a list of routes (lists of customer indices), not {answer!r:.60}")
    visits = [c for r in answer for c in r]
    if any(isinstance(c, bool) or not isinstance(c, numbers.Integral) for c in visits):
        raise Infeasible("a route holds customer indices (ints)")
    if sorted(visits) != list(range(customers)):
        raise Infeasible(f"the routes must visit each of the customers 0 to {customers - 1} exactly once")
    for r in answer:
        if sum(demands[c] for c in r) > instance["capacity"]:
            raise Infeasible(f"a route's demands sum to {sum(demands[c] for c in r)}, above the capacity "
                             f"{instance['capacity']}")
    return [[int(c) for c in r] for r in answer if r]


def distance(instance: dict, plan: list[list[int]]) -> float:
    depot, points = instance["depot"], instance["customers"]
    total = 0.0
    for r in plan:
        stops = [depot, *(points[c] for c in r), depot]
        total += sum(math.dist(a, b) for a, b in itertools.pairwise(stops))
    return total
