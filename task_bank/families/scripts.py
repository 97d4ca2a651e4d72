"""The ladder of scripts the table families share (trivial, baseline, default, reference), as templates,
and the renderer.

A template names constants as `$name` (rendered with repr, so any value is a valid literal) and code
snippets as `$name` too (passed in `code`, inserted as they are). Scripts run in the task runtime
(pandas, scikit-learn) from the workspace root, read data/*.csv and write both prediction files: the
validation predictions from models fit on train, the test predictions from models refit on train +
validation.
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
'''
_COST_DECIDE = '''

def decide(probabilities, classes):
    """The positive label where its probability reaches THRESHOLD, else the other label."""
    at = list(map(str, classes)).index(str(POSITIVE))
    return np.where(probabilities[:, at] >= THRESHOLD, classes[at], classes[1 - at])
'''


def cost_constants(positive: Any, fn_cost: float, fp_cost: float, *, decide: bool = True) -> str:
    """Code of the cost constants and (with `decide`) of `decide`, for the `constants` snippet of a cost
    task's scripts."""
    return render(_COST, positive=positive, fn_cost=fn_cost, fp_cost=fp_cost) + (_COST_DECIDE if decide else "")


def ladder(trivial: tuple[str, str], baseline: tuple[str, str], default: tuple[str, str],
           reference: tuple[str, str]) -> dict[str, str]:
    """A draft's fields for the four rungs, each given as (code, summary)."""
    rungs = {"trivial": trivial, "baseline": baseline, "default": default, "reference": reference}
    return {f"{rung}_{part}": value for rung, pair in rungs.items()
            for part, value in zip(("code", "summary"), pair, strict=True)}


_TRIVIAL = '''"""Trivial solution: $doc, for every row. Writes validation_predictions.csv and submission.csv."""
import pandas as pd

TARGET = $target

labels = pd.read_csv("data/train.csv")[TARGET]
$value
for split, out in (("validation", "validation_predictions.csv"), ("test", "submission.csv")):
    ids = pd.read_csv(f"data/{split}.csv")["id"]
    pd.DataFrame({"id": ids, TARGET: [value] * len(ids)}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''
_CONSTANT_VALUE = {
    "classification": ("the commonest training label", "counts = labels.value_counts()\n"
                       "value = min(counts.index[counts == counts.max()], key=str)  # ties: the first as text"),
    "regression": ("the training median", "value = labels.median()"),
}


def trivial_script(target: str, kind: Literal["classification", "regression"]) -> tuple[str, str]:
    """(code, summary) of the constant prediction: the commonest training label or the training median (the
    sample submission's constant)."""
    doc, value = _CONSTANT_VALUE[kind]
    return render(_TRIVIAL, {"doc": doc, "value": value}, target=target), doc


_BASELINE = '''$docstring
import numpy as np
import pandas as pd
$imports
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TARGET = $target
$models
$constants

def design(rows, columns=None):
    """Every feature: categorical ones one-hot, numeric ones as they are."""
    x = pd.get_dummies(rows.drop(columns=["id", TARGET], errors="ignore"), dtype=float)
    return x if columns is None else x.reindex(columns=columns, fill_value=0.0)


def predict(name, known, rows):
    """Fit the named model on the standardised `known` rows (their column medians fill gaps), then predict
    the others."""
    x = design(known)
    fill = x.median()
    model = make_pipeline(StandardScaler(), MODELS[name]())
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
_CONSTANT_DOC = {"classification": "the commonest training label", "regression": "the training median",
                 "cost": "the label the class prior decides"}


def linear_baseline(target: str, kind: Kind, metric: str, constants: str = "", decision: str = "") -> tuple[str, str]:
    """(code, summary) of the baseline: a linear model on every feature (one-hot, standardised) -- logistic
    regression (also with balanced class weights where the metric is not accuracy) or ridge -- or a constant,
    whichever scores best on validation, refit on train + validation."""
    if kind == "regression":
        models = {"ridge": "Ridge(alpha=1.0)"}
        what = "a ridge regression (alpha 1), its predictions clipped to the range of the training targets,"
    else:
        models, what = {"logistic": "LogisticRegression(max_iter=2000)"}, "a logistic regression"
        if kind == "classification" and metric != "accuracy":
            models["balanced logistic"] = 'LogisticRegression(max_iter=2000, class_weight="balanced")'
            what += ", with or without balanced class weights,"
    summary = (f"{what} on every feature (categorical ones one-hot, all standardised, missing values at the "
               f"training median){decision}, or {_CONSTANT_DOC[kind]}, whichever scores the better {metric} on "
               "validation, refit on train + validation for the test predictions")
    models = {**models, "constant": _CONSTANT[kind]}
    code = {"docstring": docstring(f"Baseline: {summary}. Writes validation_predictions.csv and submission.csv."),
            "constants": constants, "predict": _BASELINE_PREDICT[kind], **_models_code(models, score_code(metric))}
    return render(_BASELINE, code, target=target), summary


_DEFAULT = '''$docstring
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core in the sandbox: more OpenMP threads only contend

import numpy as np
import pandas as pd
from sklearn.ensemble import $model

TARGET = $target
MAX_LEVELS = 250
"""Categories per text column (the commonest; histogram gradient boosting takes at most 255)."""


def design(rows, levels):
    """The training columns but id and the target; text columns as categories of their training levels."""
    x = rows[[c for c in train.columns if c not in ("id", TARGET)]]
    return x.assign(**{c: pd.Categorical(x[c], categories=values) for c, values in levels.items()})


def fit_predict(known, rows):
    """Fit on the `known` rows with scikit-learn's defaults (seeded), then predict the others."""
    x = design(known, {})
    levels = {c: x[c].value_counts().index[:MAX_LEVELS] for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])}
    model = $model(random_state=0).fit(design(known, levels), known[TARGET])
    x = design(rows, levels)
    return $predict


train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
for known, rows, out in ((train, validation, "validation_predictions.csv"),
                         (pd.concat([train, validation], ignore_index=True), test, "submission.csv")):
    pd.DataFrame({"id": rows["id"], TARGET: fit_predict(known, rows)}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''


def default_script(target: str, kind: Literal["classification", "regression"]) -> tuple[str, str]:
    """(code, summary) of the cheap default for tables: histogram gradient boosting with scikit-learn's
    defaults on every column (text columns as native categories), for any size of data -- the baseline
    already is the linear model a small table might prefer. It predicts the likeliest class whatever the
    metric: deciding for a cost or a class-balanced metric is part of what the task asks."""
    model = "HistGradientBoostingRegressor" if kind == "regression" else "HistGradientBoostingClassifier"
    summary = (f"{model} with scikit-learn's defaults on every column (text columns as categories), fit on train "
               "for validation and on train + validation for test")
    code = {"docstring": docstring(f"Default solution: {summary}."), "model": model,
            "predict": {**_BASELINE_PREDICT, "regression": "model.predict(x)"}[kind]}
    return render(_DEFAULT, code, target=target), summary


_REFERENCE = '''$docstring
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core in the sandbox: more OpenMP threads only contend

from collections import Counter

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer$target_transform
from sklearn.ensemble import ExtraTrees$suffix, HistGradientBoosting$suffix
from sklearn.impute import SimpleImputer
from sklearn.linear_model import $linear_class
from sklearn.neural_network import MLP$suffix
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, SplineTransformer, StandardScaler
$metrics_import
TARGET, KIND = $target, $kind
$constants
DECISIONS = $decisions
"""The decision parameters tried on validation: the power of the class shares the probabilities are divided
by (0: the likeliest class; 1: balanced), or a cost task's probability threshold."""


def read(split):
    rows = pd.read_csv(f"data/{split}.csv")
    return rows.astype({c: str for c in rows.columns if rows[c].dtype == bool})  # True/False as categories


def encoder(splines):
    """Numeric features imputed by median (those of many values expanded into cubic splines), clipped to the
    range of the rows fit on (a linear model's straight line would otherwise run on unchecked past the data, as
    a covariate shift puts test rows) and standardised; categorical ones one-hot (their 30 commonest levels)."""
    smooth = [SplineTransformer(n_knots=5)] if splines else []
    scale = [MinMaxScaler(clip=True), StandardScaler()]
    return ColumnTransformer([
        ("many", make_pipeline(SimpleImputer(strategy="median"), *smooth, *scale), MANY),
        ("few", make_pipeline(SimpleImputer(strategy="median"), *scale), FEW),
        ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(
            handle_unknown="infrequent_if_exist", max_categories=30, sparse_output=False)), CATEGORICAL)])


def boosting(leaves, **options):
    """Histogram gradient boosting on native categories, its rounds stopped early on a held-out fifth."""
    columns = ColumnTransformer([("numeric", "passthrough", MANY + FEW), ("categorical", OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, max_categories=250), CATEGORICAL)])
    model = HistGradientBoosting$suffix(
        learning_rate=0.05, max_iter=1000, max_leaf_nodes=leaves, min_samples_leaf=LEAF, l2_regularization=1.0,
        early_stopping=True, validation_fraction=0.2, n_iter_no_change=30, random_state=0,
        categorical_features=list(range(len(MANY + FEW), len(FEATURES))), **options)
    return make_pipeline(columns, model)


$residual_model$models

def output(model, rows):
    return model.predict_proba(rows[FEATURES]) if KIND != "regression" else model.predict(rows[FEATURES])


def loss(truth, out):
    """What the blend minimises: log loss of the probabilities, or the metric's error."""
    if KIND != "regression":
        at = np.searchsorted(CLASSES, truth)
        return -np.mean(np.log(np.clip(out[np.arange(len(truth)), at], 1e-6, 1)))
    return $regression_loss


def blend(outputs, counts):
    return sum(outputs[name] * count for name, count in counts.items()) / sum(counts.values())


def select(outputs, truth, rounds=15):
    """Greedy ensemble selection (Caruana et al.): add, with repetition, the model whose addition lowers the
    validation loss of the average most, until none does."""
    counts = Counter()
    for _ in range(rounds):
        tried = {name: loss(truth, blend(outputs, counts + Counter([name]))) for name in outputs}
        best = min(tried, key=tried.get)
        if counts and tried[best] >= loss(truth, blend(outputs, counts)) - 1e-12:
            break
        counts[best] += 1
    return counts


$decide

$score

train, validation, test = (read(split) for split in ("train", "validation", "test"))
FEATURES = [c for c in train.columns if c not in ("id", TARGET)]
numeric = [c for c in FEATURES if pd.api.types.is_numeric_dtype(train[c])]
MANY = [c for c in numeric if train[c].nunique() > 10]
FEW = [c for c in numeric if c not in MANY]
CATEGORICAL = [c for c in FEATURES if c not in numeric]
FEATURES = MANY + FEW + CATEGORICAL
LEAF = 5 if len(train) < 1000 else 20
CLASSES = np.unique(train[TARGET]) if KIND != "regression" else None
truth = validation[TARGET].to_numpy()
outputs = {name: output(make().fit(train[FEATURES], train[TARGET]), validation) for name, make in MODELS.items()}
counts = select(outputs, truth)
chosen = max(DECISIONS, key=lambda a: score(truth, decide(blend(outputs, counts), a)))  # ties: the first
print(f"blend {dict(counts)}, decision parameter {chosen}: refitting its models on train + validation")
pd.DataFrame({"id": validation["id"], TARGET: decide(blend(outputs, counts), chosen)}).to_csv(
    "validation_predictions.csv", index=False)
known = pd.concat([train, validation], ignore_index=True)
outputs = {name: output(MODELS[name]().fit(known[FEATURES], known[TARGET]), test) for name in counts}
pd.DataFrame({"id": test["id"], TARGET: decide(blend(outputs, counts), chosen)}).to_csv(
    "submission.csv", index=False)
print("wrote validation_predictions.csv and submission.csv")
'''

_DECIDE = {
    "classification": '''def decide(probabilities, power):
    """The class of the highest probability divided by its expected share of the rows predicted (their mean
    probability: under a shift, not the training share) to the given power."""
    return CLASSES[np.argmax(probabilities / probabilities.mean(axis=0) ** power, axis=1)]''',
    "cost": '''def decide(probabilities, threshold):
    """The positive label where its probability reaches the threshold."""
    at = list(map(str, CLASSES)).index(str(POSITIVE))
    return np.where(probabilities[:, at] >= threshold, CLASSES[at], CLASSES[1 - at])''',
    "regression": '''def decide(predictions, _):
    return predictions''',
}




_RESIDUAL_MODEL = '''class LinearThenBoosting:
    """A ridge fit, then boosting on its residuals: a smooth global trend with local corrections."""

    def fit(self, x, y):
        self.linear = make_pipeline(encoder(False), RidgeCV(alphas=np.logspace(-3, 3, 13))).fit(x, y)
        self.boosting = boosting(15).fit(x, y - self.linear.predict(x))
        return self

    def predict(self, x):
        return self.linear.predict(x) + self.boosting.predict(x)


'''
_DECISIONS = {"accuracy": "[0.0]", "balanced_accuracy": "[1.0, 0.75, 0.5]", "f1_macro": "[0.5, 0.0, 0.25, 0.75, 1.0]",
              "expected_cost": "[THRESHOLD]"}
"""The decision parameters a reference tries on validation, by metric (the first wins ties)."""


def reference_script(target: str, kind: Kind, metric: str, *, positive_target: bool = False,
                     constants: str = "") -> tuple[str, str]:
    """(code, summary) of the tabular reference: several models fit on train (boosting of two sizes stopped
    early, extra trees, a linear model on the features and on their splines, a two-layer neural network; for
    regression also ridge with boosted residuals, and boosting of the log target where every target is positive),
    blended by greedy ensemble selection on the validation loss, the decision rule tuned on validation for the
    metric, the blend refit on train + validation. `constants`: code the metric or the decision needs (a cost
    task's)."""
    regression = kind == "regression"
    suffix = "Regressor" if regression else "Classifier"
    linear = "RidgeCV(alphas=np.logspace(-3, 3, 13))" if regression else "LogisticRegression(max_iter=3000)"
    models = {"boosting (7 leaves)": "boosting(7)", "boosting (31 leaves)": "boosting(31)",
              "extra trees": f"make_pipeline(encoder(False), ExtraTrees{suffix}(n_estimators=250, min_samples_leaf=2, "
                             "max_features=0.5, random_state=0))",
              "linear": f"make_pipeline(encoder(False), {linear})",
              "neural network": f"make_pipeline(encoder(False), MLP{suffix}(hidden_layer_sizes=(64, 64), alpha=1e-3, "
                                "early_stopping=True, max_iter=500, random_state=0))",
              "splines + linear": f"make_pipeline(encoder(True), {linear})"}
    if regression:
        models["ridge + boosted residuals"] = "LinearThenBoosting()"
        if metric == "mae":
            models["boosting (absolute error)"] = 'boosting(15, loss="absolute_error")'
        if positive_target:
            models["boosting of the log target"] = ("TransformedTargetRegressor(boosting(15), func=np.log, "
                                                    "inverse_func=np.exp)")
    summary = _reference_doc(kind, metric, list(models))
    code = {"docstring": docstring(f"Reference solution: {summary}."), "suffix": suffix,
            "linear_class": linear.split("(")[0], "constants": constants, "decide": _DECIDE[kind],
            "residual_model": _RESIDUAL_MODEL if regression else "",
            "target_transform": ", TransformedTargetRegressor" if positive_target and regression else "",
            "models": "MODELS = {\n" + "".join(_entry(n, m) for n, m in models.items()) + "}\n",
            "decisions": "[None]" if regression else _DECISIONS[metric],
            "regression_loss": "np.mean(np.abs(truth - out))" if metric == "mae" else "np.mean((truth - out) ** 2)",
            **score_code(metric)}
    return render(_REFERENCE, code, target=target, kind=kind), summary


def _reference_doc(kind: Kind, metric: str, models: list[str]) -> str:
    loss = "log loss" if kind != "regression" else "absolute error" if metric == "mae" else "squared error"
    decision = {"balanced_accuracy": ", predicting the class of the highest probability over its mean probability "
                "among the rows predicted (to a power tuned on validation)", "f1_macro": ", predicting the class of "
                "the highest probability over its mean probability among the rows predicted to a power tuned on "
                "validation", "expected_cost": ", predicting the "
                "positive label where its probability reaches the Bayes threshold"}
    return (f"the blend (by greedy ensemble selection on the validation {loss}, each model fit on train) of "
            f"{'; '.join(models)}{decision.get(metric, '')}; refit on train + validation for the test predictions")


_MODULES = {"Ridge": "linear_model", "LogisticRegression": "linear_model", "DummyClassifier": "dummy",
            "DummyRegressor": "dummy"}
"""The scikit-learn module of each model class the baselines use."""


def _models_code(models: dict[str, str], score: dict[str, str]) -> dict[str, str]:
    """Snippets `imports` (scikit-learn's, sorted), `models` (a dict of model factories) and `score`."""
    imports = sorted({f"from sklearn.{_MODULES[m.split('(')[0]]} import {m.split('(')[0]}" for m in models.values()})
    entries = "".join(_entry(name, model) for name, model in models.items())
    return {"imports": score["metrics_import"] + "\n".join(imports), "models": "MODELS = {\n" + entries + "}",
            "score": score["score"]}


def _entry(name: str, model: str) -> str:
    line = f"    {name!r}: lambda: {model},\n"
    cls = model.split("(")[0]
    return line if len(line) <= 121 else f"    {name!r}: lambda: {cls}(\n        {model[len(cls) + 1:]},\n"
