"""What the families share: metric names, table cleaning, seeded splits, feature ranking, notes.

Numpy and pandas only: generating tasks needs no scikit-learn on the host.
"""

import random
from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthml.errors import TaskError
from synthml.task_bank.catalog import DatasetEntry
from synthml.tasks.schema import Metric

METRIC_DIRECTIONS = {"accuracy": "max", "balanced_accuracy": "max", "f1_macro": "max", "expected_cost": "min",
                     "rmse": "min", "mae": "min", "r2": "max", "smape": "min"}
TABULAR_TYPES = ("binary", "multiclass", "imbalanced", "regression")
"""Catalog task types of plain tables, any of which a simulated target (families/simulated.py) can sit on."""
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro")
REGRESSION_METRICS = ("rmse", "mae", "r2")
TRAIN_FRACTIONS = (1.0, 0.5, 0.25)
MIN_TRAIN_ROWS = 100
"""Training keeps at least this many rows."""
MIN_SMALL_TRAIN_ROWS = 500
"""A small-data setting (a fraction of the training split) keeps at least this many rows: on fewer, every model
is so unsure that a better choice seldom shows reliably (in two 100-candidate banks, 4 of 16 tabular tasks with
fewer training rows were accepted, 8 of 16 with more, 9 of 12 with the whole training split)."""
MIN_TEST_ROWS = 200
"""Validation and test each hold at least this many rows (tables, text, images): on fewer, the bootstrap
interval of the gap between two good models is wider than the gap, and which wins is mostly chance."""
SPLIT = (0.6, 0.2, 0.2)
"""Train, validation and test shares of a table large enough; smaller tables give validation and test
MIN_TEST_ROWS each and train the rest."""
MAX_ROWS = 20_000
"""Larger tables are subsampled, so that baselines and references stay within seconds."""
MIN_CLASS_ROWS = 10
"""Rarer classes are dropped: every split must see each class."""
MIN_R2 = 0.05
"""R² is a metric only where a least-squares fit on the features explains at least this share of the
variance of validation and test: where every model does worse than predicting the mean, R² ranks failures."""


def metrics(primary: str, group: Sequence[str]) -> tuple[Metric, ...]:
    """The primary metric first, then the rest of its group for information."""
    names = [primary, *(m for m in group if m != primary)]
    return tuple(Metric(name=n, direction=METRIC_DIRECTIONS[n]) for n in names)


def pick(rng: random.Random, options: Sequence):
    return options[rng.randrange(len(options))]


def train_fraction(rng: random.Random, entry: DatasetEntry) -> float:
    """A share of the training split to keep: all of it, or a fraction that keeps MIN_SMALL_TRAIN_ROWS."""
    return pick(rng, [f for f in TRAIN_FRACTIONS if f == 1 or split_sizes(entry.rows)[0] * f >= MIN_SMALL_TRAIN_ROWS])


def enough_rows(entry: DatasetEntry) -> bool:
    """Whether the table can give validation and test MIN_TEST_ROWS each and train MIN_TRAIN_ROWS."""
    return split_sizes(entry.rows)[0] >= MIN_TRAIN_ROWS


def split_sizes(rows: int) -> tuple[int, int, int]:
    """Rows of train, validation and test: 60/20/20, validation and test MIN_TEST_ROWS at least."""
    held = max(round(SPLIT[2] * rows), MIN_TEST_ROWS)
    return rows - 2 * held, held, held


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
    """Shuffled parts of `frame` with the given fractions (sizes rounded, summing to all rows), stratified by
    `strata` when given: each stratum's rows, in seeded order, are spread evenly over [0, 1) from a random
    phase, and the parts cut that order, so each part holds its share of every stratum to within a row."""
    rng = np.random.default_rng(seed)
    keys = np.zeros(len(frame), dtype=int) if strata is None else pd.factorize(strata.astype(str), sort=True)[0]
    position = np.zeros(len(frame))
    for key in np.unique(keys):
        rows = rng.permutation(np.flatnonzero(keys == key))
        position[rows] = (np.arange(len(rows)) + rng.random()) / len(rows)
    order = np.lexsort((rng.random(len(frame)), position))
    cuts = np.round(np.cumsum(fractions)[:-1] * len(frame)).astype(int)
    return [frame.iloc[rng.permutation(part)].reset_index(drop=True) for part in np.split(order, cuts)]


def take_fraction(frame: pd.DataFrame, fraction: float, seed: int, strata: pd.Series | None = None) -> pd.DataFrame:
    if fraction >= 1:
        return frame
    return split_rows(frame, seed + 1, (fraction, 1 - fraction), strata)[0]


def split_table(entry: DatasetEntry, frame: pd.DataFrame, seed: int, *, classification: bool,
                train_fraction: float = 1.0, target: str | None = None) -> list[pd.DataFrame]:
    """Train, validation and test (`split_sizes`, stratified by `target`, the entry's by default, for
    classification); train cut to its fraction. Raises TaskError where the table is too small or a class misses
    a split."""
    target = target or entry.target
    n_train, held, _ = split_sizes(len(frame))
    require(n_train * train_fraction >= MIN_TRAIN_ROWS, entry, f"{len(frame)} rows cannot give validation and "
            f"test {MIN_TEST_ROWS} rows each and training {MIN_TRAIN_ROWS} (train fraction {train_fraction:g})")
    strata = frame[target] if classification else None
    parts = split_rows(frame, seed, (n_train / len(frame), held / len(frame), held / len(frame)), strata)
    parts[0] = take_fraction(parts[0], train_fraction, seed, parts[0][target] if classification else None)
    if classification:
        require_every_class(entry, parts, target)
    return parts


def require_every_class(entry: DatasetEntry, parts: Sequence[pd.DataFrame], target: str | None = None) -> None:
    """Every class of the task (`target`, the entry's by default) occurs in train, validation and test."""
    target = target or entry.target
    labels = [set(part[target].astype(str)) for part in parts]
    for name, seen in zip(("train", "validation", "test"), labels, strict=False):
        missing = set().union(*labels) - seen
        require(not missing, entry, f"class(es) {sorted(missing)} of `{target}` never occur in {name}")


def require_test_rows(entry: DatasetEntry, parts: Sequence[pd.DataFrame], least: int = MIN_TEST_ROWS) -> None:
    """Validation and test hold `least` rows each."""
    sizes = [len(p) for p in parts[1:]]
    require(min(sizes) >= least, entry, f"validation and test hold {sizes} rows; each needs {least}")


def regression_metrics(entry: DatasetEntry, primary: str, parts: Sequence[pd.DataFrame],
                       target: str | None = None) -> tuple[Metric, ...]:
    """The primary metric, then the other regression metrics; R² only where it means something
    (`linear_r2` of `target`, the entry's by default, reaches MIN_R2 on validation and test), and as the primary
    metric it must."""
    meaningful = all(linear_r2(parts[0], part, target or entry.target) >= MIN_R2 for part in parts[1:])
    require(meaningful or primary != "r2", entry, "a least-squares fit explains less than "
            f"{MIN_R2:.0%} of the variance of validation or test, so R² would rank models all worse than the mean")
    return metrics(primary, [m for m in REGRESSION_METRICS if meaningful or m != "r2"])


def linear_r2(train: pd.DataFrame, rows: pd.DataFrame, target: str) -> float:
    """R² on `rows` of a ridge fit (numpy) on train: numeric features standardised, missing values at the
    training mean, the 20 commonest levels of the others one-hot."""
    def design(part: pd.DataFrame) -> np.ndarray:
        columns = []
        for c in (c for c in train.columns if c != target):
            if pd.api.types.is_numeric_dtype(train[c]) and not pd.api.types.is_bool_dtype(train[c]):
                mean, std = train[c].mean(), train[c].std() or 1.0
                columns.append(((part[c].astype(float) - mean) / std).fillna(0.0).to_numpy()[:, None])
            else:
                levels = train[c].astype(str).value_counts().index[:20]
                columns.append((part[c].astype(str).to_numpy()[:, None] == np.asarray(levels)[None, :]) * 1.0)
        return np.hstack([np.ones((len(part), 1)), *columns])

    x, y = design(train), train[target].to_numpy(float)
    penalty = np.eye(x.shape[1]) * 1.0
    penalty[0, 0] = 0.0
    coef = np.linalg.solve(x.T @ x + penalty, x.T @ y)
    truth = rows[target].to_numpy(float)
    total = float(np.sum((truth - truth.mean()) ** 2)) or 1.0
    return 1 - float(np.sum((truth - design(rows) @ coef) ** 2)) / total


def rank_features(frame: pd.DataFrame, target: str, *, classification: bool) -> list[str]:
    """Features by the share of the target's variance their bins explain (correlation ratio, adjusted for the
    number of bins), best first. Numeric features fall in ten quantile bins, categorical ones in their ten
    commonest values."""
    y = _target_matrix(frame, target, classification)
    scores = {c: _explained(y, _bins(frame[c])) for c in frame.columns if c != target}
    return sorted(scores, key=lambda c: (-round(scores[c], 12), c))


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
