"""Writes small tasks in an MLGym checkout's layout (configs/tasks, configs/datasets, data/)."""

import textwrap
from pathlib import Path

CSV_TASK = """\
id: titanicSurvival
name: Toy survival
description: |-
  Predict `Survived`. This task uses the following dataset(s):
  {dataset_docs}
task_entrypoint: CSVSubmissionTasks
training_timeout: 60
use_generic_conda: true
starter_code:
  - data/toy/evaluate.py
dataset_configs:
  - datasets/toy.yaml
baseline_scores:
  - Accuracy: 0.5
evaluation_paths:
  - evaluate.py
evaluation_read_only: true
"""

CSV_DATASET = """\
name: toy
description: "train.csv and test.csv with a PassengerId column."
data_path: "data/toy/data"
is_local: true
"""

CSV_EVALUATE = """\
import argparse, json
import pandas as pd
parser = argparse.ArgumentParser()
parser.add_argument("--submission_file", required=True)
args = parser.parse_args()
truth = pd.read_csv("data/ground_truth.csv")
pred = pd.read_csv(args.submission_file)
print(json.dumps({"Accuracy": float((truth["Survived"].values == pred["Survived"].values).mean())}))
"""

GAME_TASK = """\
id: battleOfSexes
name: Toy battle of sexes
description: |-
  Write row_strategy(history) in strategy.py. The partner's strategy is in target.py.
task_entrypoint: PythonSubmissionTasks
training_timeout: 60
use_generic_conda: true
starter_code:
  - data/bos/target.py
  - data/bos/evaluate.py
  - data/bos/strategy.py
baseline_paths:
  - evaluate.py
baseline_scores:
  - Score: 1.0
evaluation_paths:
  - evaluate.py
evaluation_read_only: true
"""

GAME_EVALUATE = """\
import json
from strategy import row_strategy
from target import target_column_strategy
payoff = {(0, 0): 2, (1, 1): 1}
history = []
for _ in range(10):
    history.append((row_strategy(history), target_column_strategy(history)))
print(json.dumps({"Score": sum(payoff.get(h, 0) for h in history) / 10}))
"""


MODEL_TASK = """\
id: rlMountainCarContinuous
name: Toy model submission
description: Save checkpoints/ and config.yaml.
task_entrypoint: ModelSubmissionTasks
training_timeout: 60
starter_code:
  - data/rl/evaluate.py
baseline_scores:
  - Reward Mean: 10.0
evaluation_paths:
  - evaluate.py
"""

MODEL_EVALUATE = """\
import argparse, json, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--config_fname", required=True)
args = parser.parse_args()
scale = float(pathlib.Path(args.config_fname).read_text().split(":")[1])
value = float(pathlib.Path("checkpoints/model.txt").read_text()) * scale
print(json.dumps({"Reward Mean": value, "Reward Std": 0.0}))
"""

HOUSE_TASK = """\
id: regressionKaggleHousePrice
name: Toy house prices
description: |-
  Predict SalePrice for data/test.csv into submission.csv. {dataset_docs}
dataset_configs:
  - datasets/house.yaml
task_entrypoint: CSVSubmissionTasks
training_timeout: 60
use_generic_conda: true
starter_code:
  - data/house/baseline.py
  - data/house/evaluate.py
baseline_paths:
  - baseline.py
baseline_scores:
  - rmse: 5000.0
    r2: 0.0
evaluation_paths:
  - evaluate.py
evaluation_read_only: true
"""

HOUSE_DATASET = """\
name: KaggleHousingPrice
description: Id, Rooms and SalePrice; answer.csv holds the test prices, as MLGym's split helper writes it.
data_path: data/house/data
is_local: true
"""

HOUSE_BASELINE = """\
import csv
prices = [float(row["SalePrice"]) for row in csv.DictReader(open("data/train.csv"))]
with open("submission.csv", "w") as f:
    f.write("Id,SalePrice\\n")
    for row in csv.DictReader(open("data/test.csv")):
        f.write(f"{row['Id']},{sum(prices) / len(prices)}\\n")
"""

HOUSE_EVALUATE = """\
import argparse, csv, json
parser = argparse.ArgumentParser()
parser.add_argument("--submission_file")
args = parser.parse_args()
truth = [float(r["SalePrice"]) for r in csv.DictReader(open("/home/agent/workspace/data/answer.csv"))]
guess = [float(r["SalePrice"]) for r in csv.DictReader(open(args.submission_file))]
mean = sum(truth) / len(truth)
sse = sum((t - g) ** 2 for t, g in zip(truth, guess))
print(json.dumps({"rmse": (sse / len(truth)) ** 0.5, "r2": 1 - sse / sum((t - mean) ** 2 for t in truth)}))
"""

HOUSE_FILES = {
    "data/house/data/train.csv": "Id,Rooms,SalePrice\n1,3,100000\n2,4,110000\n",
    "data/house/data/test.csv": "Id,Rooms\n3,2\n4,5\n",
    "data/house/data/answer.csv": "Id,SalePrice\n3,100000\n4,110000\n",  # MLGym ships it in data/
}
"""The baseline predicts 105000 for both: rmse 5000, r2 0."""

LM_TASK = """\
id: languageModelingFineWeb
name: Toy language model
description: Train a model.
task_entrypoint: LMSubmissionTasks
starter_code:
  - data/rl/evaluate.py
evaluation_paths:
  - evaluate.py
"""


def write_checkout(root: Path) -> Path:
    files = {
        "configs/tasks/toyTitanic.yaml": CSV_TASK,
        "configs/datasets/toy.yaml": CSV_DATASET,
        "data/toy/evaluate.py": CSV_EVALUATE,
        "data/toy/data/train.csv": "PassengerId,Age,Survived\n1,20,1\n2,30,0\n",
        "data/toy/data/test.csv": "PassengerId,Age\n3,25\n4,35\n5,45\n6,55\n",
        "data/toy/data/ground_truth.csv": "PassengerId,Survived\n3,1\n4,0\n5,1\n6,0\n",  # MLGym ships it in data/
        "configs/tasks/toyBattleOfSexes.yaml": GAME_TASK,
        "data/bos/evaluate.py": GAME_EVALUATE,
        "data/bos/target.py": "def target_column_strategy(history):\n    return 0 if len(history) % 2 else 1\n",
        "data/bos/strategy.py": "def row_strategy(history):\n    return 1\n",
        "configs/tasks/toyModel.yaml": MODEL_TASK,
        "data/rl/evaluate.py": MODEL_EVALUATE,
        "configs/tasks/toyLM.yaml": LM_TASK,
        "configs/tasks/toyHouse.yaml": HOUSE_TASK,
        "configs/datasets/house.yaml": HOUSE_DATASET,
        "data/house/baseline.py": HOUSE_BASELINE,
        "data/house/evaluate.py": HOUSE_EVALUATE,
        **HOUSE_FILES,
    }
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(textwrap.dedent(text))
    return root
