"""This task's environment: a Gymnasium environment with the twists in SETTING. The evaluator runs every
episode through `TaskEnv`, exactly as written here, so use it to test and train your policy:

    env = TaskEnv(seed=0)
    observation, done = env.reset(), False
    while not done:
        observation, reward, done = env.step(my_action(observation))
    print(env.score())  # the episode's score in [0, 1], as the evaluator counts it

SETTING holds what differs from Gymnasium's own environment (its keys are described below). All the
randomness (start states, slips, observation noise, wind) comes from the episode's seed.
"""

import math
import numbers

import gymnasium as gym
import numpy as np

SETTING = {"env": "CartPole-v1", "kwargs": {}, "physics": {}, "max_steps": 200, "keep": None, "noise": None,
           "delay": 0, "idle": 0, "wind": None, "return_range": [0.0, 200.0]}
"""env: the Gymnasium id; kwargs: its constructor's arguments; physics: attributes set on `env.unwrapped`
(its physical constants); max_steps: the episode's step limit; keep: the indices of the observation's
components the policy sees (None: all); noise: the standard deviation of the Gaussian noise added to each
kept component (None: none); delay: steps between choosing an action and its effect (the first `delay`
steps apply `idle`); wind: [probability, action]: the probability that the environment applies that action
instead of the one due (None: never); return_range: the episode returns that score 0 and 1."""


class TaskEnv:
    def __init__(self, seed: int):
        self.seed = seed
        self.env = gym.make(SETTING["env"], disable_env_checker=True, **SETTING["kwargs"]).unwrapped
        set_physics(self.env, SETTING["physics"])
        self.discrete = isinstance(self.env.action_space, gym.spaces.Discrete)

    def parse_action(self, value):
        """The action `value` stands for, or None when it is none: for a discrete action space an int in
        range (bools refused); for a continuous one a finite number, or a list of one, clipped to its bounds."""
        if isinstance(value, list | tuple) and len(value) == 1 and not self.discrete:
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return None
        space = self.env.action_space
        if self.discrete:
            return int(value) if isinstance(value, numbers.Integral) and 0 <= value < space.n else None
        value = float(value)
        return float(np.clip(value, space.low[0], space.high[0])) if math.isfinite(value) else None

    def reset(self):
        """Start the episode (seeded by `seed`); returns the first observation."""
        observation, _ = self.env.reset(seed=self.seed)
        self.rng = np.random.default_rng([self.seed, 1])
        self.pending = [SETTING["idle"]] * SETTING["delay"]
        self.steps, self.total, self.done = 0, 0.0, False
        return self.observe(observation)

    def step(self, action):
        """Apply `action` (one `parse_action` accepted); returns (observation, reward, done)."""
        assert not self.done, "the episode has ended: call reset()"
        self.pending.append(action)
        action = self.pending.pop(0)
        if SETTING["wind"] and self.rng.random() < SETTING["wind"][0]:
            action = SETTING["wind"][1]
        observation, reward, terminated, _, _ = self.env.step(action if self.discrete else np.array([action]))
        self.steps += 1
        self.total += float(reward)
        self.done = bool(terminated) or self.steps >= SETTING["max_steps"]
        return self.observe(observation), float(reward), self.done

    def observe(self, observation):
        """What the policy sees: an int (toy text) or a list of floats, some components kept, noise added."""
        if self.discrete and np.ndim(observation) == 0 and SETTING["keep"] is None and not SETTING["noise"]:
            return int(observation)
        values = np.asarray(observation, dtype=float).ravel()
        if SETTING["keep"] is not None:
            values = values[SETTING["keep"]]
        if SETTING["noise"]:
            values = values + self.rng.normal(0.0, SETTING["noise"])
        return [float(v) for v in values]

    def score(self) -> float:
        """The episode's return mapped linearly from `return_range` to [0, 1] (clipped)."""
        low, high = SETTING["return_range"]
        return min(1.0, max(0.0, (self.total - low) / (high - low)))


def set_physics(env, physics: dict) -> None:
    """Set `physics` on the unwrapped env, and what the env derives from them at construction."""
    for name, value in physics.items():
        if not hasattr(env, name):
            raise AttributeError(f"{type(env).__name__} has no attribute {name!r} to change")
        setattr(env, name, value)
    if hasattr(env, "polemass_length"):  # CartPole computes these once, in __init__
        env.total_mass = env.masspole + env.masscart
        env.polemass_length = env.masspole * env.length
    if "max_torque" in physics:  # Pendulum's action space is built from it in __init__
        env.action_space = gym.spaces.Box(-env.max_torque, env.max_torque, (1,), np.float32)
