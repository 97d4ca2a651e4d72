"""Opponent modelling: several models predict the opponent's next action (from its overall or recent
frequencies, your last actions, the last joint outcome, its own last actions, or as a best reply to your
frequencies); the one with the lowest recent log-loss drives the choice, a look-ahead plan over that
model's states, so that the plan weighs how your action now changes what the opponent does next."""

import math

LOSS_DECAY = 0.95
"""Per round, of each model's running log-loss: the model that predicted best lately is trusted."""
TOLERANCE = 0.5
"""In a social dilemma, nats of recent log-loss by which a model of how the opponent reacts to you may trail
the best model and still be chosen: planning with it is safer (an untried provocation is assumed to be
punished)."""
HORIZON, DISCOUNT, PRIOR = 6, 0.9, 0.5


class Context:
    """Counts of the opponent's actions after each state, backed off to its overall frequencies;
    `state(history, t)` is the state before round t (None: too little history). Where your action changes
    the state, `space` lists the states and `step(state, mine, theirs)` gives the state after a round."""

    def __init__(self, state, actions: int, space: list | None = None, step=None, decay: float = 0.95) -> None:
        self.state, self.actions, self.space, self.step, self.decay = state, actions, space, step, decay
        self.counts, self.loss = {}, 0.0

    def predict(self, state, overall: list[float]) -> list[float]:
        counts = self.counts.get(state) or [0.0] * self.actions
        total = sum(counts) + PRIOR * self.actions
        return [(c + PRIOR * self.actions * o) / total for c, o in zip(counts, overall, strict=True)]

    def expect(self, state, now, overall: list[float], payoffs: list) -> list[float]:
        """For planning: a state never seen but the current one is assumed to bring the opponent's action
        worst for you (an untried provocation is punished)."""
        if state in self.counts or state == now:
            return self.predict(state, overall)
        worst = min(range(self.actions), key=lambda b: sum(row[b] for row in payoffs))
        return [float(b == worst) for b in range(self.actions)]

    def update(self, history: list, t: int, overall: list[float]) -> None:
        state, theirs = self.state(history, t), history[t][1]
        self.loss = LOSS_DECAY * self.loss - math.log(self.predict(state, overall)[theirs])
        if state is not None:
            counts = [self.decay * c for c in self.counts.get(state) or [0.0] * self.actions]
            counts[theirs] += 1
            self.counts[state] = counts

    def choose(self, history: list, payoffs: list, remaining: int, overall: list[float]) -> int:
        """The first action of the best plan over min(remaining, HORIZON) rounds (value iteration over the
        model's states), or the best reply to the prediction where your action does not change the state."""
        actions, now = range(len(payoffs)), self.state(history, len(history))
        if self.space is None or now is None:
            probs = self.predict(now, overall)
            return max(actions, key=lambda a: sum(p * payoffs[a][b] for b, p in enumerate(probs)))
        outcomes = {}  # (state, your action): [(probability, your payoff, next state)] for each opponent action
        for state in self.space:
            expected = self.expect(state, now, overall, payoffs)
            for a in actions:
                outcomes[state, a] = [(p, payoffs[a][b], self.step(state, a, b)) for b, p in enumerate(expected) if p]
        values = dict.fromkeys(self.space, 0.0)
        for _ in range(min(remaining, HORIZON) - 1):
            values = {s: max(sum(p * (r + DISCOUNT * values[n]) for p, r, n in outcomes[s, a]) for a in actions)
                      for s in self.space}
        return max(actions, key=lambda a: sum(p * (r + DISCOUNT * values[n]) for p, r, n in outcomes[now, a]))


class Follower:
    """Predicts a best reply to your action frequencies over the last `window` rounds (0: all)."""

    def __init__(self, window: int, setup: dict) -> None:
        self.window, self.setup, self.loss = window, setup, 0.0

    def reply(self, counts: list[float]) -> int:
        theirs = self.setup["opponent_payoffs"]
        values = [sum(c * theirs[a][b] for a, c in enumerate(counts)) for b in range(len(counts))]
        return values.index(max(values))

    def predicted(self, history: list, t: int) -> int:
        counts = [1.0] * len(self.setup["actions"])
        for mine, _ in history[max(0, t - self.window) if self.window else 0:t]:
            counts[mine] += 1
        return self.reply(counts)

    def update(self, history: list, t: int, overall: list[float]) -> None:
        self.loss = LOSS_DECAY * self.loss - math.log(0.9 if self.predicted(history, t) == history[t][1] else 0.05)

    def choose(self, history: list, payoffs: list, remaining: int, overall: list[float]) -> int:
        """Lead (keep to the action whose best reply pays you most) or exploit the predicted reply."""
        actions = range(len(payoffs))

        def led(a):
            return payoffs[a][self.reply([float(a == i) for i in actions])]

        lead = max(actions, key=led)
        predicted = self.predicted(history, len(history))
        exploit = max(actions, key=lambda a: payoffs[a][predicted])
        return lead if led(lead) >= payoffs[exploit][predicted] and remaining > 2 else exploit


def models(setup: dict) -> list:
    k = len(setup["actions"])

    def last(n, side):
        return lambda h, t: tuple(h[i][side] for i in range(t - n, t)) if t >= n else None

    def everything(h, t):
        return ()

    pairs = [(a, b) for a in range(k) for b in range(k)]
    return [Context(last(1, 0), k, [(a,) for a in range(k)], lambda s, a, b: (a,)),
            Context(lambda h, t: tuple(h[t - 1]) if t else None, k, pairs, lambda s, a, b: (a, b)),
            Context(last(2, 0), k, pairs, lambda s, a, b: (s[1], a)),
            Context(everything, k, decay=1.0), Context(everything, k, decay=0.9),
            Context(last(1, 1), k), Context(last(2, 1), k), Context(last(3, 1), k),
            Follower(5, setup), Follower(0, setup)]


_match = {"seen": None, "models": [], "overall": []}
"""The current match: rounds learnt from, the models, and counts of the opponent's actions."""


def play(history, setup):
    k = len(setup["actions"])
    if not history or _match["seen"] != len(history) - 1:  # a new match: start afresh
        _match.update(seen=0, models=models(setup), overall=[PRIOR] * k)
    counts = _match["overall"]
    for t in range(_match["seen"], len(history)):
        for model in _match["models"]:
            model.update(history, t, [c / sum(counts) for c in counts])
        counts[history[t][1]] += 1
    _match["seen"] = len(history)
    payoffs = setup["payoffs"]
    if not history:  # the most rewarding outcome both sides can share
        return max(range(k), key=lambda a: (payoffs[a][a], sum(payoffs[a])))
    least = min(m.loss for m in _match["models"])
    slack = TOLERANCE if "nice" in setup else 0.0
    best = next(m for m in _match["models"] if m.loss <= least + slack)  # models of reactions first
    return best.choose(history, payoffs, setup["rounds"] - len(history), [c / sum(counts) for c in counts])
