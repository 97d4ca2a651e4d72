"""Repeated games: the agent writes a strategy (`strategy.play`) for a repeated matrix game (prisoner's
dilemma, battle of the sexes, chicken, stag hunt, biased rock-paper-scissors) or a repeated Colonel
Blotto game, scored by simulated matches against opponents drawn from a seeded pool of parametrised
strategies (tit-for-tat variants with noise, grim triggers, frequency counters, win-stay lose-shift,
cycles, biased and drifting players, Blotto profiles and best-repliers). The validation opponents are
visible; the test opponents are hidden and drawn the same way, so a strategy must generalise.

The task's files come from `games/`: the evaluator, the rules and opponents (`matrix.py` or `blotto.py`,
shipped as `game.py`) and the ladder's strategies.
"""

import json
import random
from pathlib import Path
from typing import Any

from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.program import ProgramDraft
from synthml.tasks.schema import Metric

TEMPLATES = Path(__file__).with_name("games")
MATRIX_GAMES = ("prisoners_dilemma", "battle_of_sexes", "chicken", "stag_hunt", "rock_paper_scissors")
GAMES = (*MATRIX_GAMES, "blotto", "blotto")
"""Drawn uniformly: Blotto as often as two matrix games."""
POOLS = {"prisoners_dilemma": ("reactive", "adaptive", "mixed"), "stag_hunt": ("reactive", "adaptive", "mixed"),
         "chicken": ("patterned",), "battle_of_sexes": ("reactive", "patterned"),
         "rock_paper_scissors": ("reactive", "adaptive", "patterned", "mixed"),
         "blotto": ("patterned", "adaptive", "mixed")}
"""Opponent pools by game: those where opponent modelling reliably beats the textbook strategy. Dropped:
opponents that ignore your play in a social dilemma (always defecting is best), and the pools where
fictitious play or a random action is hard to beat (adaptive and mixed pools in chicken and battle of the
sexes)."""
DILEMMAS = ("prisoners_dilemma", "stag_hunt")
"""Games with a nice and a nasty action: tit-for-tat, Pavlov and grim triggers apply."""
KINDS = {"reactive": ("reactive", "grim", "win_stay"), "adaptive": ("counter", "win_stay", "reactive"),
         "patterned": ("cycle", "cycle", "drift"),
         "mixed": ("reactive", "grim", "win_stay", "counter", "cycle", "drift", "biased")}
"""Opponent kinds of each matrix pool, drawn uniformly (a kind twice is drawn twice as often)."""
BLOTTO_KINDS = {"patterned": ("profile", "focus", "cycle"), "adaptive": ("counter", "profile"),
                "mixed": ("profile", "focus", "cycle", "counter")}
VALIDATION_OPPONENTS, TEST_OPPONENTS = 20, 30
SECONDS_PER_MATCH = 2.0


def sample_knobs(rng: random.Random, entry: None = None) -> dict[str, Any]:
    game = common.pick(rng, GAMES)
    if game != "blotto":
        rounds = (40, 60) if game == "rock_paper_scissors" else (40, 60, 80)  # three actions: slower to play
        return {"game": game, "pool": common.pick(rng, POOLS[game]), "rounds": common.pick(rng, rounds)}
    return {"game": game, "pool": common.pick(rng, POOLS["blotto"]), "rounds": common.pick(rng, (15, 20, 25)),
            "battlefields": rng.randint(4, 7), "soldiers": common.pick(rng, (20, 30, 50)),
            "weights": common.pick(rng, ("equal", "varied"))}


def build(entry: None, table: None, knobs: dict[str, Any], seed: int, task_id: str) -> ProgramDraft:
    rng = random.Random(seed)
    setup = _blotto_setup(rng, knobs) if knobs["game"] == "blotto" else _matrix_setup(rng, knobs)
    validation = _opponents(rng, knobs, setup, "v", VALIDATION_OPPONENTS)
    test = _opponents(rng, knobs, setup, "t", TEST_OPPONENTS)
    kind = "blotto" if knobs["game"] == "blotto" else "matrix"
    return ProgramDraft(
        task_id=task_id, name=f"Repeated {_title(knobs)}: a strategy against unseen opponents", intro=_intro(knobs),
        family=FAMILY.name, topic=_topic(knobs), submission="strategy.py", baseline=_read(f"{kind}_baseline.py"),
        baseline_summary=_baseline_summary(knobs["game"]), evaluator=_read("evaluate.py"),
        validation=validation, test=test,
        ladder={rung: _read(f"{kind}_{rung}.py") for rung in ("trivial", "default", "reference")},
        metrics=(Metric(name="score", direction="max"), Metric(name="forfeits", direction="min")),
        knobs=knobs, notes=_notes(kind, setup),
        files={"game.py": _read(f"{kind}.py"), "game.json": json.dumps(setup, indent=1) + "\n"},
        environment=f"repeated {knobs['game'].replace('_', ' ')} against a seeded opponent pool")


def _read(name: str) -> str:
    return (TEMPLATES / name).read_text()


def _opponents(rng: random.Random, knobs: dict[str, Any], setup: dict, prefix: str, count: int) -> list[dict]:
    sample = _blotto_opponent if knobs["game"] == "blotto" else _matrix_opponent
    kinds = (BLOTTO_KINDS if knobs["game"] == "blotto" else KINDS)[knobs["pool"]]
    kinds = tuple(k for k in kinds if k != "grim" or "nice" in setup)  # grim needs a nice and a nasty action
    return [{"name": f"{prefix}{i}", **sample(rng, common.pick(rng, kinds), setup)} for i in range(count)]


# --- matrix games ---

def _matrix_setup(rng: random.Random, knobs: dict[str, Any]) -> dict:
    """Payoffs drawn within each game's structure; `payoffs[a][b]`: yours when you play a and they play b."""
    game = knobs["game"]
    if game == "rock_paper_scissors":
        wins = [rng.randint(1, 4) for _ in range(3)]  # what winning with rock, paper, scissors pays
        mine = [[0 if a == b else wins[a] if (a - b) % 3 == 1 else -wins[b] for b in range(3)] for a in range(3)]
        return _game(game, ["rock", "paper", "scissors"], mine, [[-v for v in row] for row in mine], knobs)
    if game == "battle_of_sexes":
        high, low = rng.randint(3, 5), rng.randint(1, 2)  # you prefer opera, they football
        return _game(game, ["opera", "football"], [[high, 0], [0, low]], [[low, 0], [0, high]], knobs)
    if game == "chicken":  # swerving against swerving beats a crash, and going straight against a swerve beats both
        a, b, c, d = 3, rng.randint(1, 2), rng.randint(4, 6), -rng.randint(0, 3)
        return _game(game, ["swerve", "straight"], [[a, b], [c, d]], [[a, c], [b, d]], knobs)
    names, (a, b, c, d) = {"prisoners_dilemma": (["cooperate", "defect"], _dilemma(rng)),
                           "stag_hunt": (["stag", "hare"], (rng.randint(4, 6), 0, rng.randint(2, 3), rng.randint(1, 2)))
                           }[game]
    mine = [[a, b], [c, d]]  # symmetric: theirs is the transpose
    return {**_game(game, names, mine, [[a, c], [b, d]], knobs), "nice": 0, "nasty": 1}


def _dilemma(rng: random.Random) -> tuple[int, int, int, int]:
    """(reward, sucker, temptation, punishment): T > R > P > S and 2R > T + S."""
    reward = rng.randint(3, 5)
    return reward, 0, rng.randint(reward + 1, 2 * reward - 1), rng.randint(1, reward - 2)


def _game(game: str, actions: list[str], mine: list, theirs: list, knobs: dict[str, Any]) -> dict:
    return {"game": game, "actions": actions, "payoffs": mine, "opponent_payoffs": theirs,
            "rounds": knobs["rounds"], "seconds_per_match": SECONDS_PER_MATCH}


def _matrix_opponent(rng: random.Random, kind: str, setup: dict) -> dict:
    k = len(setup["actions"])
    spec: dict[str, Any] = {"kind": kind, "seed": rng.randrange(2**31), "noise": common.pick(rng, (0.0, 0.05, 0.1))}
    if kind in ("biased", "drift"):
        spec |= {"probs": _simplex(rng, k), "noise": 0.0}
        if kind == "drift":
            spec |= {"later": _simplex(rng, k), "period": common.pick(rng, (8, 12, 20))}
    elif kind == "cycle":
        spec["sequence"] = _sequence(rng, k)
    elif kind == "reactive":
        tit_for_tat = "nice" in setup and rng.random() < 0.5
        spec |= {"first": rng.randrange(k), "reply": list(range(k)) if tit_for_tat else _sequence(rng, k, k)}
    elif kind == "grim":
        spec |= {"nice": setup["nice"], "nasty": setup["nasty"], "tolerance": rng.randint(1, 3),
                 "punish": common.pick(rng, (0, 2, 4, 8))}
    elif kind == "counter":
        spec["window"] = common.pick(rng, (1, 3, 5, 10, 0))
    elif kind == "win_stay":
        levels = sorted({v for row in setup["opponent_payoffs"] for v in row})
        spec |= {"first": rng.randrange(k), "aspiration": common.pick(rng, levels[1:])}
    return spec


def _simplex(rng: random.Random, k: int) -> list[float]:
    draws = [rng.expovariate(1) for _ in range(k)]
    return [round(d / sum(draws), 3) for d in draws]


def _sequence(rng: random.Random, k: int, length: int | None = None) -> list[int]:
    """Actions, not all the same; of length 2 to 4 unless given."""
    while len(set(sequence := [rng.randrange(k) for _ in range(length or rng.randint(2, 4))])) < 2:
        pass
    return sequence


# --- Colonel Blotto ---

def _blotto_setup(rng: random.Random, knobs: dict[str, Any]) -> dict:
    fields = knobs["battlefields"]
    weights = [1] * fields if knobs["weights"] == "equal" else [rng.randint(1, 5) for _ in range(fields)]
    return {"game": "blotto", "battlefields": fields, "soldiers": knobs["soldiers"], "weights": weights,
            "rounds": knobs["rounds"], "seconds_per_match": SECONDS_PER_MATCH}


def _blotto_opponent(rng: random.Random, kind: str, setup: dict) -> dict:
    fields, soldiers = setup["battlefields"], setup["soldiers"]
    spec: dict[str, Any] = {"kind": kind, "seed": rng.randrange(2**31), "noise": rng.randint(0, 2)}
    if kind in ("profile", "focus"):
        spec["preference"] = [round(p + 0.02, 3) for p in _simplex(rng, fields)]
    if kind == "profile":
        spec["concentration"] = common.pick(rng, (3, 10, 50))
    elif kind == "focus":
        spec["focus"] = rng.randint(max(1, fields // 2), fields - 1)
    elif kind == "cycle":
        spec["plan"] = [_split(rng, soldiers, _simplex(rng, fields)) for _ in range(rng.randint(2, 3))]
    elif kind == "counter":
        spec |= {"window": common.pick(rng, (1, 3, 0)), "opening": _split(rng, soldiers, _simplex(rng, fields))}
    return spec


def _split(rng: random.Random, soldiers: int, shares: list[float]) -> list[int]:
    allocation = [int(soldiers * s) for s in shares]
    for _ in range(soldiers - sum(allocation)):
        allocation[rng.randrange(len(allocation))] += 1
    return allocation


# --- the statement ---

def _baseline_summary(game: str) -> str:
    if game == "blotto":
        return ("beats the opponent's previous allocation by one soldier on the battlefields that give the most "
                "weight per soldier (in the first round, soldiers in proportion to the weights)")
    if game in DILEMMAS:
        return "plays tit-for-tat: the nice action first, then whatever the opponent played in the previous round"
    return "plays the best reply to how often the opponent played each action in the last 10 rounds"


def _title(knobs: dict[str, Any]) -> str:
    if knobs["game"] == "blotto":
        return f"Colonel Blotto ({knobs['battlefields']} battlefields, {knobs['soldiers']} soldiers)"
    return knobs["game"].replace("_", " ")


def _intro(knobs: dict[str, Any]) -> str:
    opponents = _POOL_TEXT["blotto" if knobs["game"] == "blotto" else "matrix"][knobs["pool"]]
    return (f"Write a strategy for the repeated {_title(knobs)} game. It plays one match of {knobs['rounds']} "
            f"rounds against each of several opponents drawn from a pool of parametrised strategies ({opponents}). "
            f"The validation opponents' specifications are in data/validation.json; the test opponents are hidden "
            f"and drawn from the same pool, so your strategy has to recognise and exploit opponents it has not "
            f"seen. The score is the mean match score (0 to 1, higher is better).")


_POOL_TEXT = {
    "matrix": {"reactive": "players that react to your previous moves: tit-for-tat variants, grim triggers, "
                           "win-stay lose-shift", "adaptive": "players that adapt to your play: frequency "
                           "counters, win-stay lose-shift, reactive players", "patterned": "players that follow "
                           "patterns: cycles and drifting preferences", "mixed": "reactive, adaptive, patterned "
                           "and biased players"},
    "blotto": {"patterned": "players with favourite battlefields, focused attacks and cycles of allocations",
               "adaptive": "players that best reply to your recent allocations, and players with favourite "
                           "battlefields", "mixed": "favourite battlefields, focused attacks, cycles and best "
                           "replies to your recent allocations"},
}


def _notes(kind: str, setup: dict) -> tuple[str, ...]:
    if kind == "blotto":
        move = (f"`play(history, setup)` returns your allocation: a list of {setup['battlefields']} non-negative "
                f"ints summing to at most {setup['soldiers']}")
        fields = "battlefields, soldiers, weights and number of rounds"
    else:
        move = f"`play(history, setup)` returns the index of your action ({', '.join(setup['actions'])})"
        fields = "actions, your payoffs and the opponent's, and number of rounds"
    return (f"INTERFACE: {move}. `history` holds [yours, theirs] for each earlier round of the current match "
            f"(empty at a match's start); `setup` is game.json (the game's {fields}). game.py holds the rules, "
            "the opponents' code and `play_match`, to try your strategy against the validation opponents "
            "yourself.",
            f"RULES: an illegal move, an exception, or a match that takes more than {setup['seconds_per_match']:g} s "
            "of your code's time forfeits the match (it scores 0); a call still running a second past that is "
            "abandoned, and every later match is forfeited too. Matches are played one after another in one "
            "process of yours, so module-level state persists between calls; a new match starts with an empty "
            "history.")


def _topic(knobs: dict[str, Any]) -> str:
    return (f"Opponent modelling in a repeated {knobs['game'].replace('_', ' ')}: identifying and exploiting "
            f"{knobs['pool']} opponents online.")


FAMILY = Family("games", (), sample_knobs, build,
                skills=("game theory", "opponent modelling", "online learning", "simulation"))
