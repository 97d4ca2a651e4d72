"""The mean training target for every row."""


def fit(x, y, budget_s):
    return {"mean": sum(y) / len(y)}


def predict(params, x):
    return [params["mean"]] * len(x)
