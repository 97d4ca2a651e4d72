"""Baseline and reference scripts the families share, as templates, and the renderer.

A template names constants as `$name` (rendered with repr, so any value is a valid literal) and code
snippets as `$name` too (passed in `code`, inserted as they are). Scripts run in the task runtime
(pandas, scikit-learn) from the workspace root, read data/*.csv and write both prediction files.
"""

import textwrap
from string import Template
from typing import Any, Literal

Kind = Literal["classification", "regression", "cost"]

SCORES = {
    "accuracy": "metrics.accuracy_score(t, p)",
    "balanced_accuracy": "metrics.balanced_accuracy_score(t, p)",
    "f1_macro": 'metrics.f1_score(t, p, average="macro")',
    "expected_cost": "-np.mean(np.where(t == p, 0, np.where(t == str(POSITIVE), FN_COST, FP_COST)))",
    "rmse": "-metrics.root_mean_squared_error(t, p)",
    "mae": "-metrics.mean_absolute_error(t, p)",
    "r2": "metrics.r2_score(t, p)",
    "smape": "-100 * np.mean(2 * np.abs(t - p) / np.maximum(np.abs(t) + np.abs(p), 1e-12))",
}
"""The task's metrics as Python expressions of the truth `t` and the predictions `p` (labels as strings,
numbers as floats), higher is better (losses negated); expected_cost needs the constants of `cost_constants`."""
LABEL_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "expected_cost")


def render(template: str, code: dict[str, str] | None = None, **constants: Any) -> str:
    values = {name: repr(value) for name, value in constants.items()} | (code or {})
    return Template(template).substitute(values)


def score_code(metric: str) -> dict[str, str]:
    """Snippets `score` (the code of `score(truth, predictions)`: the metric, higher is better) and
    `metrics_import` (the import it needs, if any)."""
    kind = "str" if metric in LABEL_METRICS else "float"
    code = (f'def score(truth, predictions):\n    """Validation {metric}, higher is better."""\n'
            f"    t, p = np.asarray(truth).astype({kind}), np.asarray(predictions).astype({kind})\n"
            f"    return float({SCORES[metric]})\n")
    return {"score": code, "metrics_import": "from sklearn import metrics\n" if "metrics." in SCORES[metric] else ""}


def docstring(text: str) -> str:
    """A module docstring holding `text`, wrapped to fit the line length."""
    return '"""' + textwrap.fill(text, 116, break_on_hyphens=False) + '"""'


_COST = '''POSITIVE = $positive
FN_COST, FP_COST = $fn_cost, $fp_cost
THRESHOLD = FP_COST / (FP_COST + FN_COST)
"""Bayes decision threshold: predicting the positive label pays off where its probability reaches it."""


def decide(probabilities, classes):
    """The positive label where its probability reaches THRESHOLD, else the other label."""
    at = list(map(str, classes)).index(str(POSITIVE))
    return np.where(probabilities[:, at] >= THRESHOLD, classes[at], classes[1 - at])
'''


def cost_constants(positive: Any, fn_cost: float, fp_cost: float) -> str:
    """Code of the cost constants and `decide`, for the `constants` snippet of a cost task's scripts."""
    return render(_COST, positive=positive, fn_cost=fn_cost, fp_cost=fp_cost)


_BASELINE = '''$docstring
import numpy as np
import pandas as pd
$imports

TARGET = $target
FEATURES = $features
$models
$constants

def design(rows, columns=None):
    """One-hot categorical features, numeric ones as they are."""
    x = pd.get_dummies(rows[FEATURES], dtype=float)
    return x if columns is None else x.reindex(columns=columns, fill_value=0.0)


def predict(name, known, rows):
    """Fit the named model on the `known` rows (their column medians fill gaps), then predict the others."""
    x = design(known)
    fill = x.median()
    model = MODELS[name]()
    model.fit(x.fillna(fill), known[TARGET])
    x = design(rows, x.columns).fillna(fill)
    return $predict


$score

train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
scores = {name: score(validation[TARGET], predict(name, train, validation)) for name in MODELS}
best = max(scores, key=scores.get)  # on a tie, the model listed first
print(f"validation scores {scores}: refitting {best} on train + validation")
predictions = predict(best, train, validation)
pd.DataFrame({"id": validation["id"], TARGET: predictions}).to_csv("validation_predictions.csv", index=False)
predictions = predict(best, pd.concat([train, validation]), test)  # refit on all labelled rows
pd.DataFrame({"id": test["id"], TARGET: predictions}).to_csv("submission.csv", index=False)
print("wrote validation_predictions.csv and submission.csv")
'''

_BASELINE_PREDICT = {
    "classification": "model.predict(x)",
    "regression": "np.clip(model.predict(x), known[TARGET].min(), known[TARGET].max())",
    "cost": "decide(model.predict_proba(x), model.classes_)",
}
"""How a baseline turns its model into predictions, by kind: a regression stays within the training
targets' range, a cost task decides at the Bayes threshold."""
_CONSTANT = {"classification": 'DummyClassifier(strategy="most_frequent")',
             "regression": 'DummyRegressor(strategy="median")', "cost": 'DummyClassifier(strategy="prior")'}
"""The baseline's fallback, the sample submission's kind of prediction (a cost task's decides by the prior)."""


def tabular_baseline(target: str, features: list[str], doc: str, models: dict[str, str], kind: Kind, metric: str,
                     constants: str = "") -> str:
    """Code of a baseline that fits each of `models` (name: scikit-learn constructor call) on one-hot
    `features`, and a constant model after them, and keeps the one that scores best on validation."""
    models = {**models, "constant": _CONSTANT[kind]}
    text = f"Baseline: {doc}. Writes validation_predictions.csv and submission.csv."
    code = {"docstring": docstring(text), "constants": constants, "predict": _BASELINE_PREDICT[kind],
            **_models_code(models, score_code(metric))}
    return render(_BASELINE, code, target=target, features=features)

_REFERENCE = '''$docstring
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core in the sandbox: more OpenMP threads only contend

import numpy as np
import pandas as pd
$imports

TARGET = $target
$models
$candidates
$constants

def make_model(name):
    """Numeric features imputed by median and standardised, categorical ones one-hot encoded (20 levels at
    most), then the named model."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"),
                                OneHotEncoder(handle_unknown="ignore", max_categories=20, sparse_output=False))
    columns = ColumnTransformer([("numeric", numeric, make_column_selector(dtype_include=np.number)),
                                 ("categorical", categorical, make_column_selector(dtype_exclude=np.number))])
    return make_pipeline(columns, MODELS[name]())


def read(split):
    rows = pd.read_csv(f"data/{split}.csv")
    return rows.astype({c: str for c in rows.columns if rows[c].dtype == bool})  # True/False as categories


def write(rows, predictions, out):
    pd.DataFrame({"id": rows["id"], TARGET: predictions}).to_csv(out, index=False)


def fit(names, rows):
    return [make_model(name).fit(rows[features], rows[TARGET]) for name in names]


$predict

$score

train, validation, test = (read(split) for split in ("train", "validation", "test"))
features = [c for c in train.columns if c not in ("id", TARGET)]
fitted = dict(zip(MODELS, fit(MODELS, train), strict=True))
scores = {" + ".join(names): score(validation[TARGET], predict([fitted[n] for n in names], validation))
          for names in CANDIDATES}
best = max(CANDIDATES, key=lambda names: scores[" + ".join(names)])
print(f"validation scores {scores}: refitting {' + '.join(best)} on train + validation")
write(validation, predict([fitted[n] for n in best], validation), "validation_predictions.csv")
write(test, predict(fit(best, pd.concat([train, validation], ignore_index=True)), test), "submission.csv")
print("wrote validation_predictions.csv and submission.csv")
'''

_CANDIDATES = ('''CANDIDATES = [[name] for name in MODELS] + [list(MODELS)]
"""Each model alone, and the average of both."""''', '''CANDIDATES = [list(MODELS)]
"""The average of both (a cost task's few validation positives would choose between them too noisily)."""''')
"""The candidates the reference chooses from on validation: for a cost task, only the average."""
_PROBABILITIES = "np.mean([model.predict_proba(rows[features]) for model in models], axis=0)"
REFERENCE_PREDICT = {
    "classification": f'''def predict(models, rows):
    """The class of the highest mean probability over the models."""
    return models[0].classes_[{_PROBABILITIES}.argmax(axis=1)]
''',
    "regression": '''def predict(models, rows):
    """The mean of the models' predictions."""
    return np.mean([model.predict(rows[features]) for model in models], axis=0)
''',
    "cost": f'''def predict(models, rows):
    """The positive label where its mean probability over the models reaches the cost threshold."""
    return decide({_PROBABILITIES}, models[0].classes_)
''',
}


def reference_models(kind: Kind, n_train: int, metric: str, *, balanced: bool = False) -> dict[str, str]:
    """Constructors of the reference's models by name: a tree ensemble (a random forest on small data,
    boosting on more; for a cost task, strongly regularised boosting, whose probabilities stay close enough
    to calibrated for a decision threshold far from one half) and a regularised linear model."""
    weight = ', class_weight="balanced"' if balanced and kind != "regression" else ""
    suffix = "Regressor" if kind == "regression" else "Classifier"
    if kind == "cost":
        ensemble = ("HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=15, "
                    "min_samples_leaf=40, l2_regularization=1.0, early_stopping=False, random_state=0)")
    elif n_train < 2000:
        ensemble = f"RandomForest{suffix}(n_estimators=300, min_samples_leaf=2, random_state=0{weight})"
    else:
        loss = ', loss="absolute_error"' if metric == "mae" else ""
        ensemble = (f"HistGradientBoosting{suffix}(max_iter=200, learning_rate=0.08, early_stopping=False, "
                    f"random_state=0{loss}{weight})")
    linear = "Ridge(alpha=1.0)" if kind == "regression" else f"LogisticRegression(C=1.0, max_iter=2000{weight})"
    return {ensemble.split("(")[0]: ensemble, linear.split("(")[0]: linear}


def tabular_reference(target: str, kind: Kind, n_train: int, metric: str, *, balanced: bool = False,
                      constants: str = "") -> tuple[str, str]:
    """(code, summary) of the tabular reference: its models and their average fit on train, the best on
    validation refit on train + validation. `constants`: code the metric or the predictions need."""
    models = reference_models(kind, n_train, metric, balanced=balanced)
    ensemble, linear = models
    averaged = "predictions" if kind == "regression" else "probabilities"
    weights = " with balanced class weights" if balanced else ""
    choice = (f"the average of the probabilities of {ensemble} and {linear}" if kind == "cost" else
              f"{ensemble}, {linear} or the average of their {averaged}, whichever scores the better {metric} on "
              "validation")
    doc = (f"{choice}, on all features (median imputation and scaling, one-hot categoricals){weights}, refit on "
           "train + validation")
    code = {"docstring": docstring(f"Reference solution: {doc}."), "constants": constants,
            "candidates": _CANDIDATES[kind == "cost"], "predict": REFERENCE_PREDICT[kind],
            **_models_code(models, score_code(metric), _PIPELINE_IMPORTS)}
    return render(_REFERENCE, code, target=target), doc


_PIPELINE_IMPORTS = ("from sklearn.compose import ColumnTransformer, make_column_selector",
                     "from sklearn.impute import SimpleImputer", "from sklearn.pipeline import make_pipeline",
                     "from sklearn.preprocessing import OneHotEncoder, StandardScaler")
_MODULES = {"Ridge": "linear_model", "LogisticRegression": "linear_model", "LinearRegression": "linear_model",
            "DecisionTreeClassifier": "tree", "DecisionTreeRegressor": "tree", "DummyClassifier": "dummy",
            "DummyRegressor": "dummy"}
"""The scikit-learn module of each model class the scripts use (the ensembles' is `ensemble`)."""


def _models_code(models: dict[str, str], score: dict[str, str], extra_imports: tuple[str, ...] = ()) -> dict[str, str]:
    """Snippets `imports` (scikit-learn's, sorted), `models` (a dict of model factories) and `score`."""
    classes = {model.split("(")[0] for model in models.values()}
    imports = sorted({f"from sklearn.{_MODULES.get(c, 'ensemble')} import {c}" for c in classes} | set(extra_imports))
    entries = "".join(_entry(name, model) for name, model in models.items())
    return {"imports": score["metrics_import"] + "\n".join(imports), "models": "MODELS = {\n" + entries + "}",
            "score": score["score"]}


def _entry(name: str, model: str) -> str:
    line = f"    {name!r}: lambda: {model},\n"
    cls = model.split("(")[0]
    return line if len(line) <= 121 else f"    {name!r}: lambda: {cls}(\n        {model[len(cls) + 1:]},\n"
