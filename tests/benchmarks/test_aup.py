"""AUP as MLGym computes it, checked against numbers worked out by hand.

Hand rule used throughout: the grid is tau_k = k * T / 499 (k = 0..499) and rho is a step that turns
on at the first k with tau_k >= log10 r, i.e. k* = ceil(log10(r) * 499 / T). With the left Riemann
sum over 499 steps, one task contributes (499 - k*) * T / 499, so a model with r = 1 everywhere
(k* = 0) gets the full area 499 * T / 499 = T.
"""

import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from synthml.benchmarks.aup import (
    aup,
    compare,
    feasible,
    performance_profile,
    performance_ratios,
    plot_profiles,
    profile_figure,
    read_table,
    tau_max,
)
from synthml.benchmarks.bench_config import BenchConfig
from synthml.cli import friendly
from synthml.cli_bench import aup_command
from synthml.errors import SynthMLError
from synthml.tasks.selection import TaskRef

NAN = float("nan")


def table(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("Task")


# A is higher-is-better, B lower-is-better; both give ratios good 1, baseline 2, bad 2.1 (infeasible).
MIXED = table({"A": {"baseline": 0.5, "good": 1.0, "mid": 0.8, "bad": 0.4},
               "B": {"baseline": 4.0, "good": 2.0, "mid": 3.0, "bad": 5.0}})


def test_ratios_follow_each_tasks_direction():
    ratios = performance_ratios(MIXED, {"B"})
    # A (max): best 1.0 -> good 1.0/1.0 = 1, mid 1.0/0.8 = 1.25, baseline 1.0/0.5 = 2; bad 0.4 < 0.5 is infeasible
    #   and gets the worst feasible ratio 2 * 1.05 = 2.1.
    # B (min): best 2.0 -> good 2/2 = 1, mid 3/2 = 1.5, baseline 4/2 = 2; bad 5 > 4 is infeasible -> 2.1.
    assert ratios.loc["A"].to_dict() == pytest.approx({"baseline": 2.0, "good": 1.0, "mid": 1.25, "bad": 2.1})
    assert ratios.loc["B"].to_dict() == pytest.approx({"baseline": 2.0, "good": 1.0, "mid": 1.5, "bad": 2.1})
    # Scored as higher-is-better, B's feasible scores are those >= 4: baseline 4 and bad 5 (best); worst ratio
    # 5/4 = 1.25, so good (2 < 4, infeasible) gets 1.25 * 1.05 = 1.3125 instead of 1.
    assert performance_ratios(MIXED).loc["B", "good"] == pytest.approx(1.3125)


def test_aup_of_two_tasks_in_both_directions():
    aups = aup(MIXED, {"B"})
    # T: worst feasible ratio 2 on both tasks -> ceil(2 * 1.05) = 3 -> log10 3 = 0.477 -> rounded up: 0.5.
    # good: r = 1 on both -> full area T = 0.5.
    # mid: A log10 1.25 = 0.09691 * 998 = 96.7 -> k* 97; B log10 1.5 = 0.17609 * 998 = 175.7 -> k* 176;
    #   AUP = (1/2)(499-97)(0.5/499) + (1/2)(499-176)(0.5/499) = 0.25 * (402 + 323) / 499 = 181.25 / 499.
    # baseline: log10 2 = 0.30103 * 998 = 300.4 -> k* 301 on both -> (499-301) * 0.5 / 499 = 99 / 499.
    # bad: log10 2.1 = 0.32222 * 998 = 321.6 -> k* 322 on both -> (499-322) * 0.5 / 499 = 88.5 / 499.
    expected = {"good": 0.5, "mid": 181.25 / 499, "baseline": 99 / 499, "bad": 88.5 / 499}
    assert aups == pytest.approx(expected, abs=1e-12)


def test_infeasible_scores_negative_missing_or_worse_than_the_baseline():
    scores = table({"A": {"baseline": -1.0, "good": 2.0, "tie": NAN, "neg": -0.5, "fine": 1.0},
                    "C": {"baseline": 1.0, "good": 3.0, "tie": 1.0, "neg": 0.9, "fine": NAN}})
    ok = feasible(scores)
    # A: the baseline is negative (so infeasible itself); neg beats it but is < 0; tie is missing.
    assert ok.loc["A"].to_dict() == {"baseline": False, "good": True, "tie": False, "neg": False, "fine": True}
    # C: a score equal to the baseline's counts (MLGym's check is strict); 0.9 < 1.0 does not; NaN does not.
    assert ok.loc["C"].to_dict() == {"baseline": True, "good": True, "tie": True, "neg": False, "fine": False}
    ratios = performance_ratios(scores)
    # A: best 2 -> good 1, fine 2/1 = 2 = worst -> infeasible 2 * 1.05 = 2.1.
    # C: best 3 -> good 1, baseline and tie 3/1 = 3 = worst -> infeasible 3 * 1.05 = 3.15.
    assert ratios.loc["A"].to_dict() == pytest.approx({"baseline": 2.1, "good": 1, "tie": 2.1, "neg": 2.1, "fine": 2})
    assert ratios.loc["C"].to_dict() == pytest.approx({"baseline": 3, "good": 1, "tie": 3, "neg": 3.15, "fine": 3.15})


def test_only_the_baseline_feasible_puts_the_rest_five_percent_behind():
    scores = table({"A": {"baseline": 0.5, "m": 0.2}})
    # worst ratio 1 (baseline alone) -> m gets 1.05; ceil(1.05) = 2 -> log10 2 = 0.301 -> T = 0.4.
    assert performance_ratios(scores).loc["A", "m"] == pytest.approx(1.05)
    assert tau_max([scores]) == pytest.approx(0.4)
    # m: log10 1.05 = 0.021189 * 499 / 0.4 = 26.4 -> k* 27 -> (499-27) * 0.4 / 499 = 188.8 / 499.
    assert aup(scores) == pytest.approx({"baseline": 0.4, "m": 188.8 / 499}, abs=1e-12)


def test_a_task_nobody_can_score_counts_against_everyone():
    scores = table({"A": {"baseline": 0.5, "good": 1.0},
                    "C": {"baseline": -1.0, "good": -0.5}})  # all negative: nothing feasible on C
    assert np.isinf(performance_ratios(scores).loc["C"]).all()
    # T from A alone: worst 2 -> ceil(2.1) = 3 -> 0.5. good is within tau only on A: rho = 1/2 everywhere
    # -> 0.5 * 0.5 = 0.25; baseline: A's k* 301 -> (1/2)(499-301)(0.5/499) = 49.5 / 499.
    assert aup(scores) == pytest.approx({"good": 0.25, "baseline": 49.5 / 499}, abs=1e-12)


def test_profile_is_the_share_of_tasks_within_tau():
    taus = np.array([0.0, 0.1, 0.2, 0.35])
    profile = performance_profile(performance_ratios(MIXED, {"B"}), taus)
    # mid: log10 1.25 = 0.097 (A) and log10 1.5 = 0.176 (B): 0 of 2 at tau 0, 1 of 2 at 0.1, 2 of 2 from 0.2.
    assert profile["mid"].tolist() == [0.0, 0.5, 1.0, 1.0]
    # baseline: log10 2 = 0.301 on both; bad: log10 2.1 = 0.322 on both -> both only at 0.35.
    assert profile["baseline"].tolist() == profile["bad"].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert profile["good"].tolist() == [1.0, 1.0, 1.0, 1.0]


def test_tables_share_one_tau_range():
    narrow = table({"A": {"baseline": 0.5, "m": 0.2}})  # T alone 0.4 (see above)
    wide = table({"W": {"baseline": 0.1, "m": 1.0}})  # baseline ratio 10 -> ceil(10.5) = 11 -> log10 11 = 1.041 -> 1.1
    assert tau_max([narrow, wide]) == pytest.approx(1.1)
    result = compare([narrow, wide])
    assert result.tau_max == pytest.approx(1.1) and len(result.taus) == 500
    # narrow's m over the shared T = 1.1: log10 1.05 = 0.021189 * 499 / 1.1 = 9.61 -> k* 10
    #   -> (499-10) * 1.1 / 499 = 537.9 / 499 = 1.0780 (alone, over T = 0.4, it was 188.8 / 499 = 0.3784).
    assert result.aups[0] == pytest.approx({"baseline": 1.1, "m": 537.9 / 499}, abs=1e-12)
    # wide's baseline: log10 10 = 1 * 499 / 1.1 = 453.6 -> k* 454 -> (499-454) * 1.1 / 499 = 49.5 / 499.
    assert result.aups[1] == pytest.approx({"baseline": 49.5 / 499, "m": 1.1}, abs=1e-12)
    assert aup(narrow)["m"] == pytest.approx(188.8 / 499, abs=1e-12)


def test_a_zero_score_or_a_mistyped_minimize_task_is_refused():
    with pytest.raises(SynthMLError, match=r"task 'B': good scores 0.*rescale"):
        aup(table({"B": {"baseline": 1.0, "good": 0.0}}), {"B"})
    with pytest.raises(SynthMLError, match="--minimize names task 'b', which no score table has"):
        aup(MIXED, {"b"})
    with pytest.raises(SynthMLError, match="did you mean 'House Price'"):
        aup(table({"House Price": {"baseline": 1.0, "m": 0.5}}), {"House price"})


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_table_keeps_missing_cells_and_reads_numbers(tmp_path):
    scores = read_table(write(tmp_path, "s.csv", "Task,baseline,good,mid\nA,0.5,1.0,\nB,4,2,3\n"))
    assert list(scores.columns) == ["baseline", "good", "mid"] and list(scores.index) == ["A", "B"]
    assert np.isnan(scores.loc["A", "mid"]) and scores.loc["B", "baseline"] == 4.0


@pytest.mark.parametrize(("text", "message"), [
    ("task,baseline,m\nA,1,2\n", r"s\.csv: no 'Task' column \(columns: task, baseline, m\); add it"),
    ("Task,gpt,m\nA,1,2\n", r"s\.csv: no 'baseline' column.*'baseline' holds the baseline's score"),
    ("Task,baseline,m\nA,1,2\nB,0.5,abc\n", r"s\.csv: row 'B', column 'm' holds 'abc', not a finite number; write"),
    ("Task,baseline,m\nA,1,inf\n", r"row 'A', column 'm' holds 'inf'"),
    ("Task,baseline,m\nA,1,2\nA,1,3\n", r"s\.csv: line 3 has an empty or repeated Task"),
    ("Task,baseline,m\n", r"s\.csv: no task rows"),
    ("", r"s\.csv: not a readable CSV"),
])
def test_read_table_names_the_file_cell_and_fix(tmp_path, text, message):
    with pytest.raises(SynthMLError, match=message):
        read_table(write(tmp_path, "s.csv", text))


def test_read_table_of_a_missing_file(tmp_path):
    with pytest.raises(SynthMLError, match=r"nope\.csv: no such file; pass a CSV"):
        read_table(tmp_path / "nope.csv")


def cli() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)  # a group, so `aup` is a subcommand as in the synthml app
    app.command("aup")(friendly(aup_command))
    return app


def test_cli_prints_each_models_aup_per_table_with_a_shared_tau(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # short paths: rich wraps a table's title at the table's width
    best = write(tmp_path, "best.csv", "Task,baseline,good,mid,bad\nA,0.5,1.0,0.8,0.4\nB,4,2,3,5\n")
    wide = write(tmp_path, "wide.csv", "Task,baseline,good,mid,bad\nW,0.1,1.0,,0.2\n")
    result = CliRunner().invoke(cli(), ["aup", best.name, wide.name, "--minimize", "B"])
    assert result.exit_code == 0, result.output
    out = result.output
    # Shared T: wide's worst ratio is 1.0/0.1 = 10 -> 1.1 (best.csv alone gives 0.5). In best.csv over T = 1.1:
    # good 1.100; mid: k* ceil(0.09691 * 499/1.1) = ceil(43.96) = 44 and ceil(0.17609 * 453.6) = ceil(79.88) = 80
    #   -> 0.5 * (455 + 419) * 1.1 / 499 = 480.7 / 499 = 0.963; baseline: ceil(0.30103 * 453.6) = ceil(136.56) = 137
    #   -> 362 * 1.1 / 499 = 0.798; bad: ceil(0.32222 * 453.6) = ceil(146.2) = 147 -> 352 * 1.1 / 499 = 0.776.
    first = out[:out.index("wide.csv")]
    assert [line.split()[1] for line in first.splitlines() if "│" in line and "model" not in line] == [
        "good", "mid", "baseline", "bad"]
    for model, value in (("good", "1.100"), ("mid", "0.963"), ("baseline", "0.798"), ("bad", "0.776")):
        assert any(model in line and value in line for line in first.splitlines()), (model, value, out)
    # wide.csv: good 1.100; bad: 1.0/0.2 = 5 -> ceil(log10 5 * 453.6) = ceil(317.05) = 318 -> 181 * 1.1 / 499 = 0.399;
    # mid is missing -> 10 * 1.05 = 10.5 -> ceil(1.0212 * 453.6) = ceil(463.2) = 464 -> 35 * 1.1 / 499 = 0.077.
    second = out[out.index("wide.csv"):]
    assert "0.399" in second and "0.077" in second
    assert "tau max 1.1" in out and "2 table(s)" in out


def test_cli_reports_a_bad_table_in_one_line(tmp_path):
    bad = write(tmp_path, "bad.csv", "Task,m\nA,1\n")
    result = CliRunner().invoke(cli(), ["aup", str(bad)])
    assert result.exit_code == 1 and "no 'baseline' column" in result.output


def test_plot_profiles_writes_a_png(tmp_path):
    result = compare([MIXED], {"B"})
    path = plot_profiles(result.profiles[0], result.taus, tmp_path / "profile.png", "mixed")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def bench_json(folder, directions: dict[str, int]) -> None:
    """The bench.json `synthml bench` writes beside its tables, with these tasks' directions."""
    tasks = [TaskRef(id=task, spec=task, version="v", metric="m", direction=sign, baseline=None,
                     attempt_split="test", attempt_baseline=None) for task, sign in directions.items()]
    config = BenchConfig(tasks=tasks, agents=["good"], runs=1, workers=1, sandbox="bwrap", max_steps=5,
                         started_at=datetime.now(UTC))
    (folder / "bench.json").write_text(config.model_dump_json())


def test_cli_reads_directions_from_the_bench_json_beside_the_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    named = write(tmp_path, "named.csv", "Task,baseline,good,mid,bad\nA,0.5,1.0,0.8,0.4\nB,4,2,3,5\n")
    by_flag = CliRunner().invoke(cli(), ["aup", str(named), "--minimize", "B"])
    bench = tmp_path / "bench-out"
    bench.mkdir()
    best = write(bench, "best_submission.csv", named.read_text())
    bench_json(bench, {"A": 1, "B": -1})
    by_bench = CliRunner().invoke(cli(), ["aup", str(best)])
    assert by_flag.exit_code == by_bench.exit_code == 0, by_bench.output
    rows = r"│ (\S+)\s+│\s+(\d\.\d{3}) │"
    assert re.findall(rows, by_bench.output) == re.findall(rows, by_flag.output) != []
    assert "good" in by_bench.output and "tau max" in by_bench.output
    assert "warning" not in by_bench.output
    contradicted = CliRunner().invoke(cli(), ["aup", str(best), "--minimize", "A"])
    assert contradicted.exit_code == 1 and "--minimize names A, which the bench.json" in contradicted.output


def test_cli_warns_when_no_direction_is_known(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    bare = write(tmp_path, "bare.csv", "Task,baseline,good\nA,0.5,1.0\nB,4,2\n")
    result = CliRunner().invoke(cli(), ["aup", str(bare)])
    assert result.exit_code == 0 and f"warning: no bench.json beside {bare}: every task there is scored " \
                                      "higher-is-better; name the lower-is-better ones with --minimize" in result.output


def test_aup_help_example_names_the_files_bench_writes():
    from synthml.benchmarks.report import TABLES

    text = " ".join(CliRunner().invoke(cli(), ["aup", "--help"], env={"COLUMNS": "200"}).output.split())
    assert " ".join(f"bench-out/{name}.csv" for name in TABLES) in text and "bench-out/bench.json" in text


def test_identical_profiles_are_drawn_apart():
    taus = np.linspace(0, 1, 500)
    same = np.where(taus < 0.5, 0.5, 1.0)
    lines = profile_figure({"a": same, "b": same, "c": same}, taus, "ties").axes[0].get_lines()
    assert len(lines) == 3 and len({(line.get_linestyle(), line.get_marker()) for line in lines}) == 3
    assert len({line.get_markevery()[0] for line in lines}) == 3  # markers at different taus
