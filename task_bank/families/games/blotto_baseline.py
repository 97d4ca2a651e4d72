"""Best reply to the opponent's previous allocation: beat it, with one soldier more, on the battlefields
that give the most weight per soldier, while soldiers last; in the first round, soldiers in proportion
to the weights."""


def play(history, setup):
    """Return your allocation this round: setup["battlefields"] non-negative ints summing to at most
    setup["soldiers"].

    history: [your allocation, the opponent's allocation] for each past round of this match, oldest first.
    setup: the game (game.json): "weights" of the battlefields, "rounds" the match's length.
    """
    weights, soldiers = setup["weights"], setup["soldiers"]
    if not history:
        allocation = [soldiers * w // sum(weights) for w in weights]
    else:
        theirs = history[-1][1]
        allocation, left = [0] * len(weights), soldiers
        for i in sorted(range(len(weights)), key=lambda i: (theirs[i] + 1) / weights[i]):
            if theirs[i] + 1 <= left:
                allocation[i], left = theirs[i] + 1, left - theirs[i] - 1
    for n in range(soldiers - sum(allocation)):  # the rest, spread over all battlefields
        allocation[n % len(allocation)] += 1
    return allocation
