"""Dynamic programming on a grid: the steps to the goal from each (position, velocity) cell, by value
iteration on the model; each step takes the action whose modelled next state is closest to the goal."""

import math

import numpy as np

PARAMS = {"physics": {"force": 0.001, "gravity": 0.0025, "max_speed": 0.07, "goal_position": 0.5}}
"""The model the planner assumes."""
P = PARAMS["physics"]
LOW, HIGH = (-1.2, -P["max_speed"]), (0.6, P["max_speed"])
"""Corners of the (position, velocity) grid."""
CELLS = 101
"""Grid points per dimension."""


def step_model(position, velocity, action):
    """Gymnasium's mountain-car step, on arrays."""
    velocity = np.clip(velocity + (action - 1) * P["force"] - np.cos(3 * position) * P["gravity"],
                       -P["max_speed"], P["max_speed"])
    position = np.clip(position + velocity, -1.2, 0.6)
    velocity = np.where((position <= -1.2) & (velocity < 0), 0.0, velocity)
    return position, velocity, position >= P["goal_position"]


def corners(position, velocity):
    """The four grid points around each state, as (indices, weights) of bilinear interpolation."""
    low, high = np.array(LOW)[:, None], np.array(HIGH)[:, None]
    scaled = (np.stack([position, velocity]) - low) / (high - low) * (CELLS - 1)
    base = np.clip(np.floor(scaled), 0, CELLS - 2).astype(int)
    frac = np.clip(scaled - base, 0.0, 1.0)
    indices, weights = [], []
    for di, dj in ((0, 0), (1, 0), (0, 1), (1, 1)):
        indices.append((base[0] + di) * CELLS + base[1] + dj)
        weights.append((frac[0] if di else 1 - frac[0]) * (frac[1] if dj else 1 - frac[1]))
    return np.array(indices), np.array(weights)


def steps_to_goal():
    """Value iteration: the steps from each grid point to the goal, interpolating between grid points."""
    position, velocity = (g.ravel() for g in np.meshgrid(*np.linspace(LOW, HIGH, CELLS).T, indexing="ij"))
    successors = []
    for action in range(3):
        p, v, done = step_model(position, velocity, action)
        successors.append((*corners(p, v), done))
    cost = np.zeros(CELLS * CELLS)
    for _ in range(1000):
        new = np.min([np.where(done, 1.0, 1.0 + (cost[indices] * weights).sum(axis=0))
                      for indices, weights, done in successors], axis=0)
        if np.abs(new - cost).max() < 1e-3:
            break
        cost = new
    return new


COST = steps_to_goal().tolist()


def value(position, velocity):
    """Steps to the goal from one state, interpolated (plain Python: one call per step must be quick)."""
    fi = (position - LOW[0]) / (HIGH[0] - LOW[0]) * (CELLS - 1)
    fj = (velocity - LOW[1]) / (HIGH[1] - LOW[1]) * (CELLS - 1)
    i, j = min(max(int(fi), 0), CELLS - 2), min(max(int(fj), 0), CELLS - 2)
    di, dj = min(max(fi - i, 0.0), 1.0), min(max(fj - j, 0.0), 1.0)
    at = i * CELLS + j
    return ((COST[at] * (1 - dj) + COST[at + 1] * dj) * (1 - di)
            + (COST[at + CELLS] * (1 - dj) + COST[at + CELLS + 1] * dj) * di)


def act(observation):
    """0 pushes left, 1 not at all, 2 right; from (position, velocity)."""
    position, velocity = float(observation[0]), float(observation[1])
    best, choice = None, 1
    for action in range(3):  # Gymnasium's step, on floats
        v = min(max(velocity + (action - 1) * P["force"] - math.cos(3 * position) * P["gravity"], -P["max_speed"]),
                P["max_speed"])
        p = min(max(position + v, -1.2), 0.6)
        steps = 0.0 if p >= P["goal_position"] else value(p, 0.0 if p <= -1.2 and v < 0 else v)
        if best is None or steps < best:
            best, choice = steps, action
    return choice
