"""The cities in the order given."""


def solve(instance):
    return list(range(len(instance["points"])))
