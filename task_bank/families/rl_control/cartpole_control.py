"""LQR state feedback on the linearised cart-pole, applied bang-bang: push right when the optimal force is
positive. The state comes from a steady-state Kalman filter (or, with `estimator` "differences", from the
observation with unseen velocities taken as finite differences) and is predicted through the action delay."""

import math

import numpy as np

PARAMS = {"physics": {"gravity": 9.8, "masscart": 1.0, "masspole": 0.1, "length": 0.5, "force_mag": 10.0,
                      "tau": 0.02},
          "keep": None, "noise": None, "delay": 0, "idle": 0, "estimator": "differences"}
"""The model the controller assumes: physical constants, the observed components (None: all four) and
their noise, the action delay and the action applied before the first one takes effect."""
COSTS = np.diag([1.0, 1.0, 10.0, 1.0]), 0.01
"""LQR weights of the state (x, x_dot, theta, theta_dot) and of the force."""
PROCESS_NOISE = np.diag([1e-6, 1e-4, 1e-6, 1e-4])
P = PARAMS["physics"]
KEEP = PARAMS["keep"] if PARAMS["keep"] is not None else [0, 1, 2, 3]


def linear_model():
    """(A, B) of x' = A x + B force, the Euler step linearised at the upright pole."""
    total = P["masscart"] + P["masspole"]
    reach = P["length"] * (4 / 3 - P["masspole"] / total)
    a, b = np.zeros((4, 4)), np.zeros(4)
    a[0, 1] = a[2, 3] = 1.0
    a[3, 2], b[3] = P["gravity"] / reach, -1 / (total * reach)
    arm = P["masspole"] * P["length"] / total
    a[1, 2], b[1] = -arm * a[3, 2], 1 / total - arm * b[3]
    return np.eye(4) + P["tau"] * a, P["tau"] * b


def lqr_gain(a, b):
    """K of the discrete LQR (force = -K x), by iterating the Riccati equation."""
    q, r = COSTS
    b = b.reshape(-1, 1)
    p = q.copy()
    for _ in range(1000):
        k = np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
        p = q + a.T @ p @ (a - b @ k)
    return k.ravel()


def step_model(state, action):
    """Gymnasium's cart-pole step (Euler) on `state`, in plain floats."""
    x, x_dot, theta, theta_dot = state
    force = P["force_mag"] if action == 1 else -P["force_mag"]
    total, arm = P["masscart"] + P["masspole"], P["masspole"] * P["length"]
    cos, sin = math.cos(theta), math.sin(theta)
    temp = (force + arm * theta_dot**2 * sin) / total
    theta_acc = (P["gravity"] * sin - cos * temp) / (P["length"] * (4 / 3 - P["masspole"] * cos**2 / total))
    x_acc = temp - arm * theta_acc * cos / total
    return (x + P["tau"] * x_dot, x_dot + P["tau"] * x_acc, theta + P["tau"] * theta_dot,
            theta_dot + P["tau"] * theta_acc)


def kalman_gain():
    """The filter's steady-state gain, by iterating its covariance."""
    covariance = np.eye(4) * 0.01
    for _ in range(500):
        predicted = A @ covariance @ A.T + PROCESS_NOISE
        gain = predicted @ H.T @ np.linalg.inv(H @ predicted @ H.T + NOISE)
        covariance = (np.eye(4) - gain @ H) @ predicted
    return gain


A, B = linear_model()
K = lqr_gain(A, B).tolist()
H = np.eye(4)[KEEP]
NOISE = np.diag(np.square(PARAMS["noise"] if PARAMS["noise"] is not None else [1e-3] * len(KEEP)))
GAIN = kalman_gain()
memory = {}


def reset():
    memory.update(state=None, previous=None, applied=PARAMS["idle"], queue=[PARAMS["idle"]] * PARAMS["delay"])


def estimate(seen):
    """The current state, from what is seen now and what was estimated and applied before."""
    if PARAMS["estimator"] == "differences":
        state = np.zeros(4)
        state[KEEP] = seen
        previous = seen if memory["previous"] is None else memory["previous"]
        for position, velocity in ((0, 1), (2, 3)):
            if velocity not in KEEP and position in KEEP:
                state[velocity] = (seen[KEEP.index(position)] - previous[KEEP.index(position)]) / P["tau"]
        memory["previous"] = seen
        return state
    if memory["state"] is None:
        state = H.T @ seen
    else:
        force = P["force_mag"] if memory["applied"] == 1 else -P["force_mag"]
        state = A @ memory["state"] + B * force
    memory["state"] = state + GAIN @ (seen - H @ state)
    return memory["state"]


def act(observation):
    """0 pushes the cart left, 1 right."""
    if not memory:
        reset()
    state = estimate(np.asarray(observation, dtype=float)).tolist()
    for pending in memory["queue"]:
        state = step_model(state, pending)
    action = 1 if -sum(k * v for k, v in zip(K, state, strict=True)) > 0 else 0
    memory["queue"].append(action)
    memory["applied"] = memory["queue"].pop(0)
    return action
