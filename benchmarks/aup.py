"""AUP: the area under the performance profile, computed the way MLGym computes it.

A score table has one row per task (index `Task`) and one column per model, the `baseline` among
them; NaN is a missing score. Per task, each feasible model gets a performance ratio r >= 1 against
the task's best feasible score; the profile rho_m(tau) is the share of tasks where log10 r_m <= tau,
and AUP is its left Riemann sum over a grid of 500 taus from 0 to a ceiling shared by every table
compared (MLGym shares it between its best-attempt and last-submission tables).

Reference: MLGym `scripts/evaluation/get_ranks.py` (`calculate_performance_ratios`,
`compute_performance_profile`, `compute_aup`, `round_up_to_one_decimal`, `save_performance_profiles`).
Where MLGym crashes (no feasible score on a task, a zero score it divides by) we say what we do instead.
"""

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthml.errors import SynthMLError, did_you_mean

TASK = "Task"
BASELINE = "baseline"
EPSILON = 0.05  # an infeasible model's ratio is the task's worst feasible ratio times 1 + EPSILON
GRID_POINTS = 500
LINE_STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "x")


@dataclass(frozen=True)
class Comparison:
    """Tables scored over one shared tau grid, so their AUPs compare (same order as the tables given)."""

    taus: np.ndarray
    """The grid: GRID_POINTS values from 0 to tau_max, in log10 units of the ratio."""
    profiles: list[pd.DataFrame]
    """Per table, rho per tau (index) and model (columns)."""
    aups: list[dict[str, float]]
    """Per table, each model's AUP."""

    @property
    def tau_max(self) -> float:
        """The grid's end, which is also the AUP of a model that is best on every task."""
        return float(self.taus[-1])


def read_table(path: Path) -> pd.DataFrame:
    """Read a score table in MLGym's CSV shape (`Task`, `baseline`, a column per model; empty = missing).

    Every problem is reported with the file, row and column and the fix, because a silently dropped
    cell would change every model's AUP.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except FileNotFoundError:
        raise SynthMLError(f"{path}: no such file; pass a CSV with a {TASK} column and one column per model") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise SynthMLError(f"{path}: not a readable CSV ({e}); write it as MLGym's score tables are") from e
    for column in (TASK, BASELINE):
        if column not in raw.columns:
            raise SynthMLError(f"{path}: no '{column}' column (columns: {', '.join(map(str, raw.columns))}); "
                               f"add it: '{TASK}' names each task, '{BASELINE}' holds the baseline's score")
    tasks = raw[TASK]
    if tasks.isna().any() or tasks.duplicated().any():
        row = int((tasks.isna() | tasks.duplicated()).to_numpy().argmax()) + 2  # 1-based, after the header
        raise SynthMLError(f"{path}: line {row} has an empty or repeated {TASK}; give each row one task name")
    if raw.empty:
        raise SynthMLError(f"{path}: no task rows; add one row per task under the header")
    table = raw.set_index(TASK)
    numbers = table.apply(pd.to_numeric, errors="coerce").astype(float)
    bad = (numbers.isna() & table.notna()) | np.isinf(numbers)
    if bad.to_numpy().any():
        task, model = bad.stack().loc[lambda cell: cell].index[0]
        raise SynthMLError(f"{path}: row '{task}', column '{model}' holds {table.at[task, model]!r}, not a finite "
                           "number; write the score there, or leave the cell empty if it is missing")
    return numbers


def feasible(table: pd.DataFrame, minimize: Collection[str] = ()) -> pd.DataFrame:
    """Which scores count, by MLGym's rule: present, >= 0, and not strictly worse than the baseline.

    A score equal to the baseline's counts; where the baseline's own score is missing, nothing is
    compared with it (MLGym compares with NaN, which is never true).
    """
    if BASELINE not in table.columns:
        raise SynthMLError(f"score table has no '{BASELINE}' column; add the baseline's scores as one")
    scores = table.to_numpy(dtype=float)
    baseline = table[BASELINE].to_numpy(dtype=float)[:, None]
    lower = _lower_is_better(table, minimize)[:, None]
    worse = np.where(lower, scores > baseline, scores < baseline)
    return pd.DataFrame(~np.isnan(scores) & (scores >= 0) & ~worse, index=table.index, columns=table.columns)


def worst_ratios(table: pd.DataFrame, minimize: Collection[str] = ()) -> pd.Series:
    """Each task's largest feasible ratio (NaN where nothing is feasible): it sets the infeasible ratio and tau."""
    return _feasible_ratios(table, minimize).max(axis=1)


def performance_ratios(table: pd.DataFrame, minimize: Collection[str] = ()) -> pd.DataFrame:
    """Each model's ratio to the task's best feasible score (1 = best); infeasible ones get worst * 1.05.

    On a task where nothing is feasible MLGym fails (math.ceil of NaN); we give every model r = inf
    there instead, so the task counts against all of them and leaves tau alone.
    """
    ratios = _feasible_ratios(table, minimize)
    infeasible = (ratios.max(axis=1) * (1 + EPSILON)).to_numpy()[:, None]
    filled = np.where(ratios.isna(), infeasible, ratios)
    return pd.DataFrame(np.nan_to_num(filled, nan=np.inf), index=table.index, columns=table.columns)


def tau_max(tables: Sequence[pd.DataFrame], minimize: Collection[str] = ()) -> float:
    """The grid's end, shared by all tables: log10 of the largest per-task ceil(worst * 1.05), rounded up to 0.1.

    Sharing it makes AUPs of different tables (best attempt, last submission) comparable.
    """
    ceilings = [math.ceil(worst * (1 + EPSILON)) for table in tables
                for worst in worst_ratios(table, minimize).dropna()]
    if not ceilings:
        raise SynthMLError("no task in any score table has a feasible score (present, >= 0, not worse than the "
                           "baseline); check the baseline column and the --minimize tasks")
    return float(np.ceil(np.log10(max(ceilings)) * 10) / 10)


def tau_grid(end: float) -> np.ndarray:
    """GRID_POINTS evenly spaced taus from 0 to `end` (log10 units), as MLGym's linspace."""
    return np.linspace(0, end, num=GRID_POINTS)


def performance_profile(ratios: pd.DataFrame, taus: np.ndarray) -> pd.DataFrame:
    """rho per tau (rows) and model (columns): the share of tasks where log10 of the model's ratio <= tau."""
    within = np.log10(ratios.to_numpy(dtype=float))[:, :, None] <= np.asarray(taus)[None, None, :]
    rho = within.sum(axis=0) / len(ratios)
    return pd.DataFrame(rho.T, index=pd.Index(taus, name="tau"), columns=ratios.columns)


def profile_area(profile: pd.DataFrame) -> dict[str, float]:
    """Each model's AUP: the left Riemann sum of its profile over the profile's taus."""
    taus = profile.index.to_numpy(dtype=float)
    return {str(model): _left_sum(rho.to_numpy(dtype=float), taus) for model, rho in profile.items()}


def compare(tables: Sequence[pd.DataFrame], minimize: Collection[str] = ()) -> Comparison:
    """Profiles and AUPs of several score tables over one tau grid (tasks named in `minimize`: lower is better)."""
    _check_minimize(tables, minimize)
    taus = tau_grid(tau_max(tables, minimize))
    profiles = [performance_profile(performance_ratios(table, minimize), taus) for table in tables]
    return Comparison(taus, profiles, [profile_area(profile) for profile in profiles])


def aup(table: pd.DataFrame, minimize: Collection[str] = ()) -> dict[str, float]:
    """Each model's AUP on one table, over that table's own tau grid (use `compare` to share one)."""
    return compare([table], minimize).aups[0]


def plot_profiles(profiles: pd.DataFrame | Mapping[str, Sequence[float]], taus: np.ndarray, path: Path,
                  title: str) -> Path:
    """Draw each model's profile as a step curve, as MLGym plots it, to a PNG (headless: Agg canvas, no pyplot).

    The legend lists models by AUP so the plot reads like the table beside it in a report.
    """
    profile_figure(profiles, taus, title).savefig(path, format="png", dpi=150)
    return Path(path)


def profile_figure(profiles: pd.DataFrame | Mapping[str, Sequence[float]], taus: np.ndarray, title: str):
    """The plot's figure. Models often tie (every one best on every task), so each curve has its own line style
    and markers, the markers at staggered taus: a curve drawn over an identical one still shows."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    taus = np.asarray(taus, dtype=float)
    curves = {str(model): np.asarray(rho, dtype=float) for model, rho in profiles.items()}
    areas = {model: _left_sum(rho, taus) for model, rho in curves.items()}
    figure = Figure(figsize=(5, 4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    every = max(1, len(taus) // 8)
    for n, model in enumerate(sorted(curves, key=lambda name: (-areas[name], name))):
        axes.step(taus, curves[model], where="post", linewidth=2, label=f"{model} (AUP {areas[model]:.3f})",
                  linestyle=LINE_STYLES[n % len(LINE_STYLES)], marker=MARKERS[n % len(MARKERS)],
                  markevery=((n * every // len(curves)) % every, every), markersize=5)
    axes.set(title=title, xlabel="τ (log10 of the performance ratio)", ylabel="share of tasks with log10 r ≤ τ",
             xlim=(0, taus[-1]), ylim=(-0.02, 1.02))
    axes.grid(alpha=0.4)
    axes.legend(loc="lower right", fontsize=8)
    return figure


def _left_sum(rho: np.ndarray, taus: np.ndarray) -> float:
    """Sum of rho[i] * (tau[i+1] - tau[i]) for i < n-1, added in order (cumsum) as MLGym's loop adds it."""
    return float(np.cumsum(np.diff(taus) * rho[:-1])[-1])


def _feasible_ratios(table: pd.DataFrame, minimize: Collection[str]) -> pd.DataFrame:
    """best/score (higher is better) or score/best (lower is better) for feasible scores, NaN elsewhere."""
    ok = feasible(table, minimize)
    scores = table.where(ok).to_numpy(dtype=float)
    if (scores == 0).any():
        task, model = table.where(ok).eq(0).stack().loc[lambda cell: cell].index[0]
        raise SynthMLError(f"task '{task}': {model} scores 0, and the performance ratio divides by it (MLGym's "
                           "get_ranks.py fails here too); shift or rescale that task's metric so scores are > 0")
    lower = _lower_is_better(table, minimize)[:, None]
    best = np.where(lower, np.fmin.reduce(scores, axis=1, keepdims=True),
                    np.fmax.reduce(scores, axis=1, keepdims=True))
    return pd.DataFrame(np.where(lower, scores / best, best / scores), index=table.index, columns=table.columns)


def _lower_is_better(table: pd.DataFrame, minimize: Collection[str]) -> np.ndarray:
    return np.asarray(table.index.isin(list(minimize)))


def _check_minimize(tables: Sequence[pd.DataFrame], minimize: Collection[str]) -> None:
    """A mistyped --minimize task would silently be scored higher-is-better; refuse it instead."""
    known = sorted({str(task) for table in tables for task in table.index})
    for name in minimize:
        if name not in known:
            raise SynthMLError(f"--minimize names task '{name}', which no score table has; "
                               f"{did_you_mean(name, known)}")
