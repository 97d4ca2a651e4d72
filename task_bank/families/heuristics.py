"""Heuristics for combinatorial problems: the agent writes `solver.solve` for the travelling salesman
problem, capacitated vehicle routing, bin packing or weighted MAX-SAT, scored on hidden instances by the
objective relative to a cheap bound (a spanning tree, the total size, a random assignment's weight), each
call within a time limit the evaluator enforces; the evaluator checks feasibility itself (an infeasible,
malformed or late answer scores 0). The validation instances are visible; the test instances are hidden
and drawn the same way.

The task's files come from `heuristics/`: the evaluator, the problem's rules (`<problem>.py`, shipped as
`problem.py`) and the ladder's solvers.
"""

import math
import random
from pathlib import Path
from typing import Any

from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.program import ProgramDraft
from synthml.tasks.schema import Metric

TEMPLATES = Path(__file__).with_name("heuristics")
PROBLEMS = ("tsp", "cvrp", "bin_packing", "max_sat")
DISTRIBUTIONS = {"tsp": ("uniform", "clustered"), "cvrp": ("uniform", "clustered"),
                 "bin_packing": ("triplets", "near_triplets"), "max_sat": ("unweighted", "weighted")}
"""Bin packing comes in its hard classes only: on uniformly drawn sizes first fit decreasing is already
within a percent or two of what local search reaches."""
SIZES = {"tsp": {"small": (25, 40), "large": (45, 65)}, "cvrp": {"small": (15, 25), "large": (30, 40)},
         "bin_packing": {"small": (20, 30), "large": (40, 50)}, "max_sat": {"small": (30, 50), "large": (60, 80)}}
"""Cities, customers, item triples (three items each) or variables, by size."""
TIME_LIMITS = (0.1, 0.2)
"""Seconds for one call of `solve`."""
VALIDATION_INSTANCES, TEST_INSTANCES = 16, 20
SIDE = 1000
"""Cities and customers lie in a SIDE x SIDE square."""


def sample_knobs(rng: random.Random, entry: None = None) -> dict[str, Any]:
    problem = common.pick(rng, PROBLEMS)
    return {"problem": problem, "distribution": common.pick(rng, DISTRIBUTIONS[problem]),
            "size": common.pick(rng, ("small", "large")), "time_limit": common.pick(rng, TIME_LIMITS)}


def build(entry: None, table: None, knobs: dict[str, Any], seed: int, task_id: str) -> ProgramDraft:
    rng, problem = random.Random(seed), knobs["problem"]
    validation = _instances(rng, knobs, "v", VALIDATION_INSTANCES)
    test = _instances(rng, knobs, "t", TEST_INSTANCES)
    return ProgramDraft(
        task_id=task_id, name=f"{_TITLES[problem]}: a fast heuristic", intro=_intro(knobs), family=FAMILY.name,
        topic=f"Heuristic search for {_TITLES[problem].lower()} under a time limit.", submission="solver.py",
        baseline=_read(f"{problem}_baseline.py"), baseline_summary=_BASELINE_SUMMARY[problem],
        evaluator=_read("evaluate.py"), validation=validation, test=test,
        ladder={rung: _read(f"{problem}_{rung}.py") for rung in ("trivial", "default", "reference")},
        metrics=(Metric(name="score", direction="max"), Metric(name="failures", direction="min")),
        knobs=knobs, notes=_notes(problem, knobs), files={"problem.py": _read(f"{problem}.py")},
        environment=f"{knobs['distribution']} {problem.replace('_', ' ')} instances")


def _read(name: str) -> str:
    return (TEMPLATES / name).read_text()


# --- instances, each with its bound ---

def _instances(rng: random.Random, knobs: dict[str, Any], prefix: str, count: int) -> list[dict]:
    make = {"tsp": _tsp, "cvrp": _cvrp, "bin_packing": _bin_packing, "max_sat": _max_sat}[knobs["problem"]]
    low, high = SIZES[knobs["problem"]][knobs["size"]]
    return [{"name": f"{prefix}{i}", **make(rng, rng.randint(low, high), knobs["distribution"]),
             "time_limit": knobs["time_limit"]} for i in range(count)]


def _points(rng: random.Random, n: int, distribution: str) -> list[list[int]]:
    if distribution == "uniform":
        return [[rng.randrange(SIDE), rng.randrange(SIDE)] for _ in range(n)]
    centres = [(rng.uniform(0.15, 0.85) * SIDE, rng.uniform(0.15, 0.85) * SIDE) for _ in range(rng.randint(3, 6))]
    points = []
    for _ in range(n):
        x, y = common.pick(rng, centres)
        points.append([min(SIDE - 1, max(0, round(rng.gauss(x, SIDE / 20)))),
                       min(SIDE - 1, max(0, round(rng.gauss(y, SIDE / 20))))])
    return points


def spanning_tree(points: list) -> float:
    """Length of a minimum spanning tree (Prim)."""
    reach = [math.dist(points[0], p) for p in points]
    inside, total = [True] + [False] * (len(points) - 1), 0.0
    for _ in range(len(points) - 1):
        nearest = min((i for i in range(len(points)) if not inside[i]), key=reach.__getitem__)
        inside[nearest], total = True, total + reach[nearest]
        reach = [min(r, math.dist(points[nearest], p)) for r, p in zip(reach, points, strict=True)]
    return total


def _tsp(rng: random.Random, n: int, distribution: str) -> dict:
    points = _points(rng, n, distribution)
    return {"points": points, "bound": round(spanning_tree(points), 3)}


def _cvrp(rng: random.Random, n: int, distribution: str) -> dict:
    customers = _points(rng, n, distribution)
    depot = [SIDE // 2, SIDE // 2] if rng.random() < 0.5 else [0, 0]
    demands = [rng.randint(1, 10) for _ in range(n)]
    capacity = common.pick(rng, (20, 30, 40))
    radial = sum(2 * math.dist(depot, p) * q for p, q in zip(customers, demands, strict=True)) / capacity
    return {"depot": depot, "customers": customers, "demands": demands, "capacity": capacity,
            "bound": round(max(radial, spanning_tree([depot, *customers])), 3)}


def _bin_packing(rng: random.Random, triples: int, distribution: str) -> dict:
    """Items in threes that fill a bin exactly (`triplets`, Falkenauer's hard class) or leave up to 3% of
    it empty (`near_triplets`)."""
    capacity, sizes = 1000, []
    for _ in range(triples):
        first = rng.randint(380, 490)
        second = rng.randint(250, min(first, capacity - first - 250))
        slack = rng.randint(0, 30) if distribution == "near_triplets" else 0
        sizes += [first, second, capacity - first - second - slack]
    rng.shuffle(sizes)
    return {"sizes": sizes, "capacity": capacity, "bound": round(sum(sizes) / capacity, 6)}


def _max_sat(rng: random.Random, n: int, distribution: str) -> dict:
    """Random 3-SAT past the satisfiability threshold (5 to 6 clauses per variable)."""
    clauses = [[v * common.pick(rng, (1, -1)) for v in rng.sample(range(1, n + 1), 3)]
               for _ in range(round(n * rng.uniform(5, 6)))]
    weights = [rng.randint(1, 10) if distribution == "weighted" else 1 for _ in clauses]
    return {"variables": n, "clauses": clauses, "weights": weights, "bound": sum(weights) / 8}


# --- the statement ---

_TITLES = {"tsp": "Travelling salesman", "cvrp": "Capacitated vehicle routing", "bin_packing": "Bin packing",
           "max_sat": "Weighted MAX-SAT"}
_BASELINE_SUMMARY = {
    "tsp": "visits the cities in order of their angle around the centre of all cities",
    "cvrp": "the sweep: customers in order of their angle around the depot, a new route whenever the next "
            "customer would overload the vehicle",
    "bin_packing": "first fit: each item, in the order given, into the first bin it fits in",
    "max_sat": "sets each variable the way the weights of the clauses it appears in favour",
}
_ANSWERS = {
    "tsp": "a tour: a list holding each city's index exactly once",
    "cvrp": "a list of routes, each a list of customer indices, that visit every customer once without "
            "overloading a vehicle",
    "bin_packing": "each item's bin: a list of ints, one per item, with no bin over its capacity",
    "max_sat": "the variables' values: a list of bools, one per variable",
}
_OBJECTIVES = {
    "tsp": "the tour's length (the score is a spanning-tree bound over it)",
    "cvrp": "the routes' total distance (the score is a lower bound over it)",
    "bin_packing": "the bins used, the emptiest counted by how full it is (the score is the total size over it)",
    "max_sat": "the weight of unsatisfied clauses (the score is 1 minus it over a random assignment's)",
}


def _intro(knobs: dict[str, Any]) -> str:
    problem = knobs["problem"]
    return (f"Write a fast heuristic for {_TITLES[problem].lower()} ({knobs['distribution']}, {knobs['size']} "
            f"instances). `solve(instance)` must return {_ANSWERS[problem]}, within {knobs['time_limit']:g} s "
            f"per instance. It is scored on hidden test instances drawn like the visible validation instances "
            f"(data/validation.json), by {_OBJECTIVES[problem]}: each instance scores from 0 to 1, higher is "
            f"better, and the score is their mean.")


def _notes(problem: str, knobs: dict[str, Any]) -> tuple[str, ...]:
    return ("INTERFACE: `solve(instance)` gets one instance as a dict (its fields are described in problem.py; "
            "the instance's name and its bound are left out) and returns the answer as plain data. problem.py "
            "holds the rules: `problem.score(instance, answer)` scores an answer as the evaluator does.",
            f"RULES: each call is timed; an answer after {knobs['time_limit']:g} s, an exception, or an infeasible "
            "or malformed answer scores 0 for that instance (a call still running a second past its limit is "
            "abandoned, and every later instance scores 0 too). Instances are solved one after another in one "
            "process of yours.")


FAMILY = Family("heuristics", (), sample_knobs, build,
                skills=("combinatorial optimisation", "local search", "algorithm engineering"))
