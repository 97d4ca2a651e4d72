"""Task input that reaches the host: requirement lines that pip would build from a local folder or file
(its setup.py would run on the host, as root), and task ids or manifest entries that name host paths
outside the cache, the bank or `synthml bench --out`.

Each case goes through the real loading path (`SynthMLEnv`, `synthml bench`), asserts that nothing ran or
landed on the host, then that the module's env still works.
"""

import io
import json
import re
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from synthml.cli import app
from synthml.envs.env import SynthMLEnv
from synthml.errors import TaskError
from synthml.tasks.report import ValidationReport
from tests.security.helpers import TASK, TOKEN, assert_alive

MARKER = f"synthml-canary-built-{TOKEN}"
SETUP_PY = ("import pathlib, tempfile\n"
            f"pathlib.Path(tempfile.gettempdir(), {MARKER!r}).write_text('setup.py ran on the host')\n"
            "from setuptools import setup\nsetup(name='canary', version='1.0')\n")


def _marker() -> Path:
    return Path(tempfile.gettempdir()) / MARKER


def _task_copy(where: Path, **fields) -> Path:
    """The sample task copied to `where`, its YAML changed by `fields`."""
    shutil.copytree(TASK, where)
    config = yaml.safe_load((where / "task.yaml").read_text()) | fields
    (where / "task.yaml").write_text(yaml.safe_dump(config))
    return where


def _canary_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "setup.py").write_text(SETUP_PY)


def _canary_archive(path: Path) -> None:
    """An sdist holding the canary's setup.py, as .tar(.gz) or .zip, which pip builds when handed its name."""
    data = SETUP_PY.encode()
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("canary-1.0/setup.py", data)
        return
    with tarfile.open(path, "w:gz" if path.name.endswith(("gz", "tgz")) else "w") as archive:
        info = tarfile.TarInfo("canary-1.0/setup.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))


# Each line names, to pip, something local that holds the canary's setup.py; `where` puts it there.
LOCAL_BUILDS = {
    ".": ("task", _canary_folder),
    ".[extra]": ("task", _canary_folder),
    ". ; python_version >= '3'": ("task", _canary_folder),
    "..": ("parent", _canary_folder),
    "canary.tar.gz": ("task/canary.tar.gz", _canary_archive),
    "canary.tgz": ("task/canary.tgz", _canary_archive),
    "canary.tar": ("task/canary.tar", _canary_archive),
    "canary.zip": ("task/canary.zip", _canary_archive),
}


@pytest.mark.parametrize("line", list(LOCAL_BUILDS))
def test_a_requirement_line_never_builds_local_code_on_the_host(fresh, tmp_path, monkeypatch, line):
    """Run from the task's folder (as `synthml run .` is), pip would build `.` or a local sdist there."""
    task_dir = _task_copy(tmp_path / "task", use_generic_conda=False, requirements_path="requirements.txt")
    (task_dir / "requirements.txt").write_text(f"numpy\n{line}\n")
    where, plant = LOCAL_BUILDS[line]
    plant({"task": task_dir, "parent": tmp_path}.get(where, tmp_path / where))
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(task_dir)
    env = SynthMLEnv(task=task_dir)
    try:
        with pytest.raises(TaskError, match=r"requirements\.txt, line 2: .* is not a plain requirement.*Fix:"):
            env.reset(seed=0)
    finally:
        env.close()
    assert not _marker().exists(), "the task's setup.py ran on the host"
    assert not list((tmp_path / "cache").glob("runtimes/task-*")), "a build started for a refused line"
    monkeypatch.undo()
    assert_alive(fresh)


BAD_IDS = {
    "parent-escape": f"../../escape-{TOKEN}",
    "nested-escape": f"x/../../../escape-{TOKEN}",
    "absolute": "{tmp}/escape",
    "slash": "a/b",
    "dot-dot": "..",
    "dot": ".",
    "hidden": ".hidden",
    "empty": "",
    "too-long": "x" * 300,
    "newline": "a\nb",
    "nul": "a\0b",
    "option-like": "-rf",
}


def _outside(root: Path, allowed: list[Path]) -> list[Path]:
    """Everything under `root` but outside the `allowed` folders."""
    return [p for p in root.rglob("*") if not any(p == a or p.is_relative_to(a) or a.is_relative_to(p)
                                                  for a in allowed)]


@pytest.mark.parametrize("case", list(BAD_IDS))
def test_a_task_id_that_is_not_a_slug_is_refused_at_load(fresh, tmp_path, monkeypatch, case):
    """The id names the workspace cache's folder: `../..` or an absolute id wrote outside the cache. The fake
    backend lets the cache be private to the test (no runtime is needed), so any write outside it shows."""
    task_id = BAD_IDS[case].replace("{tmp}", str(tmp_path))
    task_dir = _task_copy(tmp_path / "bank" / "task", id=task_id)
    cache = tmp_path / "deep" / "er" / "cache"
    monkeypatch.setenv("SYNTHML_CACHE", str(cache))
    with pytest.raises(TaskError, match=rf"{re.escape(str(task_dir / 'task.yaml'))}: field 'id': .*is not a task id"):
        env = SynthMLEnv(task=task_dir, sandbox="fake")
        env.reset(seed=0)
        env.close()
    assert _outside(tmp_path, [tmp_path / "bank", cache]) == []
    monkeypatch.undo()
    assert_alive(fresh)


def _entry(task_id: str) -> str:
    """A manifest line that accepts `task_id` (written raw: the model refuses such ids)."""
    return json.dumps({"manifest_version": 1, "task_id": task_id, "status": "accepted", "version": "0" * 16,
                       "generator": "handwritten", "key": "k", "report": ValidationReport().model_dump(mode="json"),
                       "created_at": "2025-01-01T00:00:00Z"}) + "\n"


def _bank_with_yaml_id(tmp_path: Path, task_id: str) -> Path:
    _task_copy(tmp_path / "bank" / "task", id=task_id)
    return tmp_path / "bank"


def _bank_with_manifest_id(tmp_path: Path, task_id: str) -> Path:
    """A bank whose manifest accepts a task that lies outside it (a real task dir)."""
    _task_copy(tmp_path / "outside")
    (tmp_path / "bank").mkdir()
    (tmp_path / "bank" / "manifest.jsonl").write_text(_entry(task_id))
    return tmp_path / "bank"


BENCH_BANKS = {
    "yaml-id-escapes-out": (_bank_with_yaml_id, f"../../../../escape-{TOKEN}", r"field 'id'"),
    "yaml-id-absolute": (_bank_with_yaml_id, "{tmp}/escape", r"field 'id'"),
    "manifest-id-escapes-bank": (_bank_with_manifest_id, "../outside", r"manifest\.jsonl, line 1: .*task_id"),
    "manifest-id-absolute": (_bank_with_manifest_id, "{tmp}/outside", r"manifest\.jsonl, line 1: .*task_id"),
}


@pytest.mark.parametrize("case", list(BENCH_BANKS))
def test_bench_on_a_hostile_bank_writes_nothing_outside_out(fresh, tmp_path, case):
    make_bank, task_id, message = BENCH_BANKS[case]
    bank = make_bank(tmp_path, task_id.replace("{tmp}", str(tmp_path)))
    out = tmp_path / "deep" / "er" / "out"
    result = CliRunner().invoke(app, ["bench", "--tasks", str(bank), "--out", str(out), "--agents", "baseline",
                                      "--runs", "1", "--max-steps", "5", "--workers", "1"])
    assert result.exit_code == 1, result.output
    assert re.search(rf"error: .*{message}", result.output), result.output
    assert _outside(tmp_path, [bank, out, tmp_path / "outside"]) == []
    assert not (out / "trajectories.jsonl").exists(), "an episode was played on a task outside the bank"
    assert_alive(fresh)
