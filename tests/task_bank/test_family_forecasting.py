"""The forecasting family: seeded knobs and drafts on every eligible series; rolling origins that never show a
point after a test origin (the evaluator calls the forecaster once per window, in time order, with the points
before it); a ladder that climbs in the real sandbox; an episode whose submit scores what the baseline scores on
the host; hostile forecasters that fail their windows without breaking the evaluation; sMAPE only where the
series stays clear of zero."""

import json
import random
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from synthml.envs.sandbox.bwrap import BwrapConfig
from synthml.envs.session import Session
from synthml.errors import TaskError
from synthml.task_bank.catalog import catalog, get_entry, load_table
from synthml.task_bank.families.timeseries_forecasting import (
    FAMILY,
    MAX_POINTS,
    MIN_WINDOWS,
    horizons,
    smape_fits,
    windows,
)
from synthml.task_bank.program import RUNGS, program_task_yaml, write_program_task
from synthml.task_bank.statistics import instance_gap
from synthml.tasks.task import load_task
from tests.program_episode import host_and_episode

DATASET, KNOBS, SEED = "statsmodels/co2", {"metric": "mase", "horizon": 6}, 1
"""A task the validator accepts (a trend and a yearly season: the reference's edge over seasonal naive with
drift is reliable on both splits)."""
COUNT = windows(get_entry(DATASET), KNOBS["horizon"], get_entry(DATASET).rows)
"""Its windows in each split."""


def _draft(dataset: str = DATASET, knobs: dict = KNOBS, seed: int = SEED):
    entry = get_entry(dataset)
    return FAMILY.build(entry, load_table(entry), knobs, seed, f"forecast-{seed}")


def _task(tmp_path: Path, **settings) -> Path:
    """The task dir; `settings` overwrite forecast.json's (e.g. a shorter time limit per call)."""
    root = write_program_task(_draft(), tmp_path / "task")
    path = root / "forecast.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | settings))
    return root


def test_knobs_and_drafts_are_seeded_and_valid():
    eligible = [entry for entry in catalog() if FAMILY.eligible(entry)]
    assert len(eligible) >= 12
    for entry in eligible:
        knobs = FAMILY.sample_knobs(random.Random(1), entry)
        assert knobs == FAMILY.sample_knobs(random.Random(1), entry) and json.loads(json.dumps(knobs)) == knobs
        assert knobs["horizon"] in horizons(entry)
        knobs["metric"] = "mase"  # sMAPE does not fit every series (see below)
        draft = FAMILY.build(entry, load_table(entry), knobs, 1, "t")
        again = FAMILY.build(entry, load_table(entry), knobs, 1, "t")
        assert (draft.validation, draft.test, draft.files) == (again.validation, again.test, again.files)
        assert draft.test != FAMILY.build(entry, load_table(entry), knobs, 2, "t").test  # another disguise
        count = windows(entry, knobs["horizon"], min(entry.rows, MAX_POINTS))
        assert len(draft.validation) == len(draft.test) == count >= MIN_WINDOWS
        assert {len(w["values"]) for w in draft.validation + draft.test} == {knobs["horizon"]}
        program_task_yaml(draft)  # validates against the task schema
        for text in (draft.baseline, draft.evaluator, *draft.ladder.values()):
            compile(text, "rung", "exec")


def test_no_visible_file_holds_a_point_after_the_first_test_origin(tmp_path: Path):
    root, h = write_program_task(_draft(), tmp_path / "task"), KNOBS["horizon"]
    task = load_task(root)
    history = pd.read_csv(root / "series.csv")
    validation, test = (json.loads((root / path).read_text()) for path in ("data/validation.json", "hidden/test.json"))
    starts = [w["start"] for w in validation + test]
    assert history["date"].is_monotonic_increasing and history["date"].iloc[-1] < starts[0]
    assert starts == sorted(starts) and len(set(starts)) == 2 * COUNT
    assert pd.Timestamp(starts[COUNT - 1]) + pd.DateOffset(months=h) == pd.Timestamp(starts[COUNT])
    assert task.config.hidden_files == ["hidden/test.json"] and "reference" not in " ".join(task.config.starter_code)
    visible = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    visible -= {"hidden/test.json", "task.yaml", *(f"reference/{rung}.py" for rung in RUNGS)}
    assert visible == {"forecaster.py", "evaluate.py", "series.csv", "forecast.json", "data/validation.json"}
    description = task.config.description
    assert f"{COUNT} windows of {h}" in description and "forecast(history, horizon)" in description


def test_the_evaluator_gives_each_window_the_points_before_it(tmp_path: Path, runtime: Path):
    """Run on the host with a forecaster that records each history and repeats its last value: the histories
    grow a window at a time from series.csv (test: after every validation window), and the score is the mean of
    the windows' errors."""
    root, h = _task(tmp_path), KNOBS["horizon"]
    (root / "forecaster.py").write_text("import json\n\ndef forecast(history, horizon):\n"
                                        "    with open('calls.jsonl', 'a') as f:\n"
                                        "        f.write(json.dumps([len(history), history[-1]]) + '\\n')\n"
                                        "    return [history[-1]] * horizon\n")
    known = pd.read_csv(root / "series.csv")["co2"].tolist()
    windows = {split: json.loads((root / path).read_text())
               for split, path in (("validation", "data/validation.json"), ("test", "hidden/test.json"))}
    for split, before in (("validation", known), ("test", known + [v for w in windows["validation"]
                                                                     for v in w["values"]])):
        (root / "calls.jsonl").unlink(missing_ok=True)
        out = subprocess.run([str(runtime / "bin" / "python"), "evaluate.py", "--split", split], cwd=root,
                             capture_output=True, text=True, check=True, timeout=120)
        calls = [json.loads(line) for line in (root / "calls.jsonl").read_text().splitlines()]
        values = before + [v for w in windows[split] for v in w["values"]]
        assert calls == [[len(before) + k * h, values[len(before) + k * h - 1]] for k in range(COUNT)]
        errors = [sum(abs(v - values[n - 1]) for v in w["values"]) / h
                  for (n, _), w in zip(calls, windows[split], strict=True)]
        scale = json.loads((root / "forecast.json").read_text())["mase_scale"]
        metrics = json.loads(out.stdout.splitlines()[-1])
        assert metrics["mae"] == pytest.approx(sum(errors) / COUNT, rel=1e-5)
        assert metrics["mase"] == pytest.approx(metrics["mae"] / scale, rel=1e-5) and metrics["failures"] == 0


def test_ladder_climbs_in_the_sandbox(tmp_path: Path, runtime: Path):
    task = load_task(_task(tmp_path))
    session = Session(task, BwrapConfig(), runtime)
    try:
        scores = {}
        for rung in ("baseline", *RUNGS):
            text = task.path("forecaster.py" if rung == "baseline" else f"reference/{rung}.py").read_text()
            session.box.write_file("forecaster.py", text)
            for split in ("validation", "test"):
                evaluation = session.evaluate(split)
                assert evaluation.metrics is not None and evaluation.metrics["failures"] == 0, evaluation.observation
                scores[rung, split] = evaluation.instance_scores
    finally:
        session.close()
    for split in ("validation", "test"):
        assert len(scores["baseline", split]) == COUNT
        assert sum(scores["baseline", split]) < sum(scores["trivial", split])
        assert instance_gap(scores["default", split], scores["reference", split], sign=-1).positive


def test_episode_submit_scores_what_the_baseline_scores_on_the_host(tmp_path: Path, runtime: Path):
    task_dir = _task(tmp_path)
    expected, validation, submitted, terminated = host_and_episode(task_dir, runtime, tmp_path)
    assert validation["failures"] == 0
    assert terminated and submitted == expected and expected["mase"] > 0


HOSTILE = {
    "raises": "def forecast(history, horizon):\n    raise ValueError('no')\n",
    "short": "def forecast(history, horizon):\n    return history[-horizon + 1:]\n",
    "none": "def forecast(history, horizon):\n    return None\n",
    "nan": "def forecast(history, horizon):\n    return [float('nan')] * horizon\n",
    "infinite": "def forecast(history, horizon):\n    return [1e308 * 10] * horizon\n",
    "text": "def forecast(history, horizon):\n    return ['12'] * (horizon - 1) + ['twelve']\n",
    "reads_hidden": ("import json\n\ndef forecast(history, horizon):\n"
                     "    return json.load(open('hidden/test.json'))[0]['values']\n"),
    "exits": "import os\n\ndef forecast(history, horizon):\n    os._exit(3)\n",
    "no_forecast": "FORECAST = 1\n",
    "import_fails": "raise ImportError('nothing here')\n",
    "sleeps": "import time\n\ndef forecast(history, horizon):\n    time.sleep(60)\n    return history[-horizon:]\n",
}


def test_hostile_forecasters_fail_their_windows_and_score_as_the_trivial_forecast(tmp_path: Path, runtime: Path):
    task = load_task(_task(tmp_path, call_seconds=1))
    session = Session(task, BwrapConfig(), runtime)
    try:
        session.box.write_file("forecaster.py", task.path("reference/trivial.py").read_text())
        trivial = session.evaluate("test")
        assert trivial.metrics["failures"] == 0
        for name, text in HOSTILE.items():
            session.box.write_file("forecaster.py", text)
            evaluation = session.evaluate("test")
            assert evaluation.metrics == {**trivial.metrics, "failures": COUNT}, (name, evaluation.observation)
            assert evaluation.instance_scores == trivial.instance_scores
    finally:
        session.close()


def test_smape_is_never_a_metric_where_the_series_nears_zero():
    built = set()
    for entry in filter(FAMILY.eligible, catalog()):
        table, knobs = load_table(entry), {"metric": "smape", "horizon": min(horizons(entry))}
        try:
            draft = FAMILY.build(entry, table, knobs, SEED, "t")
        except TaskError as e:
            assert "sMAPE needs a series whose values are all positive" in str(e)
            names = [m.name for m in FAMILY.build(entry, table, knobs | {"metric": "mase"}, SEED, "t").metrics]
            assert "smape" not in names and names[0] == "mase"
            continue
        values = [v for w in draft.validation + draft.test for v in w["values"]]
        assert min(values) >= 0.1 * sorted(values)[len(values) // 2] > 0, entry.id
        built.add(entry.id)
    assert "statsmodels/co2" in built
    assert not {"statsmodels/sunspots", "vega_datasets/seattle_weather"} & built  # zeros; frost below 0 °C
    assert not smape_fits(pd.Series([5.0, 3.0, 0.0, 4.0])) and smape_fits(pd.Series([5.0, 3.0, 2.0]))
