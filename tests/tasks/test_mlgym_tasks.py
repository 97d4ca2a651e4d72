"""Tasks in MLGym's layout run and score with their own evaluators, from the pristine copy."""

import pytest

from synthml.envs.env import SynthMLEnv
from tests.mlgym_layout import GAME_TASK, write_checkout


@pytest.fixture
def checkout(tmp_path, runtime):
    return write_checkout(tmp_path)


def test_csv_submission_task_scores_with_its_own_evaluate(checkout):
    env = SynthMLEnv(task=checkout / "configs/tasks/toyTitanic.yaml")
    env.reset(seed=0)
    assert env.step("ls data")[0].split() == ["test.csv", "train.csv"]  # MLGym's ground_truth.csv is withheld
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


def test_house_price_answers_stay_out_of_the_workspace_and_still_score(checkout):
    env = SynthMLEnv(task=checkout / "configs/tasks/toyHouse.yaml")
    env.reset(seed=0)
    assert env.step("ls data")[0].split() == ["test.csv", "train.csv"]  # MLGym's answer.csv is withheld
    env.step("python baseline.py")
    assert env.step("validate")[4]["score"] == {"rmse": 5000.0, "r2": 0.0}
    _, reward, terminated, _, info = env.step("submit")
    assert terminated and info["score"] == {"rmse": 5000.0, "r2": 0.0} and reward == pytest.approx(0.0)
    assert (checkout / "data/house/data/answer.csv").is_file()  # the checkout itself is left as MLGym has it
    env.close()


def test_python_submission_runs_in_a_process_of_its_own_over_the_pristine_workspace(checkout):
    env = SynthMLEnv(task=checkout / "configs/tasks/toyBattleOfSexes.yaml")
    env.reset(seed=0)
    env.step("cat > strategy.py <<'EOF'\nimport sys\nfrom target import target_column_strategy\n"
             "def row_strategy(history):\n    assert not hasattr(sys.modules['__main__'], 'payoff')\n"
             "    return target_column_strategy(list(history))\nEOF")
    _, reward, _, _, info = env.step("submit")
    assert info["score"] == {"Score": 1.5} and reward == pytest.approx(0.5)  # it matched the pristine partner
    env.close()


WHOLE_WORKSPACE_GAME = GAME_TASK.replace("id: battleOfSexes", "id: toyWholeWorkspaceGame") + """\
metrics:
  - name: Score
    direction: max
"""


def test_a_python_task_without_submission_files_serves_every_module_of_the_workspace(checkout):
    """No submission files (a task MLGym's table does not know): the whole workspace is the submission;
    the evaluator reaches a package and its submodule, which import each other in their own process."""
    (checkout / "configs/tasks/toyWhole.yaml").write_text(WHOLE_WORKSPACE_GAME)
    env = SynthMLEnv(task=checkout / "configs/tasks/toyWhole.yaml")
    env.reset(seed=0)
    env.step("rm strategy.py && mkdir strategy && echo 'from strategy.moves import move as row_strategy' > "
             "strategy/__init__.py && printf 'def move(history):\\n    return 0 if len(history) %% 2 else 1\\n' > "
             "strategy/moves.py")
    assert env.step("validate")[4]["score"] == {"Score": 1.5}
    env.close()
