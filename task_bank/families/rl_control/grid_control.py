"""Value iteration on the toy-text environment's transition table: finite-horizon (a policy per number of
steps left) when `horizon` is set, else discounted and stationary."""

import gymnasium as gym
import numpy as np

PARAMS = {"env": "FrozenLake-v1", "kwargs": {}, "wind": None, "horizon": None, "discount": 0.99}
"""The model the planner assumes: the environment and its arguments, wind ([probability, action] that the
environment applies that action instead), the step limit (None: discounted, with `discount`)."""


def tables():
    """(rewards[s, a], continuation[s, a, s']): the expected reward, and the probability of going on in s'."""
    env = gym.make(PARAMS["env"], disable_env_checker=True, **PARAMS["kwargs"]).unwrapped
    states, actions = env.observation_space.n, env.action_space.n
    rewards, going_on = np.zeros((states, actions)), np.zeros((states, actions, states))
    for s in range(states):
        for a in range(actions):
            for probability, following, reward, terminated in env.P[s][a]:
                rewards[s, a] += probability * reward
                if not terminated:
                    going_on[s, a, following] += probability
    if PARAMS["wind"] is not None:
        chance, pushed = PARAMS["wind"]
        rewards = (1 - chance) * rewards + chance * rewards[:, [pushed]]
        going_on = (1 - chance) * going_on + chance * going_on[:, [pushed]]
    return rewards, going_on


def plan():
    """Actions by [steps left - 1, state] (finite horizon) or [0, state] (discounted, to convergence)."""
    rewards, going_on = tables()
    value, policy = np.zeros(len(rewards)), []
    for _ in range(PARAMS["horizon"] or 10_000):
        q = rewards + (1 if PARAMS["horizon"] else PARAMS["discount"]) * going_on @ value
        new = q.max(axis=1)
        policy.append(q.argmax(axis=1))
        if not PARAMS["horizon"] and np.abs(new - value).max() < 1e-9:
            break
        value = new
    return np.array(policy if PARAMS["horizon"] else policy[-1:])


POLICY = plan()
steps = [0]


def reset():
    steps[0] = 0


def act(observation):
    """The action for the state `observation`, given the steps left."""
    left = len(POLICY) - steps[0] if PARAMS["horizon"] else 1
    steps[0] += 1
    return int(POLICY[max(left, 1) - 1, observation])
