"""The rules of this task's repeated matrix game, and the opponents it is played against.

The evaluator imports this file (its own copy); you may import it too, to play your strategy against
the validation opponents on your own:

    import json, game, strategy
    setup = json.load(open("game.json"))
    for opponent in json.load(open("data/validation.json")):
        print(opponent["kind"], game.play_match(strategy.play, opponent, setup))

A match lasts setup["rounds"] rounds. In each, your strategy and the opponent choose an action at
once; you receive setup["payoffs"][yours][theirs], the opponent setup["opponent_payoffs"][yours][theirs].
A match scores the mean payoff per round, scaled so that the game's worst payoff is 0 and its best 1.
"""

import numbers
import random


class Forfeit(Exception):
    """The strategy returned something other than a legal action: the match scores 0."""


def play_match(play, opponent: dict, setup: dict) -> float:
    """`play(history, setup)` against one opponent; history holds [yours, theirs] for each past round."""
    rival = OPPONENTS[opponent["kind"]](opponent, setup)
    history, total = [], 0
    for _ in range(setup["rounds"]):
        mine = legal(play([list(pair) for pair in history], setup), setup)
        theirs = rival.move(history)
        history.append((mine, theirs))
        total += setup["payoffs"][mine][theirs]
    values = [v for row in setup["payoffs"] for v in row]
    return (total / setup["rounds"] - min(values)) / (max(values) - min(values))


def legal(action, setup: dict) -> int:
    if isinstance(action, bool) or not isinstance(action, numbers.Integral) or not 0 <= action < len(setup["actions"]):
        raise Forfeit(f"an action must be an int from 0 to {len(setup['actions']) - 1}, not {action!r:.40}")
    return int(action)


def best_reply(setup: dict, weights: list[float]) -> int:
    """The opponent's best action against the agent's actions weighted by `weights` (lowest index on ties)."""
    values = [sum(w * setup["opponent_payoffs"][a][b] for a, w in enumerate(weights))
              for b in range(len(setup["actions"]))]
    return values.index(max(values))


class Opponent:
    """Every opponent plays a uniformly random action with probability `noise`."""

    def __init__(self, spec: dict, setup: dict) -> None:
        self.spec, self.setup = spec, setup
        self.actions = len(setup["actions"])
        self.rng = random.Random(spec["seed"])

    def move(self, history: list) -> int:
        if self.rng.random() < self.spec["noise"]:
            return self.rng.randrange(self.actions)
        return self.choose(history)

    def choose(self, history: list) -> int:
        raise NotImplementedError

    def draw(self, probs: list[float]) -> int:
        return self.rng.choices(range(self.actions), weights=probs)[0]


class Biased(Opponent):
    """Draws each action from fixed probabilities `probs`."""

    def choose(self, history):
        return self.draw(self.spec["probs"])


class Drift(Opponent):
    """Draws from `probs` and `later` in turn, switching every `period` rounds."""

    def choose(self, history):
        phase = len(history) // self.spec["period"] % 2
        return self.draw(self.spec["later"] if phase else self.spec["probs"])


class Cycle(Opponent):
    """Plays `sequence` over and over."""

    def choose(self, history):
        return self.spec["sequence"][len(history) % len(self.spec["sequence"])]


class Reactive(Opponent):
    """Plays `first`, then `reply[a]` after the agent played a (tit-for-tat: reply[a] = a)."""

    def choose(self, history):
        return self.spec["reply"][history[-1][0]] if history else self.spec["first"]


class Grim(Opponent):
    """Plays `nice` until the agent has played `nasty` `tolerance` times, then `nasty` for `punish` rounds
    (0: for ever), counting afresh after each punishment."""

    def __init__(self, spec, setup):
        super().__init__(spec, setup)
        self.offences, self.punishing = 0, 0

    def choose(self, history):
        if history and history[-1][0] == self.spec["nasty"] and not self.punishing:
            self.offences += 1
            if self.offences >= self.spec["tolerance"]:
                self.offences, self.punishing = 0, self.spec["punish"] or len(history) + self.setup["rounds"]
        if self.punishing:
            self.punishing -= 1
            return self.spec["nasty"]
        return self.spec["nice"]


class Counter(Opponent):
    """Best reply to how often the agent played each action over the last `window` rounds (0: all)."""

    def choose(self, history):
        recent = history[-self.spec["window"]:] if self.spec["window"] else history
        counts = [1.0] * self.actions
        for mine, _ in recent:
            counts[mine] += 1
        return best_reply(self.setup, counts)


class WinStay(Opponent):
    """Repeats its action while it earns at least `aspiration`, otherwise moves to the next action."""

    def choose(self, history):
        if not history:
            return self.spec["first"]
        mine, theirs = history[-1]
        if self.setup["opponent_payoffs"][mine][theirs] >= self.spec["aspiration"]:
            return theirs
        return (theirs + 1) % self.actions


OPPONENTS = {"biased": Biased, "drift": Drift, "cycle": Cycle, "reactive": Reactive, "grim": Grim,
             "counter": Counter, "win_stay": WinStay}
