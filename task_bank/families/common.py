"""What the families share: metric names, table cleaning, seeded splits, feature ranking, notes.

Numpy and pandas only: generating tasks needs no scikit-learn on the host.
"""

import random
from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthml.errors import TaskError
from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.schema import Metric

METRIC_DIRECTIONS = {"accuracy": "max", "balanced_accuracy": "max", "f1_macro": "max", "expected_cost": "min",
                     "rmse": "min", "mae": "min", "r2": "max", "smape": "min"}
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro")
REGRESSION_METRICS = ("rmse", "mae", "r2")
TRAIN_FRACTIONS = (1.0, 0.5, 0.25)
MIN_SMALL_TRAIN_ROWS = 100
"""A small-data setting keeps at least this many training rows: with fewer, which of two models scores
better on test is mostly chance."""
SPLIT = (0.6, 0.2, 0.2)
MAX_ROWS = 20_000
"""Larger tables are subsampled, so that baselines and references stay within seconds."""
MIN_CLASS_ROWS = 10
"""Rarer classes are dropped: every split must see each class."""


def metrics(primary: str, group: Sequence[str]) -> tuple[Metric, ...]:
    """The primary metric first, then the rest of its group for information."""
    names = [primary, *(m for m in group if m != primary)]
    return tuple(Metric(name=n, direction=METRIC_DIRECTIONS[n]) for n in names)


def pick(rng: random.Random, options: Sequence):
    return options[rng.randrange(len(options))]


def train_fraction(rng: random.Random, entry: DatasetEntry) -> float:
    """A share of the training split to keep: all of it, or a fraction that keeps enough rows."""
    return pick(rng, [f for f in TRAIN_FRACTIONS if f == 1 or entry.rows * SPLIT[0] * f >= MIN_SMALL_TRAIN_ROWS])


def feature_names(entry: DatasetEntry) -> list[str]:
    return [c for c in entry.columns if c not in (entry.target, entry.time_column, "id")]


def clean_table(entry: DatasetEntry, table: pd.DataFrame, seed: int, *, classification: bool,
                max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Catalog columns only (any `id` dropped: the writer numbers rows), labelled rows, common classes,
    at most `max_rows` rows."""
    frame = table[[c for c in entry.columns if c != "id"]].dropna(subset=[entry.target])
    if classification:
        counts = frame[entry.target].value_counts()
        frame = frame[frame[entry.target].isin(counts.index[counts >= MIN_CLASS_ROWS])]
        if frame[entry.target].nunique() < 2:
            raise TaskError(f"{entry.id}: fewer than two classes with {MIN_CLASS_ROWS} rows each")
    frame = frame.reset_index(drop=True)
    if len(frame) > max_rows:
        frame = take_fraction(frame, max_rows / len(frame), seed, frame[entry.target] if classification else None)
    return frame.reset_index(drop=True)


def split_rows(frame: pd.DataFrame, seed: int, fractions: Sequence[float] = SPLIT,
               strata: pd.Series | None = None) -> list[pd.DataFrame]:
    """Shuffled parts of `frame` with the given fractions, stratified by `strata` when given."""
    rng = np.random.default_rng(seed)
    keys = np.zeros(len(frame), dtype=int) if strata is None else pd.factorize(strata.astype(str), sort=True)[0]
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    for key in np.unique(keys):
        rows = rng.permutation(np.flatnonzero(keys == key))
        cuts = np.round(np.cumsum(fractions)[:-1] * len(rows)).astype(int)
        for part, chunk in zip(parts, np.split(rows, cuts), strict=True):
            part.append(chunk)
    return [frame.iloc[rng.permutation(np.concatenate(p))].reset_index(drop=True) for p in parts]


def take_fraction(frame: pd.DataFrame, fraction: float, seed: int, strata: pd.Series | None = None) -> pd.DataFrame:
    if fraction >= 1:
        return frame
    return split_rows(frame, seed + 1, (fraction, 1 - fraction), strata)[0]


def split_table(frame: pd.DataFrame, target: str, seed: int, *, classification: bool,
                train_fraction: float = 1.0) -> list[pd.DataFrame]:
    """Train, validation and test (60/20/20, stratified for classification); train cut to its fraction."""
    strata = frame[target] if classification else None
    train, validation, test = split_rows(frame, seed, SPLIT, strata)
    train = take_fraction(train, train_fraction, seed, train[target] if classification else None)
    return [train, validation, test]


def rank_features(frame: pd.DataFrame, target: str, *, classification: bool) -> list[str]:
    """Features by the share of the target's variance their bins explain (correlation ratio, adjusted for the
    number of bins), best first. Numeric features fall in ten quantile bins, categorical ones in their ten
    commonest values."""
    y = _target_matrix(frame, target, classification)
    scores = {c: _explained(y, _bins(frame[c])) for c in frame.columns if c != target}
    return sorted(scores, key=lambda c: (-round(scores[c], 12), c))


def complementary_features(frame: pd.DataFrame, target: str, *, classification: bool, count: int = 2) -> list[str]:
    """`count` features chosen greedily: the most informative one, then each time the feature whose bins,
    crossed with those of the features chosen, explain the most (so a near copy of a chosen feature adds little)."""
    y = _target_matrix(frame, target, classification)
    bins = {c: _bins(frame[c]) for c in frame.columns if c != target}
    chosen = rank_features(frame, target, classification=classification)[:1]
    cells = bins[chosen[0]] if chosen else None
    while 0 < len(chosen) < min(count, len(bins)):
        scores = {c: _explained(y, cells + "|" + b) for c, b in bins.items() if c not in chosen}
        chosen.append(min(scores, key=lambda c: (-round(scores[c], 12), c)))
        cells = cells + "|" + bins[chosen[-1]]
    return chosen


def _target_matrix(frame: pd.DataFrame, target: str, classification: bool) -> pd.DataFrame:
    return pd.get_dummies(frame[target].astype(str), dtype=float) if classification else frame[[target]].astype(float)


def _explained(y: pd.DataFrame, groups: pd.Series) -> float:
    """Share of the variance of `y` that the group means explain, adjusted for the number of groups (as R²
    is for the number of coefficients): without it, a hundred crossed bins fit noise and beat a binary
    feature that truly predicts."""
    n, k = len(y), groups.nunique()
    total = float(((y - y.mean()) ** 2).to_numpy().sum()) or 1.0
    fitted = y.groupby(groups.to_numpy()).transform("mean")
    within = float(((y - fitted) ** 2).to_numpy().sum())
    return 1 - (within / max(n - k, 1)) / (total / max(n - 1, 1))


def _bins(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 10:
        return pd.qcut(values.rank(method="first"), 10, labels=False).fillna(-1).astype(int).astype(str)
    text = values.astype(str).where(values.notna(), "<missing>")
    common = text.value_counts().index[:10]
    return text.where(text.isin(common), "<other>")


def numeric_features(frame: pd.DataFrame, target: str) -> list[str]:
    return [c for c in frame.columns if c != target and pd.api.types.is_numeric_dtype(frame[c])]


def classes_text(labels: pd.Series) -> str:
    values = sorted(map(str, labels.unique()))
    shown = ", ".join(values[:12]) + (f", ... ({len(values)} in all)" if len(values) > 12 else "")
    return f"{len(values)} classes: {shown}"


def train_fraction_note(fraction: float) -> str | None:
    if fraction >= 1:
        return None
    return (f"Small-data setting: training holds only {fraction:.0%} of the rows a full 60% split would give; "
            "validation and test are full size.")


def dropped_feature_note(feature: str) -> str:
    return (f"The most informative single feature, `{feature}`, has been withheld from every split (think of "
            "it as unavailable at prediction time): the other features must carry the signal.")


def require(condition: bool, entry: DatasetEntry, problem: str) -> None:
    """Knobs that do not fit the data are the caller's cue to sample others."""
    if not condition:
        raise TaskError(f"{entry.id}: {problem}; sample other knobs or another dataset")
