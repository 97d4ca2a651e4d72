"""The lookup probe: the submission an agent would write if it held the public table a task was built from.

A catalog task's rows come from a public table (its `provenance.dataset.id`). Anyone who holds that table can
match each visible test row to its nearest source row and copy that row's target: no model, and a perfect score
on an untransformed task. This module writes that submission, and the same matching against the task's own training
rows (`neighbour_probe`, a model that holds no table); the validator scores both like any other probe and rejects a
task whose lookup beats the baseline and, reliably, the neighbour model (`lookup`). A forecasting task's lookup is
a forecaster holding the public series (`forecast_lookup`), judged against the task's reference.

Matching is over the columns the rows share with the source: numeric ones standardised by the source's
statistics (Euclidean; a value missing on one side only counts 1), others by mismatch (1 each), free text by
word-set Jaccard distance (0 for the same text). The source's target becomes the task's through the training
rows, matched the same way: a relabelled target (one class against the rest, 0/1 for a class) or a rescaled one
does not hide it. Numpy and pandas only, chunked: well under a second for tables of 20,000 rows.
"""

from string import Template
from typing import Literal

import numpy as np
import pandas as pd

from synthml.task_bank.catalog import DatasetEntry, catalog, get_entry, load_table
from synthml.task_bank.host_scorer import host_scorer
from synthml.task_bank.leakage import Probe
from synthml.tasks.task import Task

Split = Literal["validation", "test"]
CHUNK = 512
"""Query rows per block of the distance matrix (a block of 512 x 20,000 float32 is 40 MB)."""
MAPPING_ROWS = 1000
"""Training rows matched to learn how the source's target maps to the task's."""
TEXT_WORDS = 5
"""A string column whose values average this many words or more is free text."""
RAREST = 20
CANDIDATES = 5
"""A text is compared with the CANDIDATES source texts sharing the most of its RAREST words (fewest source texts)."""
EXACT = 1e-4
"""A squared distance (in standardised units) this small is the same row, up to float32 rounding."""


def lookup_probes(task: Task) -> list[Probe]:
    """The lookup submission for the task's first submission file (`id,<target>` for the test rows); none for a
    task not built from a catalog table or sharing no column with it."""
    entry = catalog_entry(task)
    if entry is None or not task.submission_files:
        return []
    if task.config.task_entrypoint == "PythonSubmissionTasks":
        return [forecast_lookup(task, entry)] if task.path(SERIES).is_file() else []
    found = lookup_predictions(task, "test", entry)
    if found is None:
        return []
    predictions, exact = found
    source = f"lookup: nearest rows of the public table {entry.id}"
    return [Probe(source, predictions.to_csv(index=False, lineterminator="\n"), exact)]


_FORECASTER = '''"""The lookup: the public table's values after the history, moved to the history's level over its last
SPAN points (on the log scale for a positive series)."""
import math

PUBLIC = $public
SPAN, LOG = $span, $log


def forecast(history, horizon):
    t, scale = len(history), (math.log if LOG else float)
    shift = sum(map(scale, history[-SPAN:])) / SPAN - sum(map(scale, PUBLIC[t - SPAN:t])) / SPAN
    values = [scale(v) + shift for v in PUBLIC[t:t + horizon]]
    return [math.exp(v) for v in values] if LOG else values
'''
SERIES = "series.csv"
"""A forecasting program task's visible history (task_bank/families/timeseries_forecasting.py)."""


def forecast_lookup(task: Task, entry: DatasetEntry) -> Probe:
    """A forecaster that reads the public series at the window's positions: it holds the source table's values
    from series.csv's first timestamp on, and the evaluator's history tells it where the window starts. The
    disguise moves the series' level (families/disguise.py), so it aligns the level over the last season."""
    history = pd.read_csv(task.path(SERIES))
    table = load_table(entry).dropna(subset=[entry.target]).sort_values(entry.time_column, kind="stable")
    times = table[entry.time_column].astype(str).tolist()
    first = str(history[entry.time_column].iloc[0])
    public = table[entry.target].to_numpy(float)[times.index(first) if first in times else 0:]
    span = min(max(entry.season or 1, 4), 24, len(history))
    positive = bool((public > 0).all() and (history[entry.target] > 0).all())
    code = Template(_FORECASTER).substitute(public=repr([round(float(v), 6) for v in public]), span=span,
                                            log=positive)
    return Probe(f"lookup: the public series {entry.id} after each history", code, 0.0)


def neighbour_probe(task: Task) -> Probe | None:
    """The same matching with the task's own training rows as the table (`id,<target>` for the test rows): a
    nearest-neighbour model, no public table. Where the rows are disguised (families/disguise.py), the lookup's
    edge over this, not over the baseline, is what holding the public table is worth."""
    entry = catalog_entry(task)
    if entry is None or task.config.task_entrypoint == "PythonSubmissionTasks":
        return None
    target = _target_name(task, entry)
    rows, train = pd.read_csv(task.path("data/test.csv")), pd.read_csv(task.path("data/train.csv"))
    kinds = column_kinds(rows, train, entry, exclude={"id", target, entry.target})
    if not kinds or target not in train:
        return None
    position, _ = SourceIndex(train, kinds, one_unit=entry.task_type == "image").nearest(rows)
    predictions = pd.DataFrame({"id": rows["id"], target: train[target].to_numpy()[position]})
    return Probe("nearest training rows (no public table)", predictions.to_csv(index=False, lineterminator="\n"), 0.0)


def catalog_entry(task: Task) -> DatasetEntry | None:
    dataset = task.config.provenance.dataset if task.config.provenance else None
    if dataset is None or dataset.id not in {entry.id for entry in catalog()}:
        return None
    return get_entry(dataset.id)


def lookup_predictions(task: Task, split: Split = "test",
                       entry: DatasetEntry | None = None) -> tuple[pd.DataFrame, float] | None:
    """(predictions `id,<target>` for the split's visible rows, share of rows found exactly in the source), or
    None when the task has no catalog table or shares no column with it."""
    entry = entry or catalog_entry(task)
    if entry is None:
        return None
    target = _target_name(task, entry)
    rows = pd.read_csv(task.path(f"data/{split}.csv"))
    train = pd.read_csv(task.path("data/train.csv"))
    source = _source_view(entry, load_table(entry), rows.columns)
    kinds = column_kinds(rows, source, entry, exclude={"id", target, entry.target})
    if not kinds or target not in train:
        return None
    index = SourceIndex(source, kinds, one_unit=entry.task_type == "image")
    position, distance = index.nearest(rows)
    found = source[entry.target].to_numpy()[position]
    sample = train.sample(n=min(len(train), MAPPING_ROWS), random_state=0)
    seen = source[entry.target].to_numpy()[index.nearest(sample)[0]]
    predicted = _translate(found, seen, sample[target], classification=_classification(task, sample[target]))
    return pd.DataFrame({"id": rows["id"], target: predicted}), float(np.mean(distance <= EXACT))


def _target_name(task: Task, entry: DatasetEntry) -> str:
    sample = task.config.sample_submission
    if sample and task.path(sample).is_file():
        columns = pd.read_csv(task.path(sample), nrows=0).columns
        if len(columns) == 2 and columns[0] == "id":
            return columns[1]
    return entry.target


def _source_view(entry: DatasetEntry, table: pd.DataFrame, columns: pd.Index) -> pd.DataFrame:
    """The source table as the task shows it: 8x8 images averaged to 4x4 where the task's pixels are `q0...`."""
    pixels = [c for c in table.columns if c != entry.target]
    side = round(len(pixels) ** 0.5)
    if entry.task_type != "image" or not set(columns) >= {f"q{i}" for i in range((side // 2) ** 2)}:
        return table
    values = table[pixels].to_numpy(float).reshape(len(table), side // 2, 2, side // 2, 2)
    blocks = values.mean(axis=(2, 4)).reshape(len(table), -1)
    view = pd.DataFrame(blocks, columns=[f"q{i}" for i in range(blocks.shape[1])])
    return view.assign(**{entry.target: table[entry.target].to_numpy()})


# ---- matching -----------------------------------------------------------------------------------


def column_kinds(rows: pd.DataFrame, source: pd.DataFrame, entry: DatasetEntry,
                 exclude: set[str]) -> dict[str, str]:
    """Each column the rows share with the source: 'numeric', 'text' or 'category'."""
    kinds = {}
    for column in rows.columns:
        if column in exclude or column not in source.columns:
            continue
        if _numeric(source[column]) and _numeric(rows[column]):
            kinds[column] = "numeric"
        else:
            words = source[column].head(500).astype(str).str.split().str.len().mean()
            kinds[column] = "text" if words >= TEXT_WORDS else "category"
    return kinds


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def nearest_rows(rows: pd.DataFrame, source: pd.DataFrame, kinds: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the position of its nearest source row over the `kinds` columns, and the squared distance."""
    return SourceIndex(source, kinds).nearest(rows)


class SourceIndex:
    """A source table prepared for matching rows over the `kinds` columns: numeric columns (Euclidean),
    categories (1 per mismatch), free text (squared Jaccard distance of word sets, 0 for the same text). Numbers
    are in units of each column's standard deviation, or of all of them together where they share one unit
    (`one_unit`, e.g. pixels: a nearly constant pixel must not outweigh the others)."""

    def __init__(self, source: pd.DataFrame, kinds: dict[str, str], one_unit: bool = False) -> None:
        self.kinds = kinds
        numeric = [c for c, kind in kinds.items() if kind == "numeric"]
        self.numbers = _Numbers(source, numeric, one_unit)
        self.categories = {c: source[c] for c, kind in kinds.items() if kind == "category"}
        self.texts = {c: _Texts(source[c]) for c, kind in kinds.items() if kind == "text"}

    def nearest(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """For each row, the position of its nearest source row and the squared distance to it."""
        position, distance = np.zeros(len(rows), dtype=int), np.zeros(len(rows))
        for block, squared, norms in self._blocks(rows):
            position[block] = squared.argmin(axis=1)
            distance[block] = squared[np.arange(len(squared)), position[block]] + norms
        return position, np.maximum(distance, 0)

    def _blocks(self, rows: pd.DataFrame):
        """(block, squared distances of its rows to every source row less `norms`, norms) for each CHUNK rows;
        `norms` is the part of a row's distances the same for every source row, which moves no row's nearest.
        Texts are compared with their CANDIDATES likeliest source texts (the rest at distance 1)."""
        numbers = self.numbers.query(rows)
        categories = [_codes(rows[c], column) for c, column in self.categories.items()]
        texts = [(index, index.query(rows[c])) for c, index in self.texts.items()]
        for start in range(0, len(rows), CHUNK):
            block = slice(start, min(start + CHUNK, len(rows)))
            squared = self.numbers.distance(numbers, block)
            for query_codes, source_codes in categories:
                squared += query_codes[block, None] != source_codes[None, :]
            for index, query in texts:
                squared += index.distance(query, block) ** 2
            yield block, squared, self.numbers.norms(numbers, block)


class _Numbers:
    """Squared Euclidean distances over numeric columns in units of the source's standard deviation;
    a value that only one side has adds 1."""

    def __init__(self, source: pd.DataFrame, columns: list[str], one_unit: bool) -> None:
        self.columns = columns
        table = self._values(source)
        with np.errstate(all="ignore"):
            centre, scale = np.nanmean(table, axis=0), np.nanstd(table, axis=0)
            scale = np.full_like(scale, np.nanstd(table - centre)) if one_unit else scale
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        self.centre, self.scale = np.nan_to_num(centre), scale
        table = (table - self.centre) / self.scale
        self.gaps = bool(np.isnan(table).any())
        self.table, self.table_has = np.nan_to_num(table).astype(np.float32), (~np.isnan(table)).astype(np.float32)
        self.minus_twice_t, self.table_squares = -2 * self.table.T, (self.table ** 2).sum(axis=1)
        self.gap_terms, self.table_has_t = (self.table ** 2 - self.table_has).T, self.table_has.T

    def _values(self, frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack([np.zeros(len(frame))] + [_as_number(frame[c]) for c in self.columns])[:, 1:]

    def query(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The rows' values, standardised (0 where missing), and where they are present (1) or missing (0)."""
        values = (self._values(rows) - self.centre) / self.scale
        return np.nan_to_num(values).astype(np.float32), (~np.isnan(values)).astype(np.float32)

    def distance(self, query: tuple[np.ndarray, np.ndarray], block: slice) -> np.ndarray:
        """Squared distances of the block's rows to every source row, less `norms(query, block)`."""
        a, has = query[0][block], query[1][block]
        squared = a @ self.minus_twice_t
        if not (self.gaps or has.min(initial=1) < 1):
            return squared + self.table_squares
        return squared + has @ self.gap_terms + (a * a - has + 1) @ self.table_has_t

    def norms(self, query: tuple[np.ndarray, np.ndarray], block: slice) -> np.ndarray:
        """The part of each row's squared distances that is the same for every source row."""
        a, has = query[0][block], query[1][block]
        return (a ** 2).sum(axis=1) if not (self.gaps or has.min(initial=1) < 1) else has.sum(axis=1)


def _as_number(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(float)


def _codes(query: pd.Series, source: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Both columns as integer codes of one shared set of values (missing is a value of its own)."""
    both = pd.concat([query, source], ignore_index=True).astype(str).where(lambda s: s != "nan", "<missing>")
    codes = pd.factorize(both)[0]
    return codes[: len(query)], codes[len(query):]


class _Texts:
    """Word-set Jaccard distances of query texts to the source's: exact for the CANDIDATES source texts that share
    the most of a text's RAREST words, 1 for the others (0 for the same text)."""

    def __init__(self, source: pd.Series) -> None:
        texts = source.fillna("").astype(str).tolist()
        self.sets = [frozenset(text.lower().split()) for text in texts]
        owners = np.repeat(np.arange(len(texts)), [len(words) for words in self.sets])
        ids, words = pd.factorize(pd.Series([w for words in self.sets for w in words], dtype=object))
        self.vocabulary = {word: i for i, word in enumerate(words)}
        self.frequency = np.bincount(ids, minlength=len(words))
        order = np.argsort(ids, kind="stable")
        self.postings, self.starts = owners[order], np.searchsorted(ids[order], np.arange(len(words) + 1))
        self.exact = {text: row for row, text in reversed(list(enumerate(texts)))}

    def query(self, texts: pd.Series) -> list[tuple[frozenset, np.ndarray, int]]:
        """For each text: its words, the ids of its RAREST known words, the source row holding the same text or -1."""
        found = []
        for text in texts.fillna("").astype(str):
            words = frozenset(text.lower().split())
            ids = np.array([self.vocabulary[w] for w in words if w in self.vocabulary], dtype=int)
            rarest = ids[np.argsort(self.frequency[ids], kind="stable")[:RAREST]]
            found.append((words, rarest, self.exact.get(text, -1)))
        return found

    def distance(self, query: list, block: slice) -> np.ndarray:
        out = np.ones((block.stop - block.start, len(self.sets)), dtype=np.float32)
        for row, (words, rarest, exact) in enumerate(query[block]):
            if len(rarest):
                postings = np.concatenate([self.postings[self.starts[w]:self.starts[w + 1]] for w in rarest])
                shared = np.bincount(postings, minlength=len(self.sets))
                best = np.argpartition(-shared, CANDIDATES)[:CANDIDATES] if len(shared) > CANDIDATES else range(
                    len(shared))
                for candidate in best:
                    other = self.sets[candidate]
                    shared_words = len(words & other)
                    out[row, candidate] = 1 - shared_words / max(len(words) + len(other) - shared_words, 1)
            if exact >= 0:
                out[row, exact] = 0
        return out


# ---- from the source's target to the task's -------------------------------------------------------


def _classification(task: Task, truth: pd.Series) -> bool:
    """Whether the task predicts classes: as its evaluator (the families' template) says, else by its labels."""
    scorer = host_scorer(task)
    return scorer.kind == "classification" if scorer else not _numeric(truth)


def _translate(found: np.ndarray, seen: np.ndarray, truth: pd.Series, *, classification: bool) -> np.ndarray:
    """The task's target for each `found` source target, learned from training rows (`seen` source targets, `truth`
    the task's, which may be another variable: a simulated one): for task classes, the label each source value most
    often carries; for task numbers, a linear fit of numeric source values, or the mean of each source class."""
    if classification:
        pairs = pd.DataFrame({"source": pd.Series(seen).astype(str).to_numpy(), "task": truth.to_numpy()})
        counts = pairs.groupby(["source", "task"]).size().reset_index(name="n")
        best = counts.sort_values(["n", "task"], ascending=[False, True], kind="stable").drop_duplicates("source")
        mapping = dict(zip(best["source"], best["task"], strict=True))
        fallback = truth.value_counts().index[0]
        return np.array([mapping.get(label, fallback) for label in pd.Series(found).astype(str)], dtype=object)
    y = truth.to_numpy(dtype=float)
    if not _numeric(pd.Series(seen).infer_objects()):
        means = pd.Series(y).groupby(pd.Series(seen).astype(str).to_numpy()).mean()
        return pd.Series(found).astype(str).map(means).fillna(float(np.nanmean(y))).to_numpy(float)
    x = np.asarray(seen, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.mean(np.isclose(x[keep], y[keep])) >= 0.5:
        return np.asarray(found, dtype=float)  # the source's target as it is
    slope, intercept = np.polyfit(x[keep], y[keep], 1)
    return slope * np.asarray(found, dtype=float) + intercept
