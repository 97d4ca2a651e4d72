"""The rules of this task: weighted MAX-SAT. The evaluator imports this file (its own copy); you may
import it too, to score your solver on the validation instances yourself:

    import json, problem, solver
    for instance in json.load(open("data/validation.json")):
        print(instance["name"], problem.score(instance, solver.solve(instance)))

An instance holds "variables" (their number, n), "clauses" (each a list of literals: k stands for
variable k - 1 being true, -k for it being false), "weights" (each clause's) and "time_limit" (seconds
for `solve`). An answer is a list of n values, one per variable: True or False (or 1 or 0). A clause is
satisfied when one of its literals is. The answer scores 1 - (weight of unsatisfied clauses) / "bound",
where "bound" is the weight a uniformly random assignment leaves unsatisfied on average; below 0 counts
as 0.
"""


class Infeasible(Exception):
    """The answer is not an assignment of the instance's variables: it scores 0."""


def score(instance: dict, answer) -> float:
    return max(0.0, 1 - unsatisfied(instance, assignment(answer, instance["variables"])) / instance["bound"])


def assignment(answer, variables: int) -> list[bool]:
    if type(answer) not in (list, tuple) or len(answer) != variables or any(
            type(v) not in (bool, int) or v not in (0, 1) for v in answer):
        raise Infeasible(f"an answer is a list of {variables} bools, not {answer!r:.60}")
    return [bool(v) for v in answer]


def unsatisfied(instance: dict, values: list[bool]) -> float:
    return sum(w for clause, w in zip(instance["clauses"], instance["weights"], strict=True)
               if not any(values[abs(lit) - 1] == (lit > 0) for lit in clause))
