"""The rules of this task: the travelling salesman problem. The evaluator imports this file (its own copy);
you may import it too, to score your solver on the validation instances yourself:

    import json, problem, solver
    for instance in json.load(open("data/validation.json")):
        print(instance["name"], problem.score(instance, solver.solve(instance)))

An instance holds "points" ([x, y] of each city) and "time_limit" (seconds for `solve`). An answer is a
tour: a list holding each city's index exactly once (the tour returns to its first city). It scores
"bound" (the length of a minimum spanning tree of the cities, below any tour's length) over the tour's
length: 1 would be a tour as short as the bound.
"""

import math
import numbers


class Infeasible(Exception):
    """The answer is not a tour of the instance's cities: it scores 0."""


def score(instance: dict, answer) -> float:
    return instance["bound"] / tour_length(instance["points"], tour(answer, len(instance["points"])))


def tour(answer, cities: int) -> list[int]:
    if type(answer) not in (list, tuple) or len(answer) != cities:
        raise Infeasible(f"a tour is a list of the {cities} city indices, not {answer!r:.60}")
    if any(isinstance(c, bool) or not isinstance(c, numbers.Integral) for c in answer):
        raise Infeasible("a tour holds city indices (ints)")
    if sorted(answer) != list(range(cities)):
        raise Infeasible(f"a tour visits each of the cities 0 to {cities - 1} exactly once")
    return [int(c) for c in answer]


def tour_length(points: list, order: list[int]) -> float:
    return sum(math.dist(points[a], points[b]) for a, b in zip(order, order[1:] + order[:1], strict=True))
