"""Opponent modelling: several predictors guess the opponent's next allocation (its recent allocations,
a repeat of a cycle, or a best reply to your own recent allocations, as game.py's counters play); the
one that has guessed best lately is trusted, and the allocation is a best reply to what it predicts
(dynamic programming over battlefields and soldiers)."""

import numpy as np
from game import best_reply

DECAY, RECENT = 0.8, 6


_match = {"seen": None, "errors": {}, "guesses": {}}
"""The current match: rounds scored, each predictor's recent error (decayed), and its guesses by round."""


def play(history, setup):
    predictors = _predictors(setup)
    if not history or _match["seen"] != len(history) - 1:  # a new match: start afresh
        _match.update(seen=len(history), errors=dict.fromkeys(predictors, 0.0), guesses={})
    for t in range(max(_match["seen"], 1), len(history)):  # how far each predictor's guess was
        for name in predictors:
            guess = _guess(predictors, name, history, t)
            miss = (sum(abs(g - a) for g, a in zip(_mean(guess), history[t][1], strict=True)) if guess
                    else 2 * setup["soldiers"])
            _match["errors"][name] = DECAY * _match["errors"][name] + miss
    _match["seen"] = len(history)
    if not history:
        return _proportional(setup)
    best = min(predictors, key=lambda name: _match["errors"][name])
    predicted = _guess(predictors, best, history, len(history))
    return best_reply(predicted[0], setup) if len(predicted) == 1 else _reply(predicted, setup)


def _guess(predictors, name, history, t):
    """What predictor `name` guesses for round t (from the rounds before it)."""
    if (name, t) not in _match["guesses"]:
        _match["guesses"][name, t] = predictors[name](history[:t])
    return _match["guesses"][name, t]


def _predictors(setup):
    def follower(window):
        def predict(history):
            recent = history[-window:] if window else history
            return [best_reply(_mean([mine for mine, _ in recent]), setup)] if history else []
        return predict

    return {"recent": lambda h: [theirs for _, theirs in h[-RECENT:]],
            "cycle2": lambda h: [h[-2][1]] if len(h) >= 2 else [],
            "cycle3": lambda h: [h[-3][1]] if len(h) >= 3 else [],
            "follow1": follower(1), "follow3": follower(3), "follow_all": follower(0)}


def _mean(allocations):
    return [sum(column) / len(allocations) for column in zip(*allocations, strict=True)]


def _reply(predicted, setup):
    """The allocation that wins the most weight on average against the `predicted` allocations."""
    if not predicted:
        return _proportional(setup)
    soldiers, theirs = setup["soldiers"], np.array(predicted)
    best, picks = np.zeros(soldiers + 1), []  # best[b]: the most weight won with at most b soldiers so far
    for i, weight in enumerate(setup["weights"]):
        levels = np.unique(np.concatenate(([0], theirs[:, i], theirs[:, i] + 1)))
        levels = levels[levels <= soldiers]  # where the weight won changes
        values = weight * np.sign(levels[:, None] - theirs[None, :, i]).mean(axis=1)
        table = np.full((len(levels), soldiers + 1), -np.inf)
        for j, level in enumerate(levels):
            table[j, level:] = best[:soldiers + 1 - level] + values[j]
        picks.append(levels[table.argmax(axis=0)])
        best = table.max(axis=0)
    allocation, budget = [], soldiers
    for pick in reversed(picks):
        allocation.append(int(pick[budget]))
        budget -= allocation[-1]
    allocation.reverse()
    for n in range(soldiers - sum(allocation)):  # the rest, spread over all battlefields
        allocation[n % len(allocation)] += 1
    return allocation


def _proportional(setup):
    weights, soldiers = setup["weights"], setup["soldiers"]
    allocation = [soldiers * w // sum(weights) for w in weights]
    for n in range(soldiers - sum(allocation)):
        allocation[n % len(allocation)] += 1
    return allocation
