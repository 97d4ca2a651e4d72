import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from synthml.envs.env import SynthMLEnv, sample_bank
from synthml.envs.runtime import generic_runtime

REGRESSION = "diabetes-progression"
CLASSIFICATION = "breast-cancer-diagnosis"


@pytest.fixture(scope="session")
def runtime() -> Path:
    """The generic task runtime; `.ci/run` builds it before the tests (built here on first use)."""
    return generic_runtime().path


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    """A private copy of the regression sample task, free to modify."""
    dest = tmp_path / REGRESSION
    shutil.copytree(sample_bank() / REGRESSION, dest)
    return dest


@pytest.fixture
def good_task(tmp_path: Path) -> Path:
    """A task the breast-cancer classification family writes; it validates as it stands."""
    from synthml.task_bank.catalog import get_entry, load_table
    from synthml.task_bank.draft import write_task
    from synthml.task_bank.families import FAMILIES

    entry = get_entry("sklearn/breast_cancer")
    knobs = {"metric": "accuracy", "train_fraction": 1.0, "twist": "none"}
    draft = FAMILIES["tabular_classification"].build(entry, load_table(entry), knobs, 0, "breast-cancer-good")
    return write_task(draft, tmp_path / "breast-cancer-good")


@pytest.fixture
def env(runtime: Path):
    env = SynthMLEnv(task=sample_bank() / REGRESSION, max_steps=20, command_timeout=10)
    yield env
    env.close()
