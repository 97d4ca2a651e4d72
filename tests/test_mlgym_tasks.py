"""Tasks in MLGym's layout run and score with their own evaluators, from the pristine copy."""

import pytest

from synthml.envs.env import SynthMLEnv
from tests.mlgym_layout import write_checkout


@pytest.fixture
def checkout(tmp_path, runtime):
    return write_checkout(tmp_path)


def test_csv_submission_task_scores_with_its_own_evaluate(checkout):
    env = SynthMLEnv(task=checkout / "configs/tasks/toyTitanic.yaml")
    env.reset(seed=0)
    assert "answers.csv" in env.step("ls data")[0]
    env.step("printf 'PassengerId,Survived\\n3,1\\n4,0\\n5,0\\n6,0\\n' > submission.csv")
    assert "Evaluation Score: {'Accuracy': 0.75}" in env.step("validate")[0]
    env.step("rm evaluate.py")
    _, reward, terminated, _, info = env.step("submit")
    assert terminated and info["score"] == {"Accuracy": 0.75} and reward == pytest.approx(0.5)
    env.close()


def test_python_submission_task_uses_the_pristine_partner(checkout):
    env = SynthMLEnv(task=checkout / "configs/tasks/toyBattleOfSexes.yaml")
    env.reset(seed=0)
    assert env.step("validate")[4]["score"] == {"Score": 0.5}
    env.step("printf 'def row_strategy(history):\\n    return 0\\n' > strategy.py")
    env.step("printf 'def target_column_strategy(history):\\n    return 0\\n' > target.py")
    _, reward, _, _, info = env.step("submit")
    assert info["score"] == {"Score": 1.0} and reward == pytest.approx(0.0)
    env.close()


def test_model_submission_task_finds_its_config_and_checkpoints(checkout):
    env = SynthMLEnv(task=checkout / "configs/tasks/toyModel.yaml")
    env.reset(seed=0)
    assert "Submission artefact not found" in env.step("validate")[0]
    env.step("mkdir checkpoints && echo 3 > checkpoints/model.txt && echo 'scale: 5' > config.yaml")
    _, reward, _, _, info = env.step("submit")
    assert info["score"] == {"Reward Mean": 15.0, "Reward Std": 0.0} and reward == pytest.approx(0.5)
    env.close()


def test_lm_submission_task_stops_with_a_clear_message_without_gpus(checkout):
    env = SynthMLEnv(task=checkout / "configs/tasks/toyLM.yaml")
    env.reset(seed=0)
    assert "Submission artefact not found" in env.step("validate")[0]
    env.step("touch model.pt model_config.pt")
    assert "needs GPUs and torchrun" in env.step("validate")[0]
    _, reward, _, _, info = env.step("submit")
    assert info["exit_status"] == "evaluation_error (submit)" and reward == -1.0
    env.close()
