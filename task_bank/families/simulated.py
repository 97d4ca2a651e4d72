"""Simulated outcomes on real covariates: a table's own columns, with a target drawn from a hidden seeded function
of them, as semi-synthetic benchmarks (IHDP, ACIC) do.

Why: on the catalog's public tables an honest linear baseline and boosting with its defaults already reach what
the data allows, and anyone holding the table can look the real target up. A simulated target keeps what makes
the data real (the columns' distributions, correlations, missing values and categories) while no public table
holds it, and its structure leaves room above the defaults that a practitioner can find: a linear part and smooth
nonlinear functions of random projections of the numeric columns (directions no single column follows, which
trees split one column at a time fit slowly and a neural network or a projection-aware model fits well), a
categorical column's level effects, and noise of a known share of the variance.

    frame, outcome = simulate(frame, real_target, seed, signal=0.8)   # the real target's column is dropped
    frame = to_classes(frame, outcome, shares=(0.7, 0.3))   # or cut into classes: "no", "yes"

The function is drawn from the seed alone; a column's values enter standardised, clipped to their 1st and 99th
percentiles (missing values at the mean).
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from synthml.errors import TaskError
from synthml.task_bank.catalog import DatasetEntry, get_entry, load_table
from synthml.task_bank.families import common

SHARES = {"linear": 0.3, "ridges": 0.6, "levels": 0.1}
"""Shares of the function's variance by part, before the noise (renormalised where a part is missing)."""
SHAPES = {"bend": lambda u: np.tanh(1.5 * u), "wave": lambda u: np.sin(1.5 * u), "bowl": lambda u: u ** 2}
"""Nonlinear functions of a standardised projection."""
RIDGES = 2
"""Nonlinear functions of dense projections of the numeric columns in the function."""
LEVELS = 12
"""A categorical column's commonest levels that get an effect of their own (the rest share one)."""
MIN_NUMERIC = 3
"""Numeric columns a table needs: with fewer, a projection is nearly a column, and trees fit it as well."""
MIN_ROWS = 1000
"""Rows a table needs: on the 200 test rows of a smaller one, the reference's edge over the default is rarely
reliable (the bootstrap interval of the gap spans zero)."""
NAME = "outcome"
SIGNALS = (0.95, 0.99)
"""Shares of the simulated number's variance that its function explains, as families sample them. More noise
blurs the test rows so much that a model's real edge over boosting's defaults no longer shows reliably on a few
hundred of them: what sets the tasks apart is how well the function is learnt, not how noise is averaged."""


@dataclass(frozen=True)
class Outcome:
    name: str
    """The simulated target's column."""
    signal: float
    """Share of the target's variance the function explains (the rest is noise)."""


def accepts(entry: DatasetEntry) -> bool:
    """Whether a catalog table suits a simulated target: MIN_ROWS rows and MIN_NUMERIC numeric features."""
    return entry.rows >= MIN_ROWS and common.enough_rows(entry) and _numeric_features(entry.id) >= MIN_NUMERIC


@cache
def _numeric_features(entry_id: str) -> int:
    entry = get_entry(entry_id)
    return len(_numeric_columns(load_table(entry).drop(columns=[entry.target])))


def simulate(frame: pd.DataFrame, real_target: str, seed: int, *, signal: float) -> tuple[pd.DataFrame, Outcome]:
    """The frame with its real target dropped and a simulated numeric outcome added (mean 0, variance 1, rounded
    to 4 decimals): the seeded function of its columns plus Gaussian noise of share 1 - signal."""
    rng = np.random.default_rng([seed, 20261207])
    features = frame.drop(columns=[real_target])
    numeric = _numeric_columns(features)
    if len(numeric) < MIN_NUMERIC:
        raise TaskError(f"{len(numeric)} numeric column(s) with three values or more; a simulated outcome needs "
                        f"{MIN_NUMERIC}")
    scaled = np.column_stack([_standard_scores(features[c]) for c in numeric])
    parts = [(SHARES["linear"], scaled @ rng.standard_normal(len(numeric)), numeric),
             (SHARES["ridges"], _ridges(scaled, rng), numeric), _level_effect(features, numeric, rng)]
    parts = [(share, values, used) for share, values, used in parts if used]
    total = sum(share for share, _, _ in parts)
    latent = _standard(sum(np.sqrt(share / total) * _standard(values) for share, values, _ in parts))
    noisy = np.sqrt(signal) * latent + np.sqrt(1 - signal) * rng.standard_normal(len(frame))
    name = _free_name(features.columns)
    return features.assign(**{name: np.round(noisy, 4)}), Outcome(name, signal)


def to_classes(frame: pd.DataFrame, outcome: Outcome, shares: tuple[float, ...]) -> pd.DataFrame:
    """The outcome cut at its quantiles into classes of the given shares, lowest first (CLASSES' labels)."""
    values = frame[outcome.name].to_numpy()
    edges = np.quantile(values, np.cumsum(shares)[:-1])
    labels = np.asarray(CLASSES[len(shares)], dtype=object)
    return frame.assign(**{outcome.name: labels[np.searchsorted(edges, values, side="right")]})


def _ridges(scaled: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A sum of RIDGES nonlinear functions, each of its own random projection of every numeric column: smooth
    in directions no single column follows, so that trees, which split one column at a time, fit them slowly."""
    shapes = rng.choice(sorted(SHAPES), size=RIDGES)
    return sum(_weight(rng) * _standard(SHAPES[shape](_standard(scaled @ rng.standard_normal(scaled.shape[1]))))
               for shape in shapes)


def _level_effect(features: pd.DataFrame, numeric: list[str], rng: np.random.Generator):
    """One categorical column (or one of few values) with an effect per common level, where there is one."""
    candidates = sorted(c for c in features.columns if c not in numeric and features[c].nunique() >= 2)
    if not candidates:
        return SHARES["levels"], 0.0, []
    column = candidates[int(rng.integers(len(candidates)))]
    text = features[column].astype(str).where(features[column].notna(), "<missing>")
    common = text.value_counts().index[:LEVELS]
    effect = dict(zip(common, rng.standard_normal(len(common)), strict=True))
    values = text.map(effect).fillna(0.0).to_numpy(float)
    return SHARES["levels"], values, [column] if np.std(values) > 0 else []


def _weight(rng: np.random.Generator) -> float:
    return float(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5))


def _standard_scores(values: pd.Series) -> np.ndarray:
    """Standardised values, clipped to their 1st and 99th percentiles first (missing: 0, the mean)."""
    numbers = values.astype(float)
    low, high = numbers.quantile([0.01, 0.99])
    clipped = numbers.clip(low, high).to_numpy()
    spread = np.nanstd(clipped)
    return np.nan_to_num((clipped - np.nanmean(clipped)) / (spread if spread > 0 else 1.0), nan=0.0)


def _standard(values: np.ndarray) -> np.ndarray:
    spread = np.std(values)
    return (values - np.mean(values)) / (spread if spread > 0 else 1.0)


def _numeric_columns(features: pd.DataFrame) -> list[str]:
    """Numeric columns of three values or more (a 0/1 flag is no axis for a smooth function)."""
    return [c for c in features.columns if _numeric(features[c]) and features[c].nunique() > 2]


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _free_name(columns: pd.Index) -> str:
    name = NAME
    while name in columns:
        name = f"simulated_{name}"
    return name


CLASSES = {2: ("no", "yes"), 3: ("low", "medium", "high")}
"""Labels of the classes a simulated number is cut into, lowest first."""


def classes_text(shares: tuple[float, ...]) -> str:
    """The classes a number is cut into with their shares, as a statement lists them: "no (70%), yes (30%), lowest
    first"."""
    listed = ", ".join(f"{label} ({share:.0%})" for label, share in zip(CLASSES[len(shares)], shares, strict=True))
    return f"{listed}, lowest first"


def statement_note(outcome: Outcome, real_target: str, title: str, shares: tuple[float, ...] = ()) -> str:
    """What the statement says of the target: simulated, of what kind, how noisy, and for classes how they were
    cut; never the function."""
    number = "a number" if shares else f"`{outcome.name}`"
    cut = (f" `{outcome.name}` is that number cut at its quantiles into the classes {classes_text(shares)}."
           if shares else "")
    return (f"{number[0].upper()}{number[1:]} is simulated, not measured: a hidden function of the {title} columns "
            "(a linear part, smooth nonlinear functions of weighted sums of the numeric columns, and effects of one "
            "categorical column's levels where there is one) plus random noise that makes up about "
            f"{1 - outcome.signal:.0%} of its variance.{cut} The data's real target, "
            f"`{real_target}`, was removed; the columns are the real data's.")
