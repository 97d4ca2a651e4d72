"""Disguise: rows of a public table that are hard to look up in it, with what there is to learn kept.

A catalog task's rows come from a public table; an agent holding it finds each test row there and copies its
target (task_bank/lookup.py). Noise does not stop that: in many dimensions a noisy row stays nearer its own
source row than any other (digits with pixel noise of 4 grey levels are all found). A disguised row instead
blends its own row with PARTNERS others drawn among its POOL nearest neighbours, with random weights (flat
Dirichlet, so the row's own weight is no larger than a partner's, in law): the blend's nearest source row is
then a partner about as often as the row itself, and only the row's neighbourhood tells its target, as it does
a model. Neighbours are near in the features that tell the target (each feature weighted by the share of the
target's variance its bins explain): a blend moves those little, and mixes the uninformative ones freely. The
target is the row's own, of any class.

Numbers become the blend's weighted mean (rounded where the column holds whole numbers); a category comes from
one blended row, drawn with the weights; a text is spans of the blended texts, in proportion to the weights. A
series keeps its trend and seasonal pattern; its remainder is redrawn (moving blocks of a season) and a random
walk is added to its level.

    frame = disguise(frame, target, seed, kind)   # after cleaning, before splitting; same rows and columns
    note = statement_note(kind)                   # one sentence for the task statement

What it costs and buys, measured on catalog tables (the lookup probe, a linear model and gradient boosting, before
and after): see tests/test_lookup.py and the report that introduced this file.
"""

from typing import Literal

import numpy as np
import pandas as pd

from synthml.task_bank.lookup import TEXT_WORDS, SourceIndex

Kind = Literal["classification", "regression", "image", "text", "series"]
PARTNERS = 4
"""Rows blended into each row (the blend holds PARTNERS + 1 rows): the row is the blend's nearest member in about
1 / (PARTNERS + 1) of rows, and more partners blur the features more."""
POOL = 8
"""Partners are drawn among this many nearest neighbours."""
FLOOR = 0.01
"""The least weight of a feature in the neighbours' distance, as a share of the most informative one's."""
DRIFT = 0.3
"""A series' level walks by steps of this many times its remainder's spread over a season. On ten forecasting tasks
(validator, lookup rejection on): 1.0 left none accepted (the reference seldom reliably above seasonal naive with
drift), 0.3 four (five fell to the lookup), 0 one."""
NOTES = {
    "classification": "To keep the rows from being looked up in the public table they come from, each row's "
                      f"features were blended with those of {PARTNERS} rows near it (random weights; a category is "
                      f"taken from one of the {PARTNERS + 1}); its label is its own.",
    "regression": "To keep the rows from being looked up in the public table they come from, each row's features "
                  f"were blended with those of {PARTNERS} rows near it (random weights; a category is taken from "
                  f"one of the {PARTNERS + 1}); its target is its own.",
    "image": "To keep the images from being looked up in the public set they come from, each image was blended "
             f"with {PARTNERS} images near it (random weights, any class); its label is its own.",
    "text": "To keep the documents from being looked up in the public corpus they come from, each document is "
            f"spliced from passages of itself and of {PARTNERS} documents near it (random shares, any class); its "
            "label is its own.",
    "series": "To keep the series from being looked up in the public data it comes from, its irregular part was "
              "resampled and a slow random drift added to its level; its trend and seasonal pattern are the real "
              "series'.",
}


def statement_note(kind: Kind) -> str:
    """What `disguise` did, in one sentence for the task statement."""
    return NOTES[kind]


def disguise(frame: pd.DataFrame, target: str, seed: int, kind: Kind, *, time_column: str | None = None,
             season: int | None = None, partners: int = PARTNERS, pool: int = POOL,
             drift: float = DRIFT) -> pd.DataFrame:
    """`frame` with each row's features blended with `partners` of its `pool` nearest rows (see the module's
    docstring); for `kind="series"`, the series ordered by `time_column` and resampled. Same columns and rows (a
    series sorted by time), same targets (a series' values change)."""
    rng = np.random.default_rng(seed)
    if kind == "series":
        return _series(frame, target, rng, time_column, season, drift)
    frame = frame.reset_index(drop=True)
    features = [c for c in frame.columns if c != target]
    weights = relevance(frame, target, classification=kind != "regression")
    members = _members(frame[features], partners, pool, rng, one_unit=kind == "image", weights=weights)
    shares = rng.dirichlet(np.ones(members.shape[1]), size=len(frame))
    out = frame.copy()
    for column in features:
        if _kind(frame[column]) == "text":
            out[column] = _spliced(frame[column], members, shares, rng)
        elif _kind(frame[column]) == "numeric":
            out[column] = _blended(frame[column], members, shares)
        else:
            out[column] = _drawn(frame[column], members, shares, rng)
    return out


def relevance(frame: pd.DataFrame, target: str, *, classification: bool) -> dict[str, float]:
    """Each feature's share of the target's variance that its bins explain (ten quantile bins for numbers, the ten
    commonest values otherwise), adjusted for the number of bins, over the largest share; at least FLOOR."""
    y = pd.get_dummies(frame[target].astype(str), dtype=float) if classification else frame[[target]].astype(float)
    total = float(((y - y.mean()) ** 2).to_numpy().sum()) or 1.0
    scores = {}
    for column in (c for c in frame.columns if c != target):
        within = float(((y - y.groupby(_bins(frame[column])).transform("mean")) ** 2).to_numpy().sum())
        groups = len(np.unique(_bins(frame[column])))
        scores[column] = max(0.0, 1 - (within / max(len(y) - groups, 1)) / (total / max(len(y) - 1, 1)))
    top = max(scores.values(), default=0.0) or 1.0
    return {column: max(score / top, FLOOR) for column, score in scores.items()}


def _bins(values: pd.Series) -> np.ndarray:
    if _kind(values) == "numeric" and values.nunique() > 10:
        return pd.qcut(values.rank(method="first"), 10, labels=False).fillna(-1).astype(int).to_numpy()
    text = values.astype(str)
    return text.where(text.isin(text.value_counts().index[:10]), "<other>").to_numpy()


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return "numeric"
    words = values.head(500).astype(str).str.split().str.len().mean()
    textual = values.dtype == object or pd.api.types.is_string_dtype(values)  # pandas 3 reads text as `str`
    return "text" if textual and words >= TEXT_WORDS else "category"


def _members(features: pd.DataFrame, partners: int, pool: int, rng: np.random.Generator, *, one_unit: bool,
             weights: dict[str, float]) -> np.ndarray:
    """Each row's blend: its own position, then `partners` drawn among its `pool` nearest other rows."""
    kinds = {column: _kind(features[column]) for column in features.columns}
    pool = min(pool, len(features) - 1)
    partners = min(partners, pool)
    if list(kinds.values()) == ["text"]:
        nearest = _text_neighbours(features.iloc[:, 0], pool + 1)
    else:
        nearest = SourceIndex(features, kinds, one_unit=one_unit, weights=weights).neighbours(features, pool + 1)
    own = np.arange(len(features))
    last = np.argsort(nearest == own[:, None], axis=1, kind="stable")  # the row itself last, wherever ties put it
    others = np.take_along_axis(nearest, last, axis=1)[:, :pool]
    chosen = np.argsort(rng.random(others.shape), axis=1)[:, :partners]
    return np.column_stack([own, np.take_along_axis(others, chosen, axis=1)])


def _text_neighbours(texts: pd.Series, count: int) -> np.ndarray:
    """Each text's `count` nearest texts by the cosine of their tf-idf word vectors: documents on the same topic
    (the lookup's matching on rare words finds a text itself, but not its topical neighbours)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import NearestNeighbors

    vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(texts.fillna("").astype(str))
    return NearestNeighbors(n_neighbors=count, metric="cosine").fit(vectors).kneighbors(vectors,
                                                                                        return_distance=False)


def _blended(values: pd.Series, members: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """The members' weighted mean (weights renormalised over the values present), rounded where the column holds
    whole numbers."""
    table = values.to_numpy(dtype=float)[members]
    present = ~np.isnan(table)
    with np.errstate(invalid="ignore", divide="ignore"):
        blended = (np.nan_to_num(table) * shares).sum(axis=1) / (shares * present).sum(axis=1)
    known = values.dropna().to_numpy(dtype=float)
    return np.round(blended) if len(known) and np.all(np.mod(known, 1) == 0) else blended


def _drawn(values: pd.Series, members: np.ndarray, shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One member's value per row, drawn with the blend's weights."""
    pick = np.minimum((rng.random((len(shares), 1)) > np.cumsum(shares, axis=1)).sum(axis=1), members.shape[1] - 1)
    return values.to_numpy()[members[np.arange(len(members)), pick]]


def _spliced(values: pd.Series, members: np.ndarray, shares: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Each text made of one span of each member's words, as long as the member's weight times the row's own
    length, the spans in random order."""
    words = [str(text).split() for text in values.fillna("")]
    out = []
    for row, (blend, weights) in enumerate(zip(members, shares, strict=True)):
        spans = []
        for member, weight in zip(blend, weights, strict=True):
            take = min(len(words[member]), round(weight * len(words[row])))
            start = int(rng.integers(0, len(words[member]) - take + 1))
            spans.append(words[member][start:start + take])
        out.append(" ".join(word for i in rng.permutation(len(spans)) for word in spans[i]))
    return out


# ---- series ---------------------------------------------------------------------------------------


def _series(frame: pd.DataFrame, target: str, rng: np.random.Generator, time_column: str | None,
            season: int | None, drift: float) -> pd.DataFrame:
    """Trend (a centred moving average over a season) + seasonal pattern (mean detrended value by phase) +
    remainder, on the log scale where the series is positive: the remainder redrawn in moving blocks of a season
    (at least 4 points), and a random walk added whose steps are `drift` times the remainder's spread over a
    season, divided by the square root of the season."""
    out = frame.sort_values(time_column, kind="stable") if time_column else frame
    out = out.reset_index(drop=True).copy()
    y = out[target].to_numpy(dtype=float)
    log = bool(np.all(y > 0))
    z = np.log(y) if log else y
    period = max(season or 1, 1)
    window = 2 * (period // 2) + 1 if period > 1 else 5
    trend = pd.Series(z).rolling(window, center=True, min_periods=1).mean().to_numpy()
    phase = np.arange(len(z)) % period
    pattern = pd.Series(z - trend).groupby(phase).transform("mean").to_numpy()
    pattern = pattern - pattern.mean()
    rest = z - trend - pattern
    block = min(max(period, 4), len(z))
    starts = rng.integers(0, len(z) - block + 1, len(z) // block + 1)
    redrawn = np.concatenate([rest[i:i + block] for i in starts])[: len(z)]
    walk = np.cumsum(rng.normal(0, drift * rest.std() / np.sqrt(period), len(z)))
    new = trend + pattern + redrawn + walk
    out[target] = np.exp(new) if log else new
    return out
