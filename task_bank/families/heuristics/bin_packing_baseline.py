"""First fit: each item, in the order given, into the first bin it fits in."""


def solve(instance):
    """Return each item's bin: a list of ints (bins numbered from 0), one per item.

    instance: "sizes" (each item's), "capacity" (each bin's) and "time_limit" (seconds this call may take).
    """
    loads, bins = [], []
    for size in instance["sizes"]:
        b = next((b for b, load in enumerate(loads) if load + size <= instance["capacity"]), len(loads))
        if b == len(loads):
            loads.append(0)
        loads[b] += size
        bins.append(b)
    return bins
