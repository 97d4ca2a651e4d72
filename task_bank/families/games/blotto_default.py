"""Soldiers in proportion to the battlefields' weights, every round (largest remainders first)."""


def play(history, setup):
    weights, soldiers = setup["weights"], setup["soldiers"]
    shares = [soldiers * w / sum(weights) for w in weights]
    allocation = [int(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: allocation[i] - shares[i])
    for i in by_remainder[:soldiers - sum(allocation)]:
        allocation[i] += 1
    return allocation
