"""The env on SWE-ReX's real `local` deployment: the agent's and the evaluator's sandboxes side by side.

The local deployment runs bash on this host with no isolation (hence `unsafe_local`), so the env
takes it only for tasks without hidden files and refuses the others.
"""

import importlib.util

import pytest

from synthml.envs.env import SynthMLEnv, sample_bank
from synthml.errors import SandboxError
from tests.mlgym_layout import write_checkout

pytestmark = pytest.mark.skipif(importlib.util.find_spec("swerex") is None,
                                reason="swe-rex is not installed (pip install 'synthml[swerex]')")
LOCAL = {"type": "swerex", "deployment": {"type": "local"}, "unsafe_local": True}


def test_csv_task_validates_and_submits_through_swerex(tmp_path, runtime):
    """Under an id MLGym's table does not know, nothing of the task is withheld, so a local deployment may run it."""
    checkout = write_checkout(tmp_path)
    config = checkout / "configs/tasks/toyTitanic.yaml"
    config.write_text(config.read_text().replace("id: titanicSurvival", "id: toySurvival")
                      + "metrics: [{name: Accuracy, direction: max}]\n")
    rex = tmp_path / "rex"
    env = SynthMLEnv(task=config, sandbox={**LOCAL, "workspace_dir": str(rex)})
    env.reset(seed=0)
    assert env.step("pwd")[0].startswith(f"{rex}/")
    env.step("printf 'PassengerId,Survived\\n3,1\\n4,0\\n5,0\\n6,0\\n' > submission.csv")
    observation, _, _, _, info = env.step("validate")
    assert "Evaluation Score: {'Accuracy': 0.75}" in observation and info["score"] == {"Accuracy": 0.75}
    _, reward, terminated, _, info = env.step("submit")
    assert terminated and info["exit_status"] == "submitted"
    assert info["score"] == {"Accuracy": 0.75} and reward == pytest.approx(0.5)
    env.close()
    assert not rex.exists()


def test_local_deployment_is_refused_for_a_task_with_hidden_files(runtime):
    env = SynthMLEnv(task=sample_bank() / "diabetes-progression", sandbox=LOCAL)
    with pytest.raises(SandboxError, match="test_labels.csv"):
        env.reset(seed=0)
    env.close()


def test_local_deployment_is_refused_for_a_task_that_records_how_it_was_written(tmp_path, runtime):
    checkout = write_checkout(tmp_path)
    (checkout / "provenance").mkdir()
    (checkout / "provenance/llm_calls.jsonl").write_text('{"reply": "the reference solution"}\n')
    env = SynthMLEnv(task=checkout / "configs/tasks/toyTitanic.yaml", sandbox=LOCAL)
    with pytest.raises(SandboxError, match="provenance"):
        env.reset(seed=0)
    env.close()


def test_local_deployment_is_refused_for_a_task_whose_answers_are_withheld(tmp_path, runtime):
    env = SynthMLEnv(task=write_checkout(tmp_path) / "configs/tasks/toyTitanic.yaml", sandbox=LOCAL)
    with pytest.raises(SandboxError, match="ground_truth.csv"):
        env.reset(seed=0)
    env.close()
