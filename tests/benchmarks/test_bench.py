"""`synthml bench`: real agents on a real bank in the bubblewrap sandbox; MLGym's tables and files, AUP, the
report, and a killed bench that resumes without playing anything twice; MLGym checkouts (an MLGym-layout
fixture, and the real checkout at SYNTHML_MLGYM_ROOT), whose tasks that cannot run here are listed as skipped."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from synthml.agents.llm import OpenAIChatConfig
from synthml.agents.trajectory import ScoreRecord, Trajectory
from synthml.benchmarks.aup import read_table
from synthml.benchmarks.bench import rebuild_report, run_bench, run_dir
from synthml.benchmarks.bench_config import BenchConfig
from synthml.benchmarks.report import BASELINE_AGENT_NOTE, SPLIT_RULE, score_tables, write_report
from synthml.cli import app as synthml_app
from synthml.cli import friendly
from synthml.cli_bench import bench_command
from synthml.envs.env import sample_bank
from synthml.errors import SynthMLError, TaskError
from synthml.tasks.selection import TaskRef, resolve_tasks
from synthml.tasks.task import load_task
from synthml.training.store import RolloutStore
from tests.conftest import CLASSIFICATION, REGRESSION
from tests.tasks.test_mlgym import GAME_NOISE, GAME_SCORE, HOUSE_SCORES, MLGYM_CPU_TASKS, MLGYM_ROOT, write_checkout

pytestmark = pytest.mark.usefixtures("runtime")
AGENTS = ["baseline", "expert"]
RUNS = 2
TASKS = 2
JOBS = TASKS * len(AGENTS) * RUNS
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tasks_spec(runtime) -> str:
    """Two validated CSV tasks, one lower-is-better, one higher-is-better: the sample bank's, since a generated
    bank is now mostly program tasks (games, heuristics, ...), which the expert agent does not play."""
    tasks = resolve_tasks(sample_bank()).tasks
    lower = [t.id for t in tasks if t.direction < 0 and t.baseline is not None]
    higher = [t.id for t in tasks if t.direction > 0 and t.baseline is not None]
    assert lower and higher, [(t.id, t.direction, t.baseline) for t in tasks]
    return f"{sample_bank()}:{lower[0]},{higher[0]}"


@pytest.fixture(scope="module")
def bench(tasks_spec, tmp_path_factory):
    """baseline and expert, two runs each on both tasks (about two minutes on two cores)."""
    out = tmp_path_factory.mktemp("bench") / "out"
    return run_bench(tasks_spec, AGENTS, RUNS, out, workers=2, max_steps=20)


@pytest.fixture
def bench_copy(bench, tmp_path) -> Path:
    """A private copy of the bench's output, free to damage."""
    return Path(shutil.copytree(bench.out, tmp_path / "out"))


def stored(out: Path) -> list[Trajectory]:
    """The finished episodes in a bench's store."""
    return list(RolloutStore(out).trajectories())


def shard(out: Path) -> Path:
    return out / "trajectories" / "part-00000.jsonl"


def cli() -> typer.Typer:
    """The bench command as `synthml` registers it."""
    app = typer.Typer()
    app.command("bench")(friendly(bench_command))
    app.command("noop")(lambda: None)  # two commands, so typer keeps the command name
    return app


def printed_aups(output: str) -> list[dict[str, str]]:
    """Each table `synthml aup` printed, as {model: AUP text}."""
    tables: list[dict[str, str]] = []
    for line in output.splitlines():
        if line.strip().endswith(".csv"):
            tables.append({})
        elif match := re.match(r"^│ (\S+)\s+│\s+(\d\.\d{3}) │$", line):
            tables[-1][match[1]] = match[2]
    return tables


def test_resolve_tasks_reads_a_bank_and_picks_ids():
    assert [t.id for t in resolve_tasks(sample_bank()).tasks] == sorted([CLASSIFICATION, REGRESSION])
    [picked], skipped = resolve_tasks(f"{sample_bank()}:{REGRESSION}")
    assert (picked.id, picked.metric, picked.direction, skipped) == (REGRESSION, "rmse", -1, [])
    assert picked.baseline is not None and Path(picked.spec).is_dir() and len(picked.version) == 16
    task = load_task(picked.spec)  # a SynthML task: attempts are on its validation split, beside that baseline
    assert (picked.attempt_split, picked.attempt_baseline) == ("validation", task.baseline_validation_score)
    assert picked.attempt_baseline != picked.baseline == task.baseline_score
    many = ",".join([REGRESSION, CLASSIFICATION] * 20)  # longer than a file name may be
    assert [t.id for t in resolve_tasks(f"{sample_bank()}:{many}").tasks] == [REGRESSION, CLASSIFICATION]


def test_resolve_tasks_says_what_is_wrong(tmp_path):
    with pytest.raises(SynthMLError, match="no task 'diabetes-progresion'.*did you mean 'diabetes-progression'"):
        resolve_tasks(f"{sample_bank()}:diabetes-progresion")
    with pytest.raises(SynthMLError, match="no such folder"):
        resolve_tasks(tmp_path / "missing")
    with pytest.raises(SynthMLError, match="no accepted tasks"):
        resolve_tasks(tmp_path)
    (tmp_path / "configs" / "tasks").mkdir(parents=True)
    with pytest.raises(SynthMLError, match="no MLGym task chosen runs here"):
        resolve_tasks(tmp_path)


def test_run_files_stay_inside_out_whatever_the_task_id(tmp_path):
    assert run_dir(tmp_path, "expert", "house-prices", 2) == tmp_path / "runs" / "expert" / "house-prices" / "run_2"
    for task_id in ["../../../x", str(tmp_path.parent / "x")]:
        with pytest.raises(TaskError, match=f"would place this outside {tmp_path / 'runs'}"):
            run_dir(tmp_path, "expert", task_id, 0)


def test_a_bank_task_with_a_bad_id_stops_the_bench_before_anything_is_written(tmp_path):
    shutil.copytree(sample_bank() / "diabetes-progression", tmp_path / "bank" / "task")
    task_yaml = tmp_path / "bank" / "task" / "task.yaml"
    task_yaml.write_text(task_yaml.read_text().replace("id: diabetes-progression", "id: ../../../../up"))
    with pytest.raises(TaskError, match=f"{task_yaml}: field 'id'"):
        run_bench(tmp_path / "bank", ["baseline"], 1, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank"]


def test_bench_refuses_bad_flags_before_running_anything(tmp_path):
    with pytest.raises(SynthMLError, match="unknown agent 'expret'"):
        run_bench(sample_bank(), ["expret"], 1, tmp_path / "a")
    with pytest.raises(SynthMLError, match="needs --llm-model"):
        run_bench(sample_bank(), ["llm"], 1, tmp_path / "b")
    with pytest.raises(SynthMLError, match="sandbox='bwarp' is not a backend"):
        run_bench(sample_bank(), ["baseline"], 1, tmp_path / "c", sandbox="bwarp")
    assert not (tmp_path / "a").exists()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_bench_plays_every_job_and_writes_mlgym_files(bench, tasks_spec):
    tasks = resolve_tasks(tasks_spec).tasks
    assert bench.count("ran") == JOBS and bench.count("infra_error") == 0
    trajectories = stored(bench.out)
    assert len(trajectories) == JOBS
    assert {(t.agent, t.task_id, t.run) for t in trajectories} == {
        (a, t.id, r) for a in AGENTS for t in tasks for r in range(RUNS)}
    for t in trajectories:
        folder = run_dir(bench.out, t.agent, t.task_id, t.run)
        results = json.loads((folder / "results.json").read_text())
        assert set(results) == {"agent", "baseline"} and results["agent"], results
        assert all(isinstance(scores, dict) and t.metric in scores for scores in results["agent"])
        assert results["baseline"][t.metric] == pytest.approx(t.baseline["test"])
        assert json.loads((folder / f"{t.task_id}.traj").read_text())


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_tables_have_mlgym_shape_and_the_expert_wins(bench, tasks_spec):
    tasks = [t.id for t in resolve_tasks(tasks_spec).tasks]
    for name in ("best_attempt", "best_submission"):
        raw = pd.read_csv(bench.out / f"{name}.csv")
        assert list(raw.columns) == ["Task", "baseline", "baseline_agent", "expert"]
        assert list(raw["Task"]) == tasks and not raw.isna().any().any()
        assert read_table(bench.out / f"{name}.csv").shape == (len(tasks), 3)
    submission = read_table(bench.out / "best_submission.csv")
    assert submission["baseline_agent"].to_numpy() == pytest.approx(submission["baseline"].to_numpy())
    attempt = read_table(bench.out / "best_attempt.csv")  # both on the validation split, not test
    assert attempt["baseline_agent"].to_numpy() == pytest.approx(attempt["baseline"].to_numpy())
    assert attempt["baseline"].to_numpy() != pytest.approx(submission["baseline"].to_numpy())
    aups = bench.report.aups("best_submission")
    assert aups["expert"] > aups["baseline"] and aups["expert"] > aups["baseline_agent"]
    assert aups["expert"] == pytest.approx(bench.report.comparison.tau_max)  # best on every task


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_report_has_every_section_and_plots(bench):
    text = (bench.out / "report.md").read_text()
    for heading in ("## Setup", "## AUP", "## Scores per task", "## Exit statuses", "## Infra errors", "## Time"):
        assert heading in text
    for plot in bench.report.plots:
        assert plot.read_bytes()[:8] == PNG and f"]({plot.name})" in text
    assert len(bench.report.plots) == 2
    exits = text.split("## Exit statuses")[1].split("##")[0]
    header, _, *rows = [line.strip("|").split(" | ") for line in exits.strip().splitlines()[0:]]
    assert "infra_error" not in header and header[-1].strip() == "not run"
    assert {row[0].strip(): row[-1].strip() for row in rows} == {"baseline": "0", "expert": "0"}
    assert bench.report.path == rebuild_report(bench.out).path  # rebuilt from the saved files alone


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_report_aup_table_matches_synthml_aup(bench, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    report = bench.report
    args = ["aup", str(bench.out / "best_attempt.csv"), str(bench.out / "best_submission.csv")]
    if report.minimize:
        args += ["--minimize", ",".join(report.minimize)]
    result = CliRunner().invoke(synthml_app, args)
    assert result.exit_code == 0, result.output
    printed = printed_aups(result.output)
    rows = re.findall(r"^\| (\S+) \| (\d\.\d{3}) \| (\d\.\d{3}) \|$", report.path.read_text(), re.MULTILINE)
    assert len(rows) == 3
    assert printed == [{model: attempt for model, attempt, _ in rows}, {model: last for model, _, last in rows}]
    assert f"tau max {report.comparison.tau_max:.1f}" in result.output


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_lost_trajectory_is_played_again_and_nothing_else(bench_copy, tasks_spec):
    path = shard(bench_copy)
    lines = path.read_text().splitlines(keepends=True)
    lost = json.loads(lines.pop(next(n for n, line in enumerate(lines) if json.loads(line)["agent"] == "baseline")))
    path.write_text("".join(lines))
    again = run_bench(tasks_spec, AGENTS, RUNS, bench_copy, workers=2, max_steps=20)
    [ran] = [r for r in again.jobs if r.status == "ran"]
    assert (ran.job.agent, ran.job.task.id, ran.job.run) == (lost["agent"], lost["task_id"], lost["run"])
    assert again.count("skipped") == len(lines)
    assert len(stored(bench_copy)) == len(lines) + 1


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_bench_from_before_the_store_is_taken_in_not_played_again(bench_copy, tasks_spec):
    """An older bench kept every trajectory in OUT/trajectories.jsonl, with ids that did not name the agent."""
    legacy = [t.model_copy(update={"episode_id": t.episode_id.split("/", 1)[1]}) for t in stored(bench_copy)]
    shutil.rmtree(bench_copy / "trajectories")
    (bench_copy / "trajectories.jsonl").write_text("".join(t.model_dump_json() + "\n" for t in legacy))
    again = run_bench(tasks_spec, AGENTS, RUNS, bench_copy, workers=2, max_steps=20)
    assert again.count("skipped") == JOBS and again.count("ran") == 0
    assert sorted(t.trajectory_id for t in stored(bench_copy)) == sorted(t.trajectory_id for t in legacy)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_cli_bench_resumes_prints_aup_and_report(bench_copy, tasks_spec, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    args = ["bench", "--tasks", tasks_spec, "--agents", ",".join(AGENTS), "--runs", str(RUNS), "--out",
            str(bench_copy), "--max-steps", "20"]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    assert f"0 episode(s) played, {JOBS} already done" in result.output
    assert "AUP best submission" in result.output and f"report: {bench_copy / 'report.md'}" in result.output


@pytest.mark.slow
def test_a_killed_bench_resumes_where_it_stopped(tmp_path):
    out, task = tmp_path / "out", f"{sample_bank()}:{CLASSIFICATION}"
    code = ("from synthml.benchmarks.bench import run_bench; import sys; "
            f"run_bench({task!r}, ['baseline'], 3, {str(out)!r}, workers=1, max_steps=10)")
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not stored(out) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = len(stored(out))
    assert 1 <= before < 3
    again = run_bench(task, ["baseline"], 3, out, workers=1, max_steps=10)
    assert again.count("skipped") == before and again.count("ran") == 3 - before
    assert sorted(t.run for t in stored(out)) == [0, 1, 2]


def test_an_unreachable_llm_is_an_infra_error_and_runs_again(tmp_path):
    llm = OpenAIChatConfig(model="nobody", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout_s=5)
    task = f"{sample_bank()}:{REGRESSION}"
    first = run_bench(task, ["llm"], 1, tmp_path, workers=1, max_steps=5, llm_config=llm)
    [failed] = first.jobs
    assert failed.status == "infra_error" and "unreachable" in failed.error
    assert not run_dir(tmp_path, "llm", REGRESSION, 0).exists()  # nothing scored
    text = (tmp_path / "report.md").read_text()
    assert "## Infra errors" in text and "llm / diabetes-progression / run 0" in text
    assert pd.read_csv(tmp_path / "best_submission.csv")["llm"].isna().all()
    again = run_bench(task, ["llm"], 1, tmp_path, workers=1, max_steps=5, llm_config=llm)
    assert [r.status for r in again.jobs] == ["infra_error"]
    assert stored(tmp_path) == [] and len(RolloutStore(tmp_path).attempts()) == 2


def trajectory(agent: str, task: str, run: int, scores: list[tuple[str, float]], infra: str | None = None):
    return Trajectory(agent=agent, task_id=task, task_version="v", run=run, metric="m", exit_status="submitted",
                      scores=[ScoreRecord(split=split, metrics={"m": value}) for split, value in scores],
                      baseline_metrics={"m": 1.0}, infra_error=infra, started_at=datetime.now(UTC))


def test_each_table_is_on_one_split_beside_that_splits_baseline(tmp_path):
    """Best attempt: on the validation split where a task has one (`up`, `mid`), else on test, where MLGym's
    validate scores too (`down`); best submission: the final test score. A test score never enters the best
    attempt of a task with a validation split, and a validate score is never a submission."""
    tasks = [TaskRef(id="up", spec="up", version="v", metric="m", direction=1, baseline=0.5,
                     attempt_split="validation", attempt_baseline=0.45),
             TaskRef(id="down", spec="down", version="v", metric="m", direction=-1, baseline=4.0,
                     attempt_split="test", attempt_baseline=4.0),
             TaskRef(id="mid", spec="mid", version="v", metric="m", direction=1, baseline=0.4,
                     attempt_split="validation", attempt_baseline=0.5)]
    config = BenchConfig(tasks=tasks, agents=["baseline", "a"], runs=2, workers=1, sandbox="bwrap", max_steps=5,
                         started_at=datetime.now(UTC))
    runs = [trajectory("a", "up", 0, [("validation", 0.9), ("test", 0.95)]),  # test 0.95 is no attempt here
            trajectory("a", "up", 1, [("validation", 0.7), ("test", 0.8)]),
            trajectory("a", "down", 0, [("validation", 2.0), ("test", 3.0)]),  # MLGym: validate 2.0 is on test
            trajectory("a", "down", 1, [("test", 1.0)], infra="sandbox died"),  # never scored
            trajectory("a", "mid", 0, [("validation", 0.6)]),  # its submission failed: no final test score
            trajectory("a", "mid", 1, [("validation", 0.3), ("test", 0.2)]),
            trajectory("baseline", "up", 0, [("validation", 0.45), ("test", 0.5)])]
    tables = score_tables(config, runs)
    nan = float("nan")
    expected = {"best_attempt": [[0.45, 0.45, 0.9], [4.0, nan, 2.0], [0.5, nan, 0.6]],
                "best_submission": [[0.5, 0.5, 0.95], [4.0, nan, 3.0], [0.4, nan, 0.2]]}
    for name, rows in expected.items():
        frame = pd.DataFrame(rows, index=pd.Index(["up", "down", "mid"], name="Task"),
                             columns=["baseline", "baseline_agent", "a"])
        pd.testing.assert_frame_equal(tables[name], frame)
    report = write_report(tmp_path, config, runs, wall_seconds=1.0)
    assert report.minimize == ["down"] and set(report.aups("best_attempt")) == {"baseline", "baseline_agent", "a"}
    assert report.aups("best_attempt")["a"] == report.comparison.tau_max  # best on every task's attempt split
    assert report.aups("best_submission")["a"] < report.comparison.tau_max  # worse than the baseline on mid
    assert pd.read_csv(tmp_path / "best_submission.csv", keep_default_na=False).loc[1, "baseline_agent"] == ""
    text = report.path.read_text()
    assert SPLIT_RULE in text and "## Skipped tasks" not in text
    assert "a / down / run 1: sandbox died" in text
    assert "| up | m ↑ | a | validation | 0.45 | 0.9 | 0.5 | 0.95 | 0.875 ± 0.11 | 2/2 |" in text
    assert "| down | m ↓ | a | test | 4 | 2 | 4 | 3 | 3 | 1/2 |" in text
    assert "| mid | m ↑ | a | validation | 0.5 | 0.6 | 0.4 | 0.2 | 0.2 | 1/2 |" in text
    # the agent keeps its name where nothing collides; the tables and AUP say why their column is baseline_agent
    assert "| up | m ↑ | baseline | validation | 0.45 | 0.45 | 0.5 | 0.5 | 0.5 | 1/2 |" in text
    assert "| baseline | 0 | 1 | 5 |" in text and "baseline_agent |" not in text.split("## Scores per task")[1]
    assert BASELINE_AGENT_NOTE in text.split("## Scores per task")[0]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout in MLGym's layout (tests/tasks/test_mlgym.py): a seeded game that runs, a house price task whose
    split is not generated yet, and configs that need a GPU, a download or another entrypoint."""
    return write_checkout(tmp_path / "MLGym")


def test_mlgym_ids_name_configs_or_tasks_and_typos_get_a_hint(checkout):
    [game], skipped = resolve_tasks(f"{checkout}:battleOfSexes,tasks/battleOfSexes.yaml,rlMetaMazeMisc")
    assert (game.id, game.attempt_split, game.attempt_baseline, game.baseline) == ("battleOfSexes", "test",
                                                                                   GAME_SCORE, GAME_SCORE)
    assert [(t.id, t.config) for t in skipped] == [("rlMetaMazeMisc", "tasks/rlMetaMaze.yaml")]
    assert "installs jax[cuda12]" in skipped[0].reason
    assert [t.id for t in resolve_tasks(f"{checkout}:tasks/titanic.yaml").tasks] == ["titanicSurvival"]  # named
    with pytest.raises(SynthMLError, match="no MLGym task 'battleOfSex' .*did you mean 'battleOfSexes'"):
        resolve_tasks(f"{checkout}:battleOfSex")
    with pytest.raises(SynthMLError, match="no MLGym task 'tasks/rlMetaMaze.yml'.*did you mean 'tasks/rlMetaMaze"):
        resolve_tasks(f"{checkout}:tasks/rlMetaMaze.yml")
    with pytest.raises(SynthMLError, match=r"no MLGym task chosen runs here \(regressionKaggleHousePrice: data not "
                                           r"generated.*pass --prepare"):
        resolve_tasks(f"{checkout}:regressionKaggleHousePrice")


@pytest.mark.slow
def test_cli_benches_an_mlgym_checkout_and_reports_what_it_skipped(checkout, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "out"
    args = ["bench", "--tasks", str(checkout), "--agents", "baseline", "--runs", "1", "--out", str(out)]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    [played] = stored(out)
    assert (played.task_id, played.exit_status, played.final) == ("battleOfSexes", "submitted", {"Score": GAME_SCORE})
    for name in ("best_attempt", "best_submission"):  # MLGym's validate and submit both score test
        assert read_table(out / f"{name}.csv").loc["battleOfSexes"].to_dict() == {"baseline": GAME_SCORE,
                                                                               "baseline_agent": GAME_SCORE}
    skipped = BenchConfig.model_validate_json((out / "bench.json").read_text()).skipped
    stems = ["regressionKaggleHousePrice", "imageClassificationCifar10", "languageModelingFineWeb", "rlMetaMaze",
             "regressionHousingPrice", "titanic"]
    assert sorted(t.config for t in skipped) == sorted(f"tasks/{stem}.yaml" for stem in stems)
    house = next(t for t in skipped if t.id == "regressionKaggleHousePrice")
    assert "data not generated" in house.reason and house.reason.endswith("pass --prepare to generate it with "
                                                                          "MLGym's own helper")
    text = (out / "report.md").read_text().split("## Skipped tasks")[1].split("##")[0]
    assert f"- regressionKaggleHousePrice (tasks/regressionKaggleHousePrice.yaml): {house.reason}\n" in text
    assert f"- titanicSurvival (tasks/titanic.yaml): not one of MLGym-Bench's 13 tasks; name it to bench it " \
           f"(--tasks {checkout.resolve()}:tasks/titanic.yaml)" in text
    assert "6 task(s) skipped" in result.output and "installs jax[cuda12]" in result.output


@pytest.mark.slow
def test_prepare_generates_the_house_price_split_with_mlgyms_helper(checkout, tmp_path):
    """--prepare runs MLGym's own split script (in the mlgym-helpers runtime, built once), then the baseline
    reproduces the recorded scores."""
    result = run_bench(f"{checkout}:tasks/regressionKaggleHousePrice.yaml", ["baseline"], 1, tmp_path, prepare=True)
    assert (checkout / "data/regressionKaggleHousePrice/data/answer.csv").is_file()
    assert result.count("ran") == 1 and result.skipped_tasks == []
    [played] = stored(tmp_path)
    assert played.final == pytest.approx(HOUSE_SCORES, rel=1e-9)
    assert read_table(tmp_path / "best_submission.csv").loc["regressionKaggleHousePrice", "baseline_agent"] == \
        pytest.approx(HOUSE_SCORES["r2"], rel=1e-9)


@pytest.mark.mlgym
@pytest.mark.timeout(900)
def test_mlgym_baseline_bench_reproduces_mlgyms_baseline_scores(tmp_path):
    """The real checkout: its 4 CPU tasks run (the house price split made by MLGym's helper), the other 9 of
    MLGym-Bench's 13 are skipped with why, and the baseline agent's submissions score MLGym's baseline_scores."""
    if not MLGYM_ROOT:
        pytest.skip("set SYNTHML_MLGYM_ROOT to an MLGym checkout (github.com/facebookresearch/MLGym) to run its tasks")
    result = run_bench(MLGYM_ROOT, ["baseline"], 1, tmp_path, workers=2, prepare=True)
    assert sorted(Path(t.spec).name for t in result.config.tasks) == sorted(Path(r).name for r in MLGYM_CPU_TASKS)
    assert result.count("ran") == 4 and len([t for t in result.skipped_tasks if "13 tasks" not in t.reason]) == 9
    for played in stored(tmp_path):
        task = load_task(next(t.spec for t in result.config.tasks if t.id == played.task_id))
        recorded = task.config.baseline_scores[0]
        assert played.exit_status == "submitted", played.task_id
        if task.config.task_entrypoint == "PythonSubmissionTasks":  # Monte-Carlo evaluators
            assert played.final["Score"] == pytest.approx(recorded["Score"], abs=GAME_NOISE), played.task_id
        else:
            assert played.final == pytest.approx(recorded, rel=1e-9), played.task_id
