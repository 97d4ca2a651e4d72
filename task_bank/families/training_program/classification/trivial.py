"""The commonest training label for every row."""


def fit(x, y, budget_s):
    return {"label": int(2 * sum(y) > len(y))}


def predict(params, x):
    return [params["label"]] * len(x)
