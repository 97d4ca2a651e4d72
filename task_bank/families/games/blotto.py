"""The rules of this task's repeated Colonel Blotto game, and the opponents it is played against.

The evaluator imports this file (its own copy); you may import it too, to play your strategy against
the validation opponents on your own:

    import json, game, strategy
    setup = json.load(open("game.json"))
    for opponent in json.load(open("data/validation.json")):
        print(opponent["kind"], game.play_match(strategy.play, opponent, setup))

A match lasts setup["rounds"] rounds. In each, both sides split setup["soldiers"] soldiers (or fewer)
over setup["battlefields"] battlefields at once. The side with more soldiers on a battlefield wins its
weight (setup["weights"]); a tie wins nothing. A round pays (weight won - weight lost) / total weight,
from -1 to 1; a match scores the mean of its rounds, scaled to 0 (lost every field) .. 1 (won every field).
"""

import numbers
import random


class Forfeit(Exception):
    """The strategy returned something other than a legal allocation: the match scores 0."""


def play_match(play, opponent: dict, setup: dict) -> float:
    """`play(history, setup)` against one opponent; history holds [yours, theirs] allocations per past round."""
    rival = OPPONENTS[opponent["kind"]](opponent, setup)
    history, total = [], 0.0
    for _ in range(setup["rounds"]):
        mine = legal(play([[list(a) for a in pair] for pair in history], setup), setup)
        theirs = rival.move(history)
        history.append((mine, theirs))
        total += payoff(mine, theirs, setup["weights"])
    return (total / setup["rounds"] + 1) / 2


def payoff(mine: list[int], theirs: list[int], weights: list[float]) -> float:
    won = sum(w for w, a, b in zip(weights, mine, theirs, strict=True) if a > b)
    lost = sum(w for w, a, b in zip(weights, mine, theirs, strict=True) if a < b)
    return (won - lost) / sum(weights)


def legal(allocation, setup: dict) -> list[int]:
    fields, soldiers = setup["battlefields"], setup["soldiers"]
    if (type(allocation) not in (list, tuple) or len(allocation) != fields
            or any(isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 0 for x in allocation)
            or sum(allocation) > soldiers):
        raise Forfeit(f"an allocation must be {fields} non-negative ints summing to at most {soldiers}, "
                      f"not {allocation!r:.60}")
    return [int(x) for x in allocation]


def best_reply(target: list[float], setup: dict) -> list[int]:
    """The allocation that wins the most weight against `target` (knapsack: beating field i costs
    floor(target[i]) + 1 soldiers); soldiers left over go to the fields it wins, in turn."""
    soldiers, weights = setup["soldiers"], setup["weights"]
    costs = [int(t) + 1 for t in target]
    best, taken = [0.0] * (soldiers + 1), []  # best[b]: the most weight won with at most b soldiers so far
    for cost, weight in zip(costs, weights, strict=True):
        take = [b >= cost and best[b - cost] + weight > best[b] for b in range(soldiers + 1)]
        best = [best[b - cost] + weight if take[b] else best[b] for b in range(soldiers + 1)]
        taken.append(take)
    won, budget = [], soldiers
    for i in reversed(range(len(costs))):
        if taken[i][budget]:
            won.append(i)
            budget -= costs[i]
    if not won:  # no field can be won: spread evenly
        return [soldiers // len(weights) + (i < soldiers % len(weights)) for i in range(len(weights))]
    won.reverse()
    allocation = [costs[i] if i in won else 0 for i in range(len(weights))]
    for n in range(soldiers - sum(allocation)):
        allocation[won[n % len(won)]] += 1
    return allocation


class Opponent:
    """Every opponent moves `noise` soldiers at random from one field to another after choosing."""

    def __init__(self, spec: dict, setup: dict) -> None:
        self.spec, self.setup = spec, setup
        self.rng = random.Random(spec["seed"])

    def move(self, history: list) -> list[int]:
        allocation = self.choose(history)
        for _ in range(self.spec["noise"]):
            source, dest = self.rng.randrange(len(allocation)), self.rng.randrange(len(allocation))
            if allocation[source]:
                allocation[source] -= 1
                allocation[dest] += 1
        return allocation

    def choose(self, history: list) -> list[int]:
        raise NotImplementedError

    def spread(self, shares: list[float]) -> list[int]:
        """All soldiers, split in proportion to `shares` (the remainders drawn at random)."""
        total, soldiers = sum(shares), self.setup["soldiers"]
        allocation = [int(soldiers * s / total) for s in shares]
        for _ in range(soldiers - sum(allocation)):
            allocation[self.rng.choices(range(len(shares)), weights=shares)[0]] += 1
        return allocation


class Profile(Opponent):
    """Each round, shares drawn around `preference` (Dirichlet, `concentration`: larger is steadier)."""

    def choose(self, history):
        return self.spread([self.rng.gammavariate(self.spec["concentration"] * p, 1) + 1e-9
                            for p in self.spec["preference"]])


class Focus(Opponent):
    """Each round, all soldiers evenly on `focus` fields drawn with weights `preference`."""

    def choose(self, history):
        fields = set()
        while len(fields) < self.spec["focus"]:
            fields.add(self.rng.choices(range(self.setup["battlefields"]), weights=self.spec["preference"])[0])
        return self.spread([1.0 if i in fields else 0.0 for i in range(self.setup["battlefields"])])


class Cycle(Opponent):
    """Plays the allocations of `plan` in turn."""

    def choose(self, history):
        return list(self.spec["plan"][len(history) % len(self.spec["plan"])])


class Counter(Opponent):
    """Best reply to the agent's mean allocation over the last `window` rounds (0: all); `opening` first."""

    def choose(self, history):
        if not history:
            return list(self.spec["opening"])
        recent = history[-self.spec["window"]:] if self.spec["window"] else history
        mean = [sum(mine[i] for mine, _ in recent) / len(recent) for i in range(self.setup["battlefields"])]
        return best_reply(mean, self.setup)


OPPONENTS = {"profile": Profile, "focus": Focus, "cycle": Cycle, "counter": Counter}
