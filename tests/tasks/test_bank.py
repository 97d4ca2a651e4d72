"""The bank on disk: killed mid-run and resumed, reproducible from its seed, exported losslessly, and
read through the CLI."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthml.errors import TaskError
from synthml.tasks.bank import MANIFEST, TaskBank
from synthml.tasks.task import load_task

pytestmark = pytest.mark.usefixtures("runtime")
SYNTHML = str(Path(sys.executable).with_name("synthml"))
N, SEED = 4, 7
# Program families: a generated CSV candidate is now mostly rejected (saturated, no headroom), these are accepted,
# so the bank has tasks to resume, export, list and show.
FAMILIES = "games,heuristics,rl_control,training_program"


def _generate(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([SYNTHML, "generate", "--out", str(out), "--n", str(N), "--seed", str(SEED),
                             "--workers", "2", "--families", FAMILIES, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _recorded(out: Path) -> bool:
    manifest = out / MANIFEST
    return manifest.is_file() and manifest.read_text().count("\n") >= 1


def _versions(out: Path) -> dict[str, str | None]:
    return {e.task_id: e.version for e in TaskBank(out).entries()}


@pytest.fixture(scope="module")
def uninterrupted(runtime, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "bank"
    process = _generate(out)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output
    assert "accepted" in output and "dataset" in output
    return out


def test_killed_generate_leaves_a_consistent_bank_and_resumes_to_the_same_one(uninterrupted, tmp_path):
    out = tmp_path / "bank"
    process = _generate(out)
    deadline = time.monotonic() + 300
    while not _recorded(out) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed = TaskBank(out)
    assert 0 < len(killed.entries()) <= N
    assert [p for p in killed.problems() if "leftover staging" not in p] == []
    for entry in killed.accepted():
        assert load_task(out / entry.task_id).version == entry.version
    resumed = _generate(out)
    output, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, output
    assert TaskBank(out).problems() == []
    assert _versions(out) == _versions(uninterrupted)  # same seed, same bank: killed or not
    assert not (out / ".staging").exists()


def test_export_is_lossless(uninterrupted, tmp_path):
    import datasets

    out = tmp_path / "bank.parquet"
    cli = subprocess.run([SYNTHML, "bank", "export", str(uninterrupted), "--out", str(out)], capture_output=True,
                         text=True)
    assert cli.returncode == 0, cli.stderr
    rows = datasets.load_dataset("parquet", data_files=str(out), split="train")
    accepted = TaskBank(uninterrupted).accepted()
    assert sorted(rows["task_id"]) == sorted(e.task_id for e in accepted)
    row = rows[0]
    rebuilt = tmp_path / row["task_id"]
    for file in row["files"]:
        (rebuilt / file["path"]).parent.mkdir(parents=True, exist_ok=True)
        (rebuilt / file["path"]).write_bytes(file["content"])
    assert load_task(rebuilt).version == row["version"]
    hidden = load_task(uninterrupted / row["task_id"]).hidden_files  # the hidden test split goes along too
    assert hidden and set(hidden) <= {f["path"] for f in row["files"]}, hidden


def test_bank_list_and_show(uninterrupted):
    wide = {**os.environ, "COLUMNS": "250"}
    listed = subprocess.run([SYNTHML, "bank", "list", str(uninterrupted)], capture_output=True, text=True, env=wide)
    assert listed.returncode == 0, listed.stderr
    first = TaskBank(uninterrupted).accepted()[0]
    assert first.task_id in listed.stdout
    shown = subprocess.run([SYNTHML, "bank", "show", str(uninterrupted), first.task_id], capture_output=True,
                           text=True)
    assert shown.returncode == 0 and '"headroom"' in shown.stdout and "SUBMISSION FORMAT" in shown.stdout


def test_cli_names_a_missing_bank_and_an_unknown_task(uninterrupted, tmp_path):
    missing = subprocess.run([SYNTHML, "bank", "list", str(tmp_path)], capture_output=True, text=True)
    assert missing.returncode == 1 and "no manifest.jsonl" in missing.stdout and "synthml generate" in missing.stdout
    unknown = subprocess.run([SYNTHML, "bank", "show", str(uninterrupted), "nope"], capture_output=True, text=True)
    assert unknown.returncode == 1 and "no task 'nope'" in unknown.stdout


def test_a_corrupt_manifest_line_is_named(uninterrupted, tmp_path):
    from synthml.errors import TaskError

    copy = tmp_path / "bank"
    copy.mkdir()
    lines = (uninterrupted / MANIFEST).read_text().splitlines()
    (copy / MANIFEST).write_text("\n".join([lines[0], lines[1][: len(lines[1]) // 2]]) + "\n")
    with pytest.raises(TaskError, match=r"manifest.jsonl, line 2: not a manifest entry"):
        TaskBank(copy)


def test_a_second_writer_is_refused_while_the_first_holds_the_bank(tmp_path):
    first, second = TaskBank(tmp_path / "bank"), TaskBank(tmp_path / "bank")
    with first.exclusive(), pytest.raises(TaskError, match="another `synthml generate` is writing this bank"), \
            second.exclusive():
        pass
    with second.exclusive():  # let go when the first run ended
        pass
