"""MLGym checkouts: listing what runs here, naming and loading a task, and baseline episodes through the
real env (bwrap sandbox) that reproduce the recorded baseline scores.

The fixtures are small tasks written here in MLGym's layout (configs/tasks, configs/datasets, data/<task>/
with starter code, evaluate.py and a `_helpers/` split script). The `mlgym` test runs the real checkout
that SYNTHML_MLGYM_ROOT points at.
"""

import os
import textwrap
from pathlib import Path

import gymnasium as gym
import pytest

import synthml  # noqa: F401  (registers SynthML-v0)
from synthml.agents.scripted import Step, baseline_actions, play
from synthml.envs.mlgym_data import prepare_mlgym_data
from synthml.errors import TaskError
from synthml.tasks.mlgym import load_mlgym_task, mlgym_tasks
from synthml.tasks.mlgym_facts import mlgym_config
from synthml.tasks.task import Task, load_task

GAME_SCORE = 0.501
HOUSE_SCORES = {"rmse": 311.9448947451927, "r2": 0.9893010018252186}
"""What the fixtures' baselines score (their evaluators are seeded), recorded as MLGym records baseline_scores."""
MLGYM_ROOT = os.environ.get("SYNTHML_MLGYM_ROOT")
MLGYM_CPU_TASKS = ("tasks/battleOfSexes.yaml", "tasks/prisonersDilemma.yaml", "tasks/blotto.yaml",
                   "tasks/regressionKaggleHousePrice.yaml")
GAME_NOISE = 0.02
"""MLGym's game evaluators average 10,000 unseeded 10-round games: over 30 runs each, the score's standard
deviation was 0.0035 (battle of sexes), 0.0037 (prisoner's dilemma) and 0.0024 (blotto)."""

GAME_YAML = f"""\
id: battleOfSexes
name: Toy Battle of Sexes
description: |-
  Write row_strategy(history) in strategy.py; the column player's strategy is in target.py.
task_entrypoint: PythonSubmissionTasks
training_timeout: 120
use_generic_conda: true
starter_code:
- data/battleOfSexes/target.py
- data/battleOfSexes/evaluate.py
- data/battleOfSexes/strategy.py
baseline_paths:
- evaluate.py
baseline_scores:
- Score: {GAME_SCORE}
evaluation_paths:
- evaluate.py
evaluation_read_only: true
memory_path: data/battleOfSexes/memory.json
"""

GAME_EVALUATE = """\
import json
import random

import numpy as np
from strategy import row_strategy
from target import target_column_strategy

PAYOFF = [[(2, 1), (0, 0)], [(0, 0), (1, 2)]]


def play(rounds):
    history = []
    for _ in range(rounds):
        history.append((row_strategy(history), target_column_strategy(history)))
    return np.mean([PAYOFF[row][column][0] for row, column in history])


random.seed(7)
print(json.dumps({"Score": float(np.mean([play(10) for _ in range(200)]))}))
"""

GAME_TARGET = """\
import random


def target_column_strategy(history):
    if not history:
        return 1
    return history[-1][0] if random.random() < 0.8 else 1 - history[-1][0]
"""

GAME_STRATEGY = """\
def row_strategy(history):
    return 0 if not history else history[-1][1]
"""

HOUSE_YAML = f"""\
id: regressionKaggleHousePrice
name: Toy house prices
description: |-
  Predict SalePrice for data/test.csv into submission.csv. {{dataset_docs}}
dataset_configs:
- datasets/kaggleHousePrice.yaml
task_entrypoint: CSVSubmissionTasks
training_timeout: 120
use_generic_conda: true
starter_code:
- data/regressionKaggleHousePrice/baseline.py
- data/regressionKaggleHousePrice/evaluate.py
baseline_paths:
- baseline.py
baseline_scores:
- rmse: {HOUSE_SCORES["rmse"]!r}
  r2: {HOUSE_SCORES["r2"]!r}
evaluation_paths:
- evaluate.py
evaluation_read_only: true
"""

HOUSE_DATASET = """\
name: KaggleHousingPrice
description: Id, LotArea, OverallQual and SalePrice of houses.
data_path: data/regressionKaggleHousePrice/data
is_local: true
"""

HOUSE_SPLIT = """\
import csv
import os

rows = list(csv.DictReader(open("train.csv")))
test = rows[::5]
rest = [r for r in rows if r not in test]
validation, train = rest[::7], [r for r in rest if r not in rest[::7]]
os.makedirs("../data", exist_ok=True)


def write(name, part, columns):
    with open(f"../data/{name}", "w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(part)


write("train.csv", train, ["Id", "LotArea", "OverallQual", "SalePrice"])
write("validation.csv", validation, ["Id", "LotArea", "OverallQual", "SalePrice"])
write("test.csv", test, ["Id", "LotArea", "OverallQual"])
write("answer.csv", test, ["Id", "SalePrice"])
"""

HOUSE_BASELINE = """\
import pandas as pd
from sklearn.linear_model import Ridge

train, test = pd.read_csv("./data/train.csv"), pd.read_csv("./data/test.csv")
features = ["LotArea", "OverallQual"]
model = Ridge(alpha=0.1).fit(train[features], train["SalePrice"])
pd.DataFrame({"Id": test["Id"], "SalePrice": model.predict(test[features])}).to_csv("submission.csv", index=False)
print("Submission file created: submission.csv")
"""

HOUSE_EVALUATE = """\
import argparse
import json

import numpy as np
import pandas as pd

parser = argparse.ArgumentParser()
parser.add_argument("--submission_file")
args = parser.parse_args()
truth = pd.read_csv("/home/agent/workspace/data/answer.csv")["SalePrice"].to_numpy(float)
guess = pd.read_csv(args.submission_file)["SalePrice"].to_numpy(float)
rmse = float(np.sqrt(np.mean((truth - guess) ** 2)))
r2 = float(1 - np.sum((truth - guess) ** 2) / np.sum((truth - truth.mean()) ** 2))
print(json.dumps({"rmse": rmse, "r2": r2}))
"""

SKIPPED = {
    "configs/tasks/imageClassificationCifar10.yaml": """\
        id: imageClassificationCifar10
        name: Toy images
        description: Classify. {dataset_docs}
        dataset_configs: [datasets/cifar10HF.yaml]
        starter_code: [data/imageClassificationCifar10/baseline.py, data/imageClassificationCifar10/evaluate.py]
        baseline_paths: [baseline.py]
        evaluation_paths: [evaluate.py]
        """,
    "configs/datasets/cifar10HF.yaml": """\
        name: CIFAR10
        description: images
        data_path: uoft-cs/cifar10
        is_local: false
        """,
    "data/imageClassificationCifar10/baseline.py": "import numpy\nfrom torch import nn\n",
    "data/imageClassificationCifar10/evaluate.py": "print('{}')\n",
    "configs/tasks/languageModelingFineWeb.yaml": """\
        id: languageModelingFineWeb
        name: Toy LM
        description: Train.
        task_entrypoint: LMSubmissionTasks
        starter_code: [data/languageModelingFineWeb/evaluate.py]
        evaluation_paths: [evaluate.py]
        """,
    "data/languageModelingFineWeb/evaluate.py": "print('{}')\n",
    "configs/tasks/rlMetaMaze.yaml": """\
        id: rlMetaMazeMisc
        name: Toy maze
        description: Train a policy.
        task_entrypoint: ModelSubmissionTasks
        requirements_path: data/rlMetaMazeMisc/requirements.txt
        use_generic_conda: false
        starter_code: [data/rlMetaMazeMisc/evaluate.py]
        evaluation_paths: [evaluate.py]
        """,
    "data/rlMetaMazeMisc/requirements.txt": "gymnax\njax[cuda12]\n",
    "data/rlMetaMazeMisc/evaluate.py": "print('{}')\n",
    "configs/tasks/regressionHousingPrice.yaml": """\
        id: regressionHousingPrice
        name: Toy broken entrypoint
        description: Predict.
        task_entrypoint: BaseMLTask
        evaluation_paths: [data/housing/evaluate.py]
        """,
    "configs/tasks/titanic.yaml": """\
        id: titanicSurvival
        name: Toy extra config
        description: Predict.
        starter_code: [data/titanic/evaluate.py]
        evaluation_paths: [evaluate.py]
        """,
    "data/titanic/evaluate.py": "print('{}')\n",
}


def house_rows() -> str:
    lines = ["Id,LotArea,OverallQual,SalePrice"]
    for i in range(1, 61):
        area, quality = 5000 + (i * 53 % 17) * 100, 1 + i % 9
        lines.append(f"{i},{area},{quality},{1000 * quality + 2 * area + (i * 37 % 11) * 100}")
    return "\n".join(lines) + "\n"


def write_checkout(root: Path) -> Path:
    files = {
        "configs/tasks/battleOfSexes.yaml": GAME_YAML,
        "data/battleOfSexes/evaluate.py": GAME_EVALUATE,
        "data/battleOfSexes/target.py": GAME_TARGET,
        "data/battleOfSexes/strategy.py": GAME_STRATEGY,
        "configs/tasks/regressionKaggleHousePrice.yaml": HOUSE_YAML,
        "configs/datasets/kaggleHousePrice.yaml": HOUSE_DATASET,
        "data/regressionKaggleHousePrice/_helpers/_generate_split.py": HOUSE_SPLIT,
        "data/regressionKaggleHousePrice/_helpers/train.csv": house_rows(),
        "data/regressionKaggleHousePrice/baseline.py": HOUSE_BASELINE,
        "data/regressionKaggleHousePrice/evaluate.py": HOUSE_EVALUATE,
        **SKIPPED,
    }
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return write_checkout(tmp_path / "MLGym")


def by_ref(root: Path, **kwargs) -> dict:
    return {task.ref: task for task in mlgym_tasks(root, **kwargs)}


def test_listing_runs_cpu_tasks_and_says_why_the_rest_are_skipped(checkout):
    tasks = by_ref(checkout)
    assert [ref for ref, task in tasks.items() if task.runnable] == ["tasks/battleOfSexes.yaml"]
    reasons = {ref: task.reason for ref, task in tasks.items()}
    assert "trains with torch" in reasons["tasks/imageClassificationCifar10.yaml"]
    assert "needs a download: dataset CIFAR10 is uoft-cs/cifar10" in reasons["tasks/imageClassificationCifar10.yaml"]
    assert "needs GPUs" in reasons["tasks/languageModelingFineWeb.yaml"]
    assert "requirements.txt installs jax[cuda12]" in reasons["tasks/rlMetaMaze.yaml"]
    assert "unsupported task_entrypoint BaseMLTask" in reasons["tasks/regressionHousingPrice.yaml"]
    assert reasons["tasks/titanic.yaml"].startswith("not one of MLGym-Bench's 13 tasks")
    house = tasks["tasks/regressionKaggleHousePrice.yaml"]
    assert house.reason.startswith("data not generated: data/regressionKaggleHousePrice/data is missing")
    assert "cd data/regressionKaggleHousePrice/_helpers && python _generate_split.py" in house.reason
    assert [h.name for h in house.helpers] == ["_generate_split.py"]
    assert (tasks["tasks/rlMetaMaze.yaml"].id, tasks["tasks/titanic.yaml"].id) == ("rlMetaMazeMisc", "titanicSurvival")
    assert by_ref(checkout, benchmark_only=False)["tasks/titanic.yaml"].runnable


def test_tasks_are_named_as_mlgym_names_them(checkout):
    expected = checkout.resolve() / "configs/tasks/rlMetaMaze.yaml"
    for ref in ("tasks/rlMetaMaze.yaml", "configs/tasks/rlMetaMaze.yaml", "rlMetaMaze", "rlMetaMazeMisc"):
        assert mlgym_config(checkout, ref) == expected
    assert load_task(f"{checkout}:tasks/rlMetaMaze.yaml").id == "rlMetaMazeMisc"
    with pytest.raises(TaskError, match=r"no MLGym task 'tasks/blotto\.yml'.*did you mean tasks/blotto"):
        (checkout / "configs/tasks/blotto.yaml").write_text(GAME_YAML.replace("battleOfSexes", "blotto"))
        mlgym_config(checkout, "tasks/blotto.yml")
    for copy in ("bos1", "bos2"):  # as MLGym's imageClassificationCifar10L1.yaml shares its id
        (checkout / f"configs/tasks/{copy}.yaml").write_text(GAME_YAML.replace("id: battleOfSexes", "id: bos"))
    with pytest.raises(TaskError, match=r"task id 'bos' is in 2 configs \(tasks/bos1.yaml, tasks/bos2.yaml\)"):
        mlgym_config(checkout, "bos")
    with pytest.raises(TaskError, match="not an MLGym checkout"):
        mlgym_tasks(checkout / "data")


def test_a_config_loads_as_a_task_the_env_runs(checkout):
    task = load_mlgym_task(checkout, "tasks/regressionKaggleHousePrice.yaml")
    assert (task.id, task.primary.name, task.primary.direction) == ("regressionKaggleHousePrice", "r2", "max")
    assert task.baseline_score == HOUSE_SCORES["r2"] and task.submission_files == ("submission.csv",)
    assert "KAGGLEHOUSINGPRICE:\nId, LotArea, OverallQual" in task.description
    assert task.root == checkout.resolve() and [d.name for d in task.datasets] == ["KaggleHousingPrice"]


def baseline_episode(spec: str) -> tuple[list[Step], Task]:
    """The baseline agent's episode: MLGym's baseline script, validate, submit."""
    env = gym.make("SynthML-v0", task=spec, max_steps=10)
    try:
        env.reset(seed=0)
        task = env.unwrapped.task
        return play(env, baseline_actions(task)), task
    finally:
        env.close()


def test_game_baseline_episode_reproduces_the_recorded_score(checkout, runtime):
    steps, task = baseline_episode(f"{checkout}:tasks/battleOfSexes.yaml")
    assert [step.action for step in steps] == ["python evaluate.py", "validate", "submit"]
    assert f'{{"Score": {GAME_SCORE}}}' in steps[0].observation
    assert steps[-1].info["exit_status"] == "submitted" and steps[-1].reward == 0.0
    assert steps[-1].info["score"] == {"Score": GAME_SCORE} == {"Score": task.baseline_score}


def test_helper_makes_the_split_then_the_baseline_reproduces_the_recorded_scores(checkout, runtime):
    data = checkout.resolve() / "data/regressionKaggleHousePrice/data"
    assert prepare_mlgym_data(checkout, runtime=runtime, log=lambda _: None) == [data]
    assert sorted(p.name for p in data.iterdir()) == ["answer.csv", "test.csv", "train.csv", "validation.csv"]
    assert by_ref(checkout)["tasks/regressionKaggleHousePrice.yaml"].runnable
    assert prepare_mlgym_data(checkout, runtime=runtime) == []  # nothing left to make
    steps, _ = baseline_episode(f"{checkout}:tasks/regressionKaggleHousePrice.yaml")
    assert [step.action for step in steps] == ["python baseline.py", "validate", "submit"]
    assert steps[-1].info["exit_status"] == "submitted"
    assert steps[-1].info["score"] == pytest.approx(HOUSE_SCORES, rel=1e-9)


def test_a_failing_helper_says_which_and_why(checkout, runtime):
    (checkout / "data/regressionKaggleHousePrice/_helpers/train.csv").unlink()
    with pytest.raises(TaskError, match=r"(?s)_generate_split.py: MLGym's helper failed.*'train.csv'"):
        prepare_mlgym_data(checkout, "regressionKaggleHousePrice", runtime=runtime, log=lambda _: None)
    assert not (checkout / "data/regressionKaggleHousePrice/data").exists()


@pytest.fixture(scope="module")
def mlgym_root() -> Path:
    """The MLGym checkout at SYNTHML_MLGYM_ROOT, its house price split made by MLGym's own helper."""
    if not MLGYM_ROOT:
        pytest.skip("set SYNTHML_MLGYM_ROOT to an MLGym checkout (github.com/facebookresearch/MLGym) to run its tasks")
    prepare_mlgym_data(MLGYM_ROOT, "tasks/regressionKaggleHousePrice.yaml")  # a no-op once the split is there
    return Path(MLGYM_ROOT)


@pytest.mark.mlgym
def test_mlgym_checkout_runs_exactly_its_cpu_tasks(mlgym_root):
    tasks = mlgym_tasks(mlgym_root)
    assert len(tasks) >= 13 and sorted(t.ref for t in tasks if t.runnable) == sorted(MLGYM_CPU_TASKS)
    assert all(t.reason for t in tasks if not t.runnable)


@pytest.mark.mlgym
@pytest.mark.parametrize("ref", MLGYM_CPU_TASKS)
def test_mlgym_baseline_reproduces_the_recorded_score(mlgym_root, runtime, ref):
    steps, task = baseline_episode(f"{mlgym_root}:{ref}")
    assert steps[-1].info["exit_status"] == "submitted"
    score, recorded = steps[-1].info["score"], task.config.baseline_scores[0]
    if task.config.task_entrypoint == "PythonSubmissionTasks":
        assert score["Score"] == pytest.approx(recorded["Score"], abs=GAME_NOISE)
    else:
        assert score == pytest.approx(recorded, rel=1e-9)


@pytest.mark.mlgym
def test_mlgym_house_price_answers_stay_out_of_the_workspace(mlgym_root):
    """MLGym copies data/answer.csv (the test split's SalePrice) into the workspace; here only the evaluator sees it."""
    env = gym.make("SynthML-v0", task=f"{mlgym_root}:tasks/regressionKaggleHousePrice.yaml", max_steps=5)
    try:
        env.reset(seed=0)
        assert "answer.csv" not in env.step("ls data; find / -name 'answer*' 2>/dev/null")[0]
        assert "No such file" in env.step("cp data/answer.csv submission.csv")[0]
        assert "Submission artefact not found" in env.step("validate")[0]
    finally:
        env.close()
