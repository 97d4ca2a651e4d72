"""Baseline and reference scripts the tabular families share, as templates, and the renderer.

A template names constants as `$name` (rendered with repr, so any value is a valid literal) and code
snippets as `$name` too (passed in `code`, inserted as they are). Scripts run in the task runtime
(pandas, scikit-learn) from the workspace root, read data/*.csv and write both prediction files.
"""

from string import Template
from typing import Any

SCORES = {
    "accuracy": "metrics.accuracy_score(truth, predictions)",
    "balanced_accuracy": "metrics.balanced_accuracy_score(truth, predictions)",
    "f1_macro": 'metrics.f1_score(truth, predictions, average="macro")',
    "rmse": "-metrics.root_mean_squared_error(truth, predictions)",
    "mae": "-metrics.mean_absolute_error(truth, predictions)",
    "r2": "metrics.r2_score(truth, predictions)",
    "smape": "-100 * np.mean(2 * np.abs(truth - predictions) / np.maximum(np.abs(truth) + np.abs(predictions), 1e-12))",
}
"""The task's metrics as Python expressions of `truth` and `predictions`, higher is better (losses negated)."""


def render(template: str, code: dict[str, str] | None = None, **constants: Any) -> str:
    values = {name: repr(value) for name, value in constants.items()} | (code or {})
    return Template(template).substitute(values)


def score_function(metric: str) -> str:
    """Code of `score(truth, predictions)`: the metric, higher is better (needs numpy as np, sklearn's metrics)."""
    return (f'def score(truth, predictions):\n    """Validation {metric}, higher is better."""\n'
            f"    truth, predictions = np.asarray(truth), np.asarray(predictions)\n"
            f"    return float({SCORES[metric]})\n")


def reference_models(classification: bool, n_train: int, metric: str, *, balanced: bool = False) -> dict[str, str]:
    """Constructors of the reference's candidate models by name: a tree ensemble (a random forest on small
    data, boosting on more) and a regularised linear model."""
    weight = ', class_weight="balanced"' if balanced and classification else ""
    suffix = "Classifier" if classification else "Regressor"
    if n_train < 2000:
        ensemble = f"RandomForest{suffix}(n_estimators=300, min_samples_leaf=2, random_state=0{weight})"
    else:
        loss = ', loss="absolute_error"' if metric == "mae" else ""
        ensemble = (f"HistGradientBoosting{suffix}(max_iter=200, learning_rate=0.08, early_stopping=False, "
                    f"random_state=0{loss}{weight})")
    linear = f"LogisticRegression(C=1.0, max_iter=2000{weight})" if classification else "Ridge(alpha=1.0)"
    return {ensemble.split("(")[0]: ensemble, linear.split("(")[0]: linear}


def models_code(models: dict[str, str]) -> dict[str, str]:
    """Code snippets `imports` and `models` (a dict of model factories) for a reference template."""
    modules = {"Ridge": "linear_model", "LogisticRegression": "linear_model"}
    imports = "\n".join(f"from sklearn.{modules.get(name, 'ensemble')} import {name}" for name in models)
    entries = "".join(f"    {name!r}: lambda: {model},\n" for name, model in models.items())
    return {"imports": imports, "models": "MODELS = {\n" + entries + "}"}


TABULAR_BASELINE = '''"""Baseline: $doc. Writes validation_predictions.csv and submission.csv."""
${numpy}import pandas as pd
from sklearn.$module import $model_class

TARGET = $target
FEATURES = $features
$decide

def design(rows, columns=None):
    """One-hot categorical features, numeric ones as they are."""
    x = pd.get_dummies(rows[FEATURES], dtype=float)
    return x if columns is None else x.reindex(columns=columns, fill_value=0.0)


train = pd.read_csv("data/train.csv")
x_train = design(train)
fill = x_train.median()
model = $model.fit(x_train.fillna(fill), train[TARGET])
for split, out in (("validation", "validation_predictions.csv"), ("test", "submission.csv")):
    rows = pd.read_csv(f"data/{split}.csv")
    x = design(rows, x_train.columns).fillna(fill)
    pd.DataFrame({"id": rows["id"], TARGET: $predict}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''

PLAIN_PREDICT = {"numpy": "", "decide": "", "predict": "model.predict(x)"}
"""The `decide` and `predict` snippets of a baseline that predicts what its model predicts."""

_COST_DECIDE = '''POSITIVE = $positive
THRESHOLD = $threshold
"""Bayes decision threshold fp_cost / (fp_cost + fn_cost): predicting positive pays off above it."""


def decide(probabilities):
    """The positive label where its probability reaches the threshold, else the other label."""
    labels = list(map(str, model.classes_))
    negative = model.classes_[1 - labels.index(str(POSITIVE))]
    return np.where(probabilities[:, labels.index(str(POSITIVE))] >= THRESHOLD, POSITIVE, negative)

'''
COST_PREDICT = {"numpy": "import numpy as np\n", "decide": _COST_DECIDE, "predict": "decide(model.predict_proba(x))"}
"""The snippets of a cost-aware baseline: positive where the model's probability reaches the threshold
(render `decide` first, with the positive label and the threshold)."""

_PIPELINE = '''import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core in the sandbox: more OpenMP threads only contend

import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
$imports

TARGET = $target
$models


def make_model(name):
    """Numeric features imputed by median and standardised, categorical ones one-hot encoded (20 levels at
    most), then the named model."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"),
                                OneHotEncoder(handle_unknown="ignore", max_categories=20, sparse_output=False))
    columns = ColumnTransformer([("numeric", numeric, make_column_selector(dtype_include=np.number)),
                                 ("categorical", categorical, make_column_selector(dtype_exclude=np.number))])
    return make_pipeline(columns, MODELS[name]())


def write(rows, predictions, out):
    pd.DataFrame({"id": rows["id"], TARGET: predictions}).to_csv(out, index=False)


def read(split):
    rows = pd.read_csv(f"data/{split}.csv")
    return rows.astype({c: str for c in rows.columns if rows[c].dtype == bool})  # True/False as categories


train, validation, test = (read(split) for split in ("train", "validation", "test"))
both = pd.concat([train, validation], ignore_index=True)
features = [c for c in train.columns if c not in ("id", TARGET)]


def fit(name, rows):
    return make_model(name).fit(rows[features], rows[TARGET])

'''

TABULAR_REFERENCE = '''"""Reference solution: $doc."""
''' + _PIPELINE + '''
$score
fitted = {name: fit(name, train) for name in MODELS}
scores = {name: score(validation[TARGET], model.predict(validation[features])) for name, model in fitted.items()}
best = max(scores, key=scores.get)
print(f"validation scores {scores}: refitting {best} on train + validation")
write(validation, fitted[best].predict(validation[features]), "validation_predictions.csv")
write(test, fit(best, both).predict(test[features]), "submission.csv")
print("wrote validation_predictions.csv and submission.csv")
'''

COST_REFERENCE = '''"""Reference solution: $doc."""
''' + _PIPELINE + '''POSITIVE = $positive
FN_COST, FP_COST = $fn_cost, $fp_cost


def positive_probability(model, rows):
    return model.predict_proba(rows[features])[:, list(map(str, model.classes_)).index(str(POSITIVE))]


def cost(threshold, probability, truth):
    said_positive = probability >= threshold
    return FN_COST * np.sum(~said_positive & truth) + FP_COST * np.sum(said_positive & ~truth)


def tune(probability, truth):
    """(validation cost, threshold): the cheapest of the Bayes threshold and the midpoints between the
    validation probabilities."""
    values = np.unique(probability)
    candidates = np.concatenate([[FP_COST / (FN_COST + FP_COST)], (values[1:] + values[:-1]) / 2])
    threshold = min(candidates, key=lambda t: (cost(t, probability, truth), t))
    return cost(threshold, probability, truth), threshold


def decide(model, rows, threshold):
    negative = next(c for c in model.classes_ if str(c) != str(POSITIVE))
    positive = next(c for c in model.classes_ if str(c) == str(POSITIVE))
    return np.where(positive_probability(model, rows) >= threshold, positive, negative)


is_positive = (validation[TARGET].astype(str) == str(POSITIVE)).to_numpy()
fitted = {name: fit(name, train) for name in MODELS}
tuned = {name: tune(positive_probability(model, validation), is_positive) for name, model in fitted.items()}
best = min(tuned, key=lambda name: tuned[name][0])
threshold = tuned[best][1]
print(f"validation (cost, threshold) {tuned}: refitting {best} on train + validation")
write(validation, decide(fitted[best], validation, threshold), "validation_predictions.csv")
write(test, decide(fit(best, both), test, threshold), "submission.csv")
print("wrote validation_predictions.csv and submission.csv")
'''


def tabular_reference(target: str, classification: bool, n_train: int, metric: str, *,
                      balanced: bool = False) -> tuple[str, str]:
    """(code, summary) of the tabular reference: its candidate models fit on train, the better on validation
    refit on train + validation."""
    models = reference_models(classification, n_train, metric, balanced=balanced)
    doc = (f"{' or '.join(models)}, whichever scores the better {metric} on validation, on all features (median "
           "imputation and scaling, one-hot categoricals), refit on train + validation")
    code = render(TABULAR_REFERENCE, {"doc": doc, "score": score_function(metric), **models_code(models)},
                  target=target)
    return code, doc
