"""Task runtimes: the generic one, and per-task ones built from requirements_path and cached."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthml.envs.env import SynthMLEnv
from synthml.envs.runtime import build_sandbox, ensure_runtime, pip_env, read_requirements, task_runtime
from synthml.errors import TaskError


def test_task_runtime_is_cached_by_its_requirements(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# the standard library is enough\n")
    first = task_runtime(requirements, log=lambda _: None)
    ready = (first.path / "synthml-runtime.json").stat().st_mtime_ns
    requirements.write_text("# comments do not change a runtime\n")
    again = task_runtime(requirements, log=lambda _: None)
    assert again.path == first.path and (again.path / "synthml-runtime.json").stat().st_mtime_ns == ready
    assert first.path.name.startswith("task-") and (first.path / "bin" / "python").exists()


def test_a_task_with_requirements_runs_in_its_own_runtime(task_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    (task_dir / "requirements.txt").write_text("# no packages\n")
    config = yaml.safe_load((task_dir / "task.yaml").read_text())
    config |= {"use_generic_conda": False, "requirements_path": "requirements.txt"}
    (task_dir / "task.yaml").write_text(yaml.safe_dump(config))
    env = SynthMLEnv(task=task_dir)
    env.reset(seed=0)
    prefix = env.step("python -c 'import sys; print(sys.prefix)'")[0].strip()
    assert prefix.startswith(str(tmp_path / "cache" / "runtimes" / "task-"))
    assert "No module named 'numpy'" in env.step("python -c 'import numpy'")[0]
    env.close()


NOT_REQUIREMENTS = ["--index-url https://evil.example/simple", "pkg @ https://x/y.whl", "pkg @ file:///tmp/pkg",
                    "-e git+https://x/y", "-e .", "./local/package", "-r other.txt", ".", "..", "pkg/", "~/pkg",
                    "https://x/y.whl", "git+https://x/y", "six --hash=sha256:ab", "pkg.tar.gz",
                    "pkg-1.0-py3-none-any.whl", "six==${HOME}", "numpy \\"]


@pytest.mark.parametrize("line", NOT_REQUIREMENTS)
def test_task_requirements_are_pep508_requirements_only(tmp_path, monkeypatch, line):
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"numpy  # the array library\n{line}\n")
    with pytest.raises(TaskError) as error:
        task_runtime(requirements, log=lambda _: None)
    assert str(error.value).startswith(f"{requirements}, line 2: '{line}' is not a plain requirement: ")
    assert "Fix: write one package per line" in str(error.value)
    assert not (tmp_path / "cache").exists()  # refused before any build


def test_requirements_reach_pip_by_canonical_name(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\n\nScikit_Learn [alldeps] >= 1.4 ; python_version >= '3'  # note\n"
                            "six.zip.py\nruamel.yaml\n")
    assert read_requirements(requirements) == ['scikit-learn[alldeps]>=1.4; python_version >= "3"', "six-zip-py",
                                               "ruamel-yaml"]


def test_a_name_that_is_also_a_folder_installs_from_the_index(tmp_path, monkeypatch):
    """`six` is a PEP 508 name; a folder `six/` beside it, run from the task's folder, is never built."""
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    marker = tmp_path / "setup-py-ran"
    (tmp_path / "task" / "six").mkdir(parents=True)
    (tmp_path / "task" / "six" / "setup.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "from setuptools import setup\nsetup(name='six', version='99.0')\n")
    (tmp_path / "task" / "requirements.txt").write_text("six\n")
    monkeypatch.chdir(tmp_path / "task")
    runtime = task_runtime(tmp_path / "task" / "requirements.txt", log=lambda _: None)
    version = subprocess.run([runtime.path / "bin" / "python", "-c", "import six; print(six.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    assert version and version != "99.0" and not marker.exists()


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_the_build_sandbox_hides_the_task_and_writes_only_the_runtime(tmp_path, monkeypatch):
    """The hidden folder stands for a task folder outside /tmp (this test file's folder, which has files)."""
    hidden, runtime, scratch = Path(__file__).parent, tmp_path / "runtime", tmp_path / "scratch"
    for folder in (runtime, scratch / "cwd", scratch / "tmp"):
        folder.mkdir(parents=True)
    monkeypatch.setenv("SYNTHML_SECRET", "s3cr3t")
    probe = (f"ls -A {hidden} | wc -l; ls -A /tmp/cwd | wc -l; pwd; touch /usr/x 2>/dev/null || echo READ-ONLY; "
             f"touch {tmp_path}/x; touch {runtime}/ok /tmp/ok && echo WROTE; env | grep -c SYNTHML_SECRET")
    out = subprocess.run([*build_sandbox(shutil.which("bwrap"), runtime, scratch, [hidden]), "sh", "-c", probe],
                         capture_output=True, text=True, env=pip_env(os.environ))
    assert any(hidden.iterdir()) and out.stdout == "0\n0\n/tmp/cwd\nREAD-ONLY\nWROTE\n0\n", out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runtime", "scratch"]
    assert (runtime / "ok").exists() and (scratch / "tmp" / "ok").exists()


def test_pip_gets_only_what_it_needs_of_the_environment():
    host = {"HOME": "/h", "PIP_INDEX_URL": "u", "https_proxy": "p", "SSL_CERT_FILE": "c", "OPENAI_API_KEY": "k",
            "AWS_SECRET_ACCESS_KEY": "k", "LD_PRELOAD": "x.so", "PYTHONPATH": "/x"}
    assert pip_env(host) == {"HOME": "/h", "PIP_INDEX_URL": "u", "https_proxy": "p", "SSL_CERT_FILE": "c"}


def test_a_built_runtime_is_used_without_its_lock(tmp_path, monkeypatch):
    """A user who may read but not write the cache uses a runtime someone else built."""
    monkeypatch.setenv("SYNTHML_CACHE", str(tmp_path / "cache"))
    built = ensure_runtime("bare", [], log=lambda _: None)
    lock = built.path.with_name(built.path.name + ".lock")
    lock.unlink()
    assert ensure_runtime("bare", [], log=lambda _: None) == built and not lock.exists()
    assert built.facts["python"] == sys.version
