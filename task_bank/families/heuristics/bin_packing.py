"""The rules of this task: one-dimensional bin packing. The evaluator imports this file (its own copy);
you may import it too, to score your solver on the validation instances yourself:

    import json, problem, solver
    for instance in json.load(open("data/validation.json")):
        print(instance["name"], problem.score(instance, solver.solve(instance)))

An instance holds "sizes" (each item's, an int), "capacity" (each bin's) and "time_limit" (seconds for
`solve`). An answer gives each item's bin: a list of ints, one per item, bins numbered from 0; no bin's
items may sum above the capacity. Its cost counts the bins used, the emptiest of them by how full it is
(so emptying a bin pays off before it is gone): (bins - 1) + fill of the emptiest bin / capacity. It
scores "bound" (the total size over the capacity, below any packing's cost) over that cost.
"""

import numbers


class Infeasible(Exception):
    """The answer is not a packing of the instance's items: it scores 0."""


def score(instance: dict, answer) -> float:
    return instance["bound"] / cost(instance, loads(answer, instance))


def loads(answer, instance: dict) -> list[int]:
    sizes, capacity = instance["sizes"], instance["capacity"]
    if type(answer) not in (list, tuple) or len(answer) != len(sizes):
        raise Infeasible(f"an answer gives the bin of each of the {len(sizes)} items, not {answer!r:.60}")
    if any(isinstance(b, bool) or not isinstance(b, numbers.Integral) or not 0 <= b < len(sizes) for b in answer):
        raise Infeasible(f"bins are numbered 0 to {len(sizes) - 1}")
    filled = {}
    for size, b in zip(sizes, answer, strict=True):
        filled[int(b)] = filled.get(int(b), 0) + size
    if max(filled.values()) > capacity:
        raise Infeasible(f"a bin holds {max(filled.values())}, above the capacity {capacity}")
    return list(filled.values())


def cost(instance: dict, filled: list[int]) -> float:
    return len(filled) - 1 + min(filled) / instance["capacity"]
