"""First fit decreasing: the items from largest to smallest, each into the first bin it fits in."""


def solve(instance):
    sizes, loads, bins = instance["sizes"], [], [0] * len(instance["sizes"])
    for item in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        b = next((b for b, load in enumerate(loads) if load + sizes[item] <= instance["capacity"]), len(loads))
        if b == len(loads):
            loads.append(0)
        loads[b] += sizes[item]
        bins[item] = b
    return bins
