"""The code the expert agent writes into the workspace: a data profile and candidate solutions.

A candidate averages the predictions of its parts: scikit-learn models (`Model`) for tables, pixels and
text, in a script that runs from the workspace root in the task runtime (numpy, pandas, scikit-learn),
fits on train for validation_predictions.csv and refits on train + validation for submission.csv; or
forecasting rules (`Rule`) in a forecaster.py module, which the evaluator calls at each window's origin.
"""

import textwrap
from dataclasses import dataclass, field
from string import Template
from typing import Any, Literal

Kind = Literal["classification", "regression", "cost", "image", "text", "forecast"]

PROFILE = '''"""A first look at the data: split sizes, the target, and each column's type, gaps and spread."""
import json
import warnings

import pandas as pd

warnings.filterwarnings("ignore")
target = $target or pd.read_csv("sample_submission.csv", nrows=1).columns[1]  # as the task statement names it
splits = {split: pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test")}
train = splits["train"]


def describe(values):
    found = {"dtype": str(values.dtype), "missing": round(float(values.isna().mean()), 3),
             "unique": int(values.nunique())}
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return found | {"min": float(f"{values.min():.6g}"), "max": float(f"{values.max():.6g}")}
    text = values.dropna().astype(str)
    found["mean_length"] = round(float(text.str.len().mean()), 1) if len(text) else 0.0
    return found


y = train[target]
summary = {"target": target, "rows": {split: len(rows) for split, rows in splits.items()},
           "test_columns": list(splits["test"].columns),
           "columns": {c: describe(train[c]) for c in train.columns if c not in ("id", target)}}
if pd.api.types.is_numeric_dtype(y) and y.nunique() > 20:
    summary["target_summary"] = {"min": float(f"{y.min():.6g}"), "max": float(f"{y.max():.6g}"),
                                 "skew": round(float(y.skew()), 2)}
else:
    summary["class_counts"] = {str(k): int(v) for k, v in y.value_counts().head(30).items()}
columns = ",\\n".join(f"  {json.dumps(c)}: {json.dumps(d)}" for c, d in summary.pop("columns").items())
print(json.dumps(summary, indent=1)[:-2] + ',\\n "columns": {\\n' + columns + "\\n }\\n}")  # a column a line
'''

_TABULAR = '''$doc
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core in the sandbox: more threads only contend

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
$imports

TARGET = $target
SEED = $seed
$constants

def models():
    """The models of this candidate; its prediction averages theirs."""
    return [
$models
    ]


def clean(rows):
    """Numeric columns as floats (stray text becomes a gap); every other column, booleans included, as
    text categories with "missing" for gaps."""
    rows = rows.copy()
    for column in FEATURES:
        values = rows[column]
        rows[column] = (pd.to_numeric(values, errors="coerce") if column in NUMERIC
                        else values.astype(str).where(values.notna(), "missing"))
    return rows


def fit(rows):
    """Median-imputed, $scaling numbers and one-hot categories (30 levels at most), then each model."""
    numeric = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), $scaler)
    categorical = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=30, sparse_output=False)
    columns = ColumnTransformer([("numeric", numeric, NUMERIC), ("categorical", categorical, CATEGORICAL)])
    return [make_pipeline(columns, model).fit(rows[FEATURES], rows[TARGET]) for model in models()]


$predict

def write(rows, predictions, out):
    pd.DataFrame({"id": rows["id"], TARGET: predictions}).to_csv(out, index=False)


train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
FEATURES = [c for c in train.columns if c not in ("id", TARGET)]
NUMERIC = [c for c in FEATURES if pd.api.types.is_numeric_dtype(train[c]) and not pd.api.types.is_bool_dtype(train[c])]
CATEGORICAL = [c for c in FEATURES if c not in NUMERIC]
train, validation, test = clean(train), clean(validation), clean(test)
write(validation, predict(fit(train), train, validation), "validation_predictions.csv")
labelled = pd.concat([train, validation], ignore_index=True)  # refit on every labelled row for the test
write(test, predict(fit(labelled), labelled, test), "submission.csv")
print(f"wrote validation_predictions.csv ({len(validation)} rows) and submission.csv ({len(test)} rows)")
'''

_PREDICT = {
    "classification": '''def predict(fitted, known, rows):
    """The model's classes, or for several models the class of the highest mean probability."""
    if len(fitted) == 1:
        return fitted[0].predict(rows[FEATURES])
    probabilities = np.mean([model.predict_proba(rows[FEATURES]) for model in fitted], axis=0)
    return fitted[0].classes_[probabilities.argmax(axis=1)]
''',
    "regression": '''def predict(fitted, known, rows):
    """The mean of the models' predictions."""
    return np.mean([model.predict(rows[FEATURES]) for model in fitted], axis=0)
''',
    "cost": '''def positive_probability(fitted, rows):
    at = [str(c) for c in fitted[0].classes_].index(str(POSITIVE))
    return np.mean([model.predict_proba(rows[FEATURES])[:, at] for model in fitted], axis=0)


def tuned_threshold(known):
    """The threshold of least cost on out-of-fold probabilities of the known rows (5 folds)."""
    from sklearn.model_selection import StratifiedKFold

    probability = np.zeros(len(known))
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED).split(known, known[TARGET].astype(str))
    for inside, outside in folds:
        probability[outside] = positive_probability(fit(known.iloc[inside]), known.iloc[outside])
    positive = (known[TARGET].astype(str) == str(POSITIVE)).to_numpy()
    grid = np.linspace(0.01, 0.99, 99)
    costs = [np.mean(np.where(positive, (probability < t) * FN_COST, (probability >= t) * FP_COST)) for t in grid]
    return float(grid[int(np.argmin(costs))])


def predict(fitted, known, rows):
    """POSITIVE where its mean probability reaches the threshold, else the likeliest other class."""
    threshold = tuned_threshold(known) if TUNE_THRESHOLD else FP_COST / (FP_COST + FN_COST)
    print(f"deciding {POSITIVE} at probability >= {threshold:.3f}")
    classes = fitted[0].classes_
    at = [str(c) for c in classes].index(str(POSITIVE))
    probabilities = np.mean([model.predict_proba(rows[FEATURES]) for model in fitted], axis=0)
    others = probabilities.copy()
    others[:, at] = -1.0
    return np.where(probabilities[:, at] >= threshold, classes[at], classes[others.argmax(axis=1)])
''',
}

_TEXT = '''$doc
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core in the sandbox: more threads only contend

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline, make_union
$imports

TARGET, TEXT = $target, $text


def model():
    """Text features, then the classifier."""
    features = make_union(
$features
    )
    return make_pipeline(features, $classifier)


def documents(rows):
    return rows[TEXT].fillna("").astype(str)


train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
labelled = pd.concat([train, validation], ignore_index=True)  # refit on every labelled row for the test
for known, rows, out in ((train, validation, "validation_predictions.csv"), (labelled, test, "submission.csv")):
    fitted = model().fit(documents(known), known[TARGET])
    pd.DataFrame({"id": rows["id"], TARGET: fitted.predict(documents(rows))}).to_csv(out, index=False)
print(f"wrote validation_predictions.csv ({len(validation)} rows) and submission.csv ({len(test)} rows)")
'''

_FORECAST = '''$doc
import numpy as np

SEASON = $season
PAIRS = min(SEASON // 2, 6)
"""Sine-cosine pairs that describe the position in the season."""


def position(t):
    """Fourier terms of the position of time points t in the season."""
    angles = [2 * np.pi * k * np.asarray(t, float)[:, None] / SEASON for k in range(1, PAIRS + 1)]
    return np.hstack([f(a) for a in angles for f in (np.sin, np.cos)] or [np.zeros((len(t), 0))])


def on_log_scale(rule):
    """Apply `rule` to the log of a positive series (multiplicative seasons and growth become additive)."""
    def wrapped(y, horizon, **knobs):
        if np.all(y > 0):
            return np.exp(rule(np.log(y), horizon, **knobs))
        return rule(y, horizon, **knobs)
    return wrapped
$rules

def forecast(history, horizon):
    """The mean of the rules' forecasts from the points before the window."""
    y = np.asarray(history, float)
    return np.mean([rule(y, horizon) for rule in RULES], axis=0).tolist()


RULES = [
$calls
]
'''

RULES = {
    "seasonal_naive": '''
def seasonal_naive(y, horizon, seasons=4):
    """The last season repeated (the last value if there is no season), each repeat shifted by the mean
    change per season over the last `seasons` seasons (the drift)."""
    m = max(SEASON, 1)
    span = min(len(y) - 1, seasons * m)
    per_season = (y[-1] - y[-1 - span]) / span * m
    steps = np.arange(horizon)
    return y[len(y) - m + steps % m] + per_season * (steps // m + 1)
''',
    "harmonic": '''
@on_log_scale
def harmonic(y, horizon, seasons=4, trend=True):
    """Least squares on a level, a linear trend (if `trend`) and the season's Fourier terms, fit on the
    last `seasons` seasons (all points if `seasons` is None)."""
    n = len(y) if seasons is None else min(len(y), max(seasons * SEASON, 24))
    t = np.arange(len(y) - n, len(y) + horizon)
    x = np.column_stack([np.ones(len(t)), *([t / len(y)] if trend else []), position(t)])
    coefficients = np.linalg.lstsq(x[:n], y[-n:], rcond=None)[0]
    return x[n:] @ coefficients
''',
    "autoregression": '''
@on_log_scale
def autoregression(y, horizon, differenced=False, alpha=1.0):
    """Ridge on the last lags (one season and one more, or 5 without a season; 14 for long seasons), the
    position in the season and a linear trend, forecast one step at a time; with `differenced`, on the
    changes from point to point, summed up from the last value."""
    from sklearn.linear_model import Ridge

    z = np.diff(y) if differenced else y
    lags = SEASON + 1 if 1 < SEASON <= 24 else (14 if SEASON > 24 else 5)
    mean, scale = z.mean(), z.std() or 1.0
    series, n = list((z - mean) / scale), len(z)

    def design(t):
        trend = [] if differenced else [t / n]
        return np.concatenate([np.array(series[t - lags:t])[::-1], position([t])[0], trend])

    model = Ridge(alpha=alpha).fit(np.array([design(t) for t in range(lags, n)]), series[lags:])
    for t in range(n, n + horizon):
        series.append(float(model.predict(design(t)[None, :])[0]))
    out = np.array(series[n:]) * scale + mean
    return y[-1] + np.cumsum(out) if differenced else out
''',
}


@dataclass
class Model:
    """A scikit-learn estimator, as the code that builds it."""

    cls: str
    module: str
    params: dict[str, Any] = field(default_factory=dict)
    wrap: tuple[str, str] | None = None
    """Code around the estimator, with `{}` where it goes, and the import it needs (`LOG_TARGET`, `CALIBRATED`)."""

    def code(self) -> str:
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return (self.wrap[0] if self.wrap else "{}").format(f"{self.cls}({arguments})")

    def imports(self) -> set[str]:
        return {f"from {self.module} import {self.cls}", *([self.wrap[1]] if self.wrap else [])}


@dataclass
class Rule:
    """A forecasting rule of `RULES`, with its knobs."""

    name: str
    knobs: dict[str, Any] = field(default_factory=dict)

    def code(self) -> str:
        arguments = "".join(f", {k}={v!r}" for k, v in self.knobs.items())
        return f"lambda y, horizon: {self.name}(y, horizon{arguments})"


LOG_TARGET = ("TransformedTargetRegressor({}, func=np.log1p, inverse_func=np.expm1)",
              "from sklearn.compose import TransformedTargetRegressor")
CALIBRATED = ("CalibratedClassifierCV({}, ensemble=False)", "from sklearn.calibration import CalibratedClassifierCV")
"""Probabilities for a model that has none (a support vector machine), where a blend averages them."""
WORDS = 'TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2, max_features=100_000)'
CHARACTERS = ('TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(2, 5), min_df=2, '
              'max_features=150_000)')
FEATURE_NAMES = {WORDS: "tf-idf words", CHARACTERS: "tf-idf characters"}
SCALERS = {"standard": ("standardised", "StandardScaler()"),
           "pixels": ("divided by the largest intensity", "FunctionTransformer(lambda x: x / PIXEL_MAX)")}


def profile_script(target: str | None) -> str:
    """The profile, for `target` (None: the second column of sample_submission.csv)."""
    return _render(PROFILE, target=repr(target))


def tabular_script(doc: str, kind: Kind, target: str, models: list[Model], seed: int, constants: str = "") -> str:
    """A table, pixel or cost candidate averaging `models` (probabilities, or predictions for regression)."""
    scaling, scaler = SCALERS["pixels" if kind == "image" else "standard"]
    imports = sorted(set().union(*(m.imports() for m in models)))
    entries = "\n".join(f"        {m.code()}," for m in models)
    predict = _PREDICT["classification" if kind == "image" else kind]
    return _render(_TABULAR, doc=_docstring(doc), imports="\n".join(imports), target=repr(target), seed=repr(seed),
                   constants=constants, models=entries, predict=predict, scaler=scaler, scaling=scaling)


def cost_constants(positive: str, fn_cost: float, fp_cost: float, tune: bool) -> str:
    return (f"POSITIVE = {positive!r}\nFN_COST, FP_COST = {fn_cost!r}, {fp_cost!r}\nTUNE_THRESHOLD = {tune!r}\n"
            '"""Choose the threshold on out-of-fold costs, not the Bayes one: fp_cost / (fp_cost + fn_cost)."""\n')


def text_script(doc: str, target: str, text: str, features: list[str], classifier: Model) -> str:
    entries = "\n".join(f"        {f}," for f in features)
    return _render(_TEXT, doc=_docstring(doc), imports="\n".join(sorted(classifier.imports())), target=repr(target),
                   text=repr(text), features=entries, classifier=classifier.code())


def forecaster(doc: str, season: int, rules: list[Rule]) -> str:
    """A forecaster.py module (`forecast(history, horizon)`) averaging the rules' forecasts."""
    names = list(dict.fromkeys(r.name for r in rules))
    return _render(_FORECAST, doc=_docstring(doc), season=repr(season),
                   rules="".join(RULES[n] for n in names), calls="\n".join(f"    {r.code()}," for r in rules))


def _render(template: str, **values: str) -> str:
    return Template(template).substitute(values)


def _docstring(text: str) -> str:
    return '"""' + textwrap.fill(text, 116, break_on_hyphens=False) + '"""'
