"""Reinforcement learning on Gymnasium's classic-control and toy-text environments, each with a twist that
defeats the textbook solution: changed physics, an action delay, noisy partial observations, ice that slips
less than Gymnasium's, wind (on a frozen lake, toward a cliff). The agent writes `policy.py`
(`act(observation) -> action`, optional `reset()`), and may train it in its workspace; the evaluator plays it
on episodes with hidden seeds.

The ladder: random actions (trivial); a simple rule (the baseline); the textbook controller or planner on
Gymnasium's nominal model (default); the same on the task's true model, compensating the twist with a
Kalman filter, a predictor through the delay or finite-horizon value iteration (reference). Its modules are
templates in `rl_control/`, each with a `PARAMS = ...` (`SETTING = ...` for task_env.py) assignment that
`build` replaces.
"""

import ast
import copy
import math
import pprint
import random
from pathlib import Path
from typing import Any

from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.program import ProgramDraft
from synthml.tasks.schema import Metric

TEMPLATES = Path(__file__).with_name("rl_control")
CARTPOLE = {"gravity": 9.8, "masscart": 1.0, "masspole": 0.1, "length": 0.5, "force_mag": 10.0, "tau": 0.02}
PENDULUM = {"g": 10.0, "m": 1.0, "l": 1.0, "max_torque": 2.0}
MOUNTAIN_CAR = {"force": 0.001, "gravity": 0.0025, "max_speed": 0.07, "goal_position": 0.5}
"""Gymnasium's nominal physics, which the default assumes."""
LAKES = {"less_slippery": ([6, 0], [6, 2], [6, 3], [6, 14], [7, 2], [7, 3], [7, 6], [7, 9], [7, 10], [7, 12],
                           [8, 1], [8, 17]),
         "wind": ([6, 0], [6, 1], [6, 2], [6, 6], [7, 0], [7, 1], [7, 4], [7, 5], [8, 3], [8, 4], [8, 6], [8, 8])}
"""(size, seed) of Gymnasium's `generate_random_map` for FrozenLake: maps where each option of the twist leaves the
reference clearly above the default and the baseline, and the baseline above trivial (exact success
probabilities: `scripts/check_rl_control.py --lakes`)."""
DIRECTIONS = {"FrozenLake-v1": ("west", "south", "east", "north"),
              "CliffWalking-v1": ("north", "east", "south", "west")}
"""The direction each action moves."""
STEPS = {"north": [-1, 0], "south": [1, 0], "east": [0, 1], "west": [0, -1]}
CLIFF = ["FFFFFFFFFFFF", "FFFFFFFFFFFF", "FFFFFFFFFFFF", "SHHHHHHHHHHG"]
"""CliffWalking's grid, as a FrozenLake map (H: the cliff)."""
TWISTS = {
    "CartPole-v1": {
        "action_delay": {"delay": (4, 5)},
        "physics_delay": {"physics": ({"gravity": 13.0}, {"gravity": 15.0}, {"force_mag": 15.0},
                                      {"gravity": 12.0, "masspole": 0.2}), "delay": (4,)},
        "noisy_partial": {"physics": ({}, {"length": 1.0}), "noise": ([0.02, 0.01], [0.05, 0.02])},
    },
    "Pendulum-v1": {"strong_gravity": {"physics": ({"g": 14.0}, {"g": 15.0}, {"g": 16.0})}},
    "MountainCar-v0": {
        "weak_engine": {"physics": ({"force": 0.0007}, {"force": 0.0008})},
        "steep_hills": {"physics": ({"gravity": 0.003}, {"force": 0.0009, "gravity": 0.0028})},
    },
    "FrozenLake-v1": {
        "less_slippery": {"lake": LAKES["less_slippery"], "success_rate": (0.6, 0.8)},
        "wind": {"lake": LAKES["wind"], "wind": ([0.2, 2], [0.2, 3], [0.3, 2], [0.3, 3])},
    },
    "CliffWalking-v1": {"wind": {"wind": ([0.1, 2], [0.2, 2], [0.3, 2])}},
}
"""Environment -> twist -> the options of each knob the twist sets (one is drawn for each). Options where the
default already does about as well as the reference, or the baseline no better than random, are left out."""
EPISODES = {"CartPole-v1": (20, 24), "Pendulum-v1": (20, 24), "MountainCar-v0": (20, 24), "FrozenLake-v1": (60, 70),
            "CliffWalking-v1": (30, 40)}
"""Episodes per split: at least 20 (with fewer, which of two policies wins is much a matter of chance; a lake's
episodes end in success or failure, so it needs more), and few enough that the ladder's rungs take at most
about 5,000 steps (7,000 short ones on a lake): an evaluation of a split stays under a second of CPU."""
MAX_STEPS = {"CartPole-v1": 200, "Pendulum-v1": 200, "MountainCar-v0": 200, "FrozenLake-v1": 100,
             "CliffWalking-v1": 100}
CLIFF_RETURNS = [-1000.0, -13.0]
"""CliffWalking's returns that score 0 (ten falls, or more) and 1 (the shortest walk)."""
TRAINING_SECONDS = 600
"""How long one `python ...` command of the agent may run (training)."""


def sample_knobs(rng: random.Random, entry: None = None) -> dict[str, Any]:
    env = common.pick(rng, sorted(TWISTS))
    twist = common.pick(rng, sorted(TWISTS[env]))
    options = {name: copy.deepcopy(common.pick(rng, values)) for name, values in TWISTS[env][twist].items()}
    return {"env": env, "twist": twist, **options, "episodes": common.pick(rng, EPISODES[env])}


def build(entry: None, table: None, knobs: dict[str, Any], seed: int, task_id: str) -> ProgramDraft:
    setting = task_setting(knobs)
    rungs = RUNGS[knobs["env"]](knobs, setting)
    rng = random.Random(seed)
    validation, test = ([{"seed": rng.getrandbits(62)} for _ in range(knobs["episodes"])] for _ in range(2))
    about = ABOUT[knobs["env"]](knobs, setting)
    return ProgramDraft(
        task_id=task_id, name=f"{knobs['env']}: {knobs['twist'].replace('_', ' ')}", intro=about["intro"],
        family=FAMILY.name, topic=about["topic"], submission="policy.py", baseline=rungs["baseline"],
        baseline_summary=about["baseline"], evaluator=(TEMPLATES / "evaluate.py").read_text(),
        validation=validation, test=test, ladder={r: rungs[r] for r in ("trivial", "default", "reference")},
        metrics=(Metric(name="score", direction="max"), Metric(name="mean_return", direction="max")),
        knobs=knobs, notes=(about["twist"], interface_note(about, setting)),
        files={"task_env.py": render("task_env.py", "SETTING", setting)}, environment=f"gymnasium {knobs['env']}",
        training_timeout=TRAINING_SECONDS)


def task_setting(knobs: dict[str, Any]) -> dict[str, Any]:
    """task_env.py's SETTING for these knobs."""
    env, steps = knobs["env"], MAX_STEPS[knobs["env"]]
    setting = {"env": env, "kwargs": {}, "physics": knobs.get("physics", {}), "max_steps": steps, "keep": None,
               "noise": knobs.get("noise"), "delay": knobs.get("delay", 0), "idle": 0, "wind": None,
               "return_range": [0.0, float(steps)]}
    if knobs.get("noise") is not None:  # CartPole's noisy_partial: the cart's position and the pole's angle
        setting["keep"] = [0, 2]
    if env == "Pendulum-v1":
        setting |= {"idle": 0.0, "return_range": [-steps * math.pi**2, 0.0]}
    elif env == "MountainCar-v0":
        setting |= {"idle": 1, "return_range": [-float(steps), 0.0]}
    elif env == "FrozenLake-v1":  # wind blows on ice that does not slip
        slips = {"success_rate": knobs["success_rate"]} if "success_rate" in knobs else {}
        setting |= {"kwargs": {"desc": lake_map(knobs), "is_slippery": "wind" not in knobs, **slips},
                    "wind": knobs.get("wind"), "return_range": [0.0, 1.0]}
    elif env == "CliffWalking-v1":
        setting |= {"wind": knobs["wind"], "return_range": CLIFF_RETURNS}
    return setting


def lake_map(knobs: dict[str, Any]) -> list[str]:
    from gymnasium.envs.toy_text.frozen_lake import generate_random_map

    size, seed = knobs["lake"]
    return generate_random_map(size, 0.8, seed)


def render(template: str, name: str, value: Any) -> str:
    """The template's text with its top-level `name = ...` assignment replaced by one of `value`."""
    text = (TEMPLATES / template).read_text()
    node = next(n for n in ast.parse(text).body
                if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == name)
    lines = text.splitlines(keepends=True)
    literal = pprint.pformat(value, width=116 - len(name), sort_dicts=False).replace("\n", "\n" + " " * (len(name) + 3))
    return "".join([*lines[:node.lineno - 1], f"{name} = {literal}\n", *lines[node.end_lineno:]])


def trivial(actions: int | None, bound: float | None = None) -> str:
    """Uniformly random actions: one of `actions`, or (None) a number in [-bound, bound]."""
    low, high = (None, None) if bound is None else (-bound, bound)
    return render("trivial.py", "PARAMS", {"actions": actions, "low": low, "high": high})


# --- the ladder of each environment ---

def cartpole_rungs(knobs: dict[str, Any], setting: dict[str, Any]) -> dict[str, str]:
    seen = setting["keep"] or [0, 1, 2, 3]
    baseline = {"angle": seen.index(2), "angular_velocity": seen.index(3) if 3 in seen else None, "gain": 0.5}
    model = {"keep": setting["keep"], "idle": setting["idle"]}
    return {"trivial": trivial(2), "baseline": render("cartpole_baseline.py", "PARAMS", baseline),
            "default": render("cartpole_control.py", "PARAMS", {
                "physics": CARTPOLE, **model, "noise": None, "delay": 0, "estimator": "differences"}),
            "reference": render("cartpole_control.py", "PARAMS", {
                "physics": CARTPOLE | setting["physics"], **model, "noise": setting["noise"],
                "delay": setting["delay"], "estimator": "kalman"})}


def pendulum_rungs(knobs: dict[str, Any], setting: dict[str, Any]) -> dict[str, str]:
    true = PENDULUM | setting["physics"]
    return {"trivial": trivial(None, true["max_torque"]),
            "baseline": render("pendulum_baseline.py", "PARAMS", {"max_torque": true["max_torque"], "kp": 10.0,
                                                                 "kd": 2.0}),
            "default": render("pendulum_control.py", "PARAMS", {"physics": PENDULUM}),
            "reference": render("pendulum_control.py", "PARAMS", {"physics": true})}


def mountain_car_rungs(knobs: dict[str, Any], setting: dict[str, Any]) -> dict[str, str]:
    return {"trivial": trivial(3), "baseline": (TEMPLATES / "mountain_car_baseline.py").read_text(),
            "default": render("mountain_car_control.py", "PARAMS", {"physics": MOUNTAIN_CAR}),
            "reference": render("mountain_car_control.py", "PARAMS", {
                "physics": MOUNTAIN_CAR | setting["physics"]})}


def grid_rungs(knobs: dict[str, Any], setting: dict[str, Any]) -> dict[str, str]:
    """FrozenLake and CliffWalking: the default plans on Gymnasium's own env (FrozenLake's map, slippery ice)."""
    env = setting["env"]
    nominal = {"env": env, "kwargs": {}, "wind": None, "horizon": None, "discount": 0.99}
    if env == "FrozenLake-v1":
        nominal["kwargs"] = {"desc": setting["kwargs"]["desc"], "is_slippery": True}
    true = nominal | {"kwargs": setting["kwargs"], "wind": setting["wind"], "horizon": setting["max_steps"],
                      "discount": 1.0}
    grid = setting["kwargs"]["desc"] if env == "FrozenLake-v1" else CLIFF
    moves = [STEPS[direction] for direction in DIRECTIONS[env]]
    return {"trivial": trivial(4), "baseline": render("grid_baseline.py", "PARAMS", {"map": grid, "moves": moves}),
            "default": render("grid_control.py", "PARAMS", nominal),
            "reference": render("grid_control.py", "PARAMS", true)}


RUNGS = {"CartPole-v1": cartpole_rungs, "Pendulum-v1": pendulum_rungs, "MountainCar-v0": mountain_car_rungs,
         "FrozenLake-v1": grid_rungs, "CliffWalking-v1": grid_rungs}


# --- what the agent reads ---

def interface_note(about: dict[str, str], setting: dict[str, Any]) -> str:
    return (f"Interface: policy.py defines `act(observation)`, which gets {about['observation']} and returns "
            f"{about['action']}; if it defines `reset()`, the evaluator calls it before each episode. The evaluator "
            f"plays each episode (at most {setting['max_steps']} steps) through `TaskEnv` in task_env.py, whose "
            "SETTING holds every number of this task, from a hidden seed. An episode scores its return mapped "
            f"linearly to [0, 1] ({about['score']}), or 0 when `act` raises, returns anything but a valid action, "
            "or the policy spends more than EPISODE_SECONDS (see evaluate.py) in it; the score is the mean over the "
            "episodes. Only policy.py is submitted, so write any parameters you train into it. It runs in a sandbox "
            "of its own with numpy and gymnasium and may import task_env; use TaskEnv to test, tune or train it in "
            f"your workspace, where a python command may run for up to {TRAINING_SECONDS} s on the CPU.")


def cartpole_about(knobs: dict[str, Any], setting: dict[str, Any]) -> dict[str, str]:
    delay, physics, noise = setting["delay"], setting["physics"], setting["noise"]
    twists = []
    if physics:
        twists.append("the physics differ: " + ", ".join(f"{name} = {value} (Gymnasium's {CARTPOLE[name]})"
                                                        for name, value in physics.items()))
    if noise:
        twists.append("the policy sees only the cart's position and the pole's angle, each with Gaussian noise "
                      f"(standard deviations {noise[0]} m and {noise[1]} rad)")
    if delay:
        twists.append(f"each action takes effect {delay} steps after the policy chooses it (the cart is pushed "
                      f"left during the first {delay} steps)")
    topics = {"action_delay": "Control with delayed actions: predicting the state through the actions in flight.",
              "physics_delay": "Control with delayed actions when the physics differ from the textbook model.",
              "noisy_partial": "Control from noisy partial observations: estimating the unseen state."}
    observation = ("[cart position, pole angle], both noisy" if noise else
                   "[cart position, cart velocity, pole angle (rad, 0 upright), pole angular velocity]")
    return {"intro": "Balance a pole on a moving cart (Gymnasium's CartPole-v1): the episode earns +1 per step "
                     "until the pole tilts past 12 degrees or the cart leaves the track (|x| > 2.4).",
            "twist": "Twist: " + "; ".join(twists) + ".", "topic": topics[knobs["twist"]],
            "baseline": ("pushes the cart toward the side the pole leans to" if noise else
                         "pushes the cart toward the side the pole is falling to (a PD rule on its angle)"),
            "observation": f"the observation as a list of floats ({observation})",
            "action": "0 (push the cart left) or 1 (push it right)", "score": "the fraction of steps survived"}


def pendulum_about(knobs: dict[str, Any], setting: dict[str, Any]) -> dict[str, str]:
    return {"intro": "Swing a pendulum up from a random start and hold it upright (Gymnasium's Pendulum-v1): "
                     "each step costs angle^2 + 0.1 * angular velocity^2 + 0.001 * torque^2 (angle 0 upright).",
            "twist": f"Twist: gravity is g = {setting['physics']['g']} (Gymnasium's {PENDULUM['g']}), so the "
                     f"motor's torque (at most {PENDULUM['max_torque']}) is weaker against it.",
            "topic": "Swing-up control when the physics differ from the textbook model.",
            "baseline": "a saturated PD rule that steers the pendulum toward upright",
            "observation": "[cos(angle), sin(angle), angular velocity] as a list of floats",
            "action": f"the torque, a float in [-{PENDULUM['max_torque']}, {PENDULUM['max_torque']}] (clipped)",
            "score": "1 for no cost, 0 for pi^2 per step, as hanging straight down throughout"}


def mountain_car_about(knobs: dict[str, Any], setting: dict[str, Any]) -> dict[str, str]:
    changes = ", ".join(f"{name} {value} (Gymnasium's {MOUNTAIN_CAR[name]})"
                        for name, value in setting["physics"].items())
    return {"intro": "Drive an underpowered car out of a valley to the flag on the right hill (Gymnasium's "
                     "MountainCar-v0): each step costs 1 until the car's position reaches 0.5.",
            "twist": f"Twist: the physics differ: {changes}.",
            "topic": "Planning momentum with a changed dynamics model (mountain car).",
            "baseline": "pushes the car in the direction it is moving, so each swing climbs higher",
            "observation": "[position, velocity] as a list of floats",
            "action": "0 (push left), 1 (no push) or 2 (push right)",
            "score": f"the fraction of the {setting['max_steps']} steps left when the car arrives"}


def frozen_lake_about(knobs: dict[str, Any], setting: dict[str, Any]) -> dict[str, str]:
    if setting["wind"]:
        chance, pushed = setting["wind"]
        twist = (f"Twist: the ice is not slippery, but a wind blows: with probability {chance} a move goes "
                 f"{DIRECTIONS['FrozenLake-v1'][pushed]} whatever the action chosen.")
    else:
        twist = (f"Twist: the ice slips less than Gymnasium's: a move goes where it is meant to with probability "
                 f"{knobs['success_rate']} (Gymnasium's 1/3), else to one of the two perpendicular directions.")
    lake = "\n".join(setting["kwargs"]["desc"])
    return {"intro": "Cross a frozen lake from S to the goal G without falling into a hole H (Gymnasium's "
                     f"FrozenLake-v1); reaching G earns 1 and ends the episode, as does a hole. The map:\n{lake}",
            "twist": twist, "topic": "Planning in a stochastic gridworld whose dynamics differ from the default.",
            "baseline": "walks the shortest hole-free path on the map, planned as if every move went as meant",
            "observation": "the cell as an int (row * columns + column)",
            "action": "0 (west), 1 (south), 2 (east) or 3 (north)",
            "score": "1 if the goal is reached, else 0"}


def cliff_walking_about(knobs: dict[str, Any], setting: dict[str, Any]) -> dict[str, str]:
    chance, pushed = setting["wind"]
    low, high = setting["return_range"]
    return {"intro": "Walk from the bottom-left corner of a 4 x 12 grid to the bottom-right one along a cliff that "
                     "fills the bottom row between them (Gymnasium's CliffWalking-v1): each step costs 1; stepping "
                     "into the cliff costs 100 and sends you back to the start.",
            "twist": f"Twist: a wind blows toward the cliff: with probability {chance} a move goes "
                     f"{DIRECTIONS['CliffWalking-v1'][pushed]} whatever the action chosen.",
            "topic": "Planning for risk: a shortest path that ignores the wind walks along the cliff.",
            "baseline": "walks the shortest path that avoids the cliff, planned as if every move went as meant",
            "observation": "the cell as an int (row * 12 + column; the start is 36)",
            "action": "0 (north), 1 (east), 2 (south) or 3 (west)",
            "score": f"a return of {high:g}, the shortest walk, scores 1; {low:g} or less scores 0"}


ABOUT = {"CartPole-v1": cartpole_about, "Pendulum-v1": pendulum_about, "MountainCar-v0": mountain_car_about,
         "FrozenLake-v1": frozen_lake_about, "CliffWalking-v1": cliff_walking_about}
FAMILY = Family("rl_control", (), sample_knobs, build,
                skills=("reinforcement learning", "control", "planning under uncertainty"))
