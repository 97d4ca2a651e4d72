"""Task runtimes: the generic one, and per-task ones built from requirements_path and cached."""

import pytest
import yaml

from synthml.envs.env import SynthMLEnv
from synthml.envs.runtime import task_runtime
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


@pytest.mark.parametrize("line", ["--index-url https://evil.example/simple", "pkg @ https://x/y.whl",
                                  "-e git+https://x/y", "./local/package", "-r other.txt"])
def test_task_requirements_are_plain_names_only(tmp_path, line):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"numpy\n{line}\n")
    with pytest.raises(TaskError, match="not a plain requirement"):
        task_runtime(requirements, log=lambda _: None)
