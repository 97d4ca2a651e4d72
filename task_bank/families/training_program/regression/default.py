"""Least squares on standardised features (closed form, a little ridge penalty)."""

import numpy as np

PENALTY = 1.0


def fit(x, y, budget_s):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-12
    x = (x - mean) / std
    weights = np.linalg.solve(x.T @ x + PENALTY * np.eye(x.shape[1]), x.T @ (y - y.mean()))
    return {"mean": mean.tolist(), "std": std.tolist(), "weights": weights.tolist(), "bias": y.mean()}


def predict(params, x):
    x = (np.asarray(x, dtype=float) - params["mean"]) / params["std"]
    return (x @ np.asarray(params["weights"]) + params["bias"]).tolist()
