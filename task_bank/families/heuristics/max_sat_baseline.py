"""Each variable set the way its literals' clause weights favour (the heavier of its positive and negative
occurrences)."""


def solve(instance):
    """Return each variable's value: a list of instance["variables"] bools.

    instance: "variables" (their number), "clauses" (lists of literals: k for variable k - 1 true, -k for it
    false), "weights" (each clause's) and "time_limit" (seconds this call may take).
    """
    lean = [0] * instance["variables"]
    for clause, weight in zip(instance["clauses"], instance["weights"], strict=True):
        for literal in clause:
            lean[abs(literal) - 1] += weight if literal > 0 else -weight
    return [v > 0 for v in lean]
