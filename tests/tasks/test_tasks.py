"""Task loading: SynthML task dirs, MLGym checkouts, metric directions, clear errors."""

import shutil
from pathlib import Path

import pytest
import yaml

from synthml.envs.env import sample_bank
from synthml.errors import TaskError
from synthml.tasks.mlgym_facts import MLGYM_BENCHMARK_TASKS, MLGYM_TASKS
from synthml.tasks.paths import confined, task_id_problem
from synthml.tasks.schema import Metric
from synthml.tasks.task import load_task
from tests.mlgym_layout import write_checkout


def edit_yaml(path: Path, **changes) -> None:
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_sample_tasks_load_with_extensions():
    task = load_task(sample_bank() / "breast-cancer-diagnosis")
    assert (task.primary.name, task.primary.sign) == ("accuracy", 1)
    assert task.baseline_score == task.config.baseline_scores[0]["accuracy"]
    assert task.hidden_files == ("hidden/test_labels.csv",) and task.config.validation_split == "validation"
    assert "BREAST-CANCER-DIAGNOSIS:" in task.description and "{dataset_docs}" not in task.description
    assert task.config.provenance.dataset.sha256 and len(task.version) == 16


def test_bank_and_task_id_spec():
    assert load_task(f"{sample_bank()}:diabetes-progression").primary == Metric(name="rmse", direction="min")
    with pytest.raises(TaskError, match="no task 'nope'.*diabetes-progression"):
        load_task(f"{sample_bank()}:nope")


def test_version_is_a_content_hash(task_dir):
    before = load_task(task_dir).version
    assert load_task(task_dir).version == before
    (task_dir / "hidden" / "test_labels.csv").write_text("id,progression\n1,2\n")
    assert load_task(task_dir).version != before


def test_mlgym_checkout_yaml_loads_unmodified_with_direction_table(tmp_path):
    root = write_checkout(tmp_path)
    task = load_task(root / "configs/tasks/toyBattleOfSexes.yaml")
    assert task.root == root and task.primary == Metric(name="Score", direction="max")
    assert task.submission_files == ("strategy.py",)
    csv = load_task(root / "configs/tasks/toyTitanic.yaml")
    assert csv.datasets[0].name == "toy" and "TOY:" in csv.description and csv.baseline_score == 0.5


def test_metric_override_wins_over_the_table(tmp_path):
    root = write_checkout(tmp_path)
    task = load_task(root / "configs/tasks/toyBattleOfSexes.yaml", metrics=[Metric(name="Score", direction="min")])
    assert task.primary.sign == -1


def test_table_covers_the_13_mlgym_tasks():
    assert len(MLGYM_BENCHMARK_TASKS) == 13
    expected = {"battleOfSexes": ("Score", "max"), "regressionKaggleHousePrice": ("r2", "max"),
                "3SATTime": ("Time", "min"), "languageModelingFineWeb": ("val_loss", "min"),
                "rlMetaMazeMisc": ("Reward Mean", "max")}
    for task_id, (name, direction) in expected.items():
        assert (MLGYM_TASKS[task_id].metrics[0].name, MLGYM_TASKS[task_id].metrics[0].direction) == (name, direction)


@pytest.mark.parametrize(("changes", "message"), [
    ({"training_timeout": "soon"}, "field 'training_timeout'"),
    ({"unknown_field": 1}, "field 'unknown_field'"),
    ({"metrics": [{"name": "rmse", "direction": "up"}]}, "field 'metrics.0.direction'"),
    ({"primary_metric": "mae"}, "field 'primary_metric': 'mae'"),
    ({"starter_code": ["baseline.py", "missing.py"]}, "field 'starter_code': missing.py does not exist"),
    ({"hidden_files": ["../../etc/passwd"]}, "field 'hidden_files'.*leaves the task root"),
    ({"evaluation_paths": ["score.py"]}, "not provided by any starter_code entry"),
    ({"metrics": [], "primary_metric": None}, "field 'metrics': no direction known for r2, rmse"),
])
def test_malformed_task_names_file_and_field(task_dir, changes, message):
    edit_yaml(task_dir / "task.yaml", **changes)
    with pytest.raises(TaskError, match=message) as error:
        load_task(task_dir)
    assert str(task_dir / "task.yaml") in str(error.value)


def test_task_ids_are_slugs_and_mlgym_ids_still_are():
    assert [i for i in [*MLGYM_TASKS, "diabetes-progression", "a", "v1.2_x", "x" * 128] if task_id_problem(i)] == []
    for bad in ["../x", "a/b", "/abs", "..", "a..b", ".hidden", "-rf", "", "x" * 129, "a\nb", "a b", "ü"]:
        assert "is not a task id" in task_id_problem(bad), bad


def test_a_bad_task_id_names_the_yaml_the_field_and_the_fix(task_dir):
    edit_yaml(task_dir / "task.yaml", id="../../elsewhere")
    with pytest.raises(TaskError, match=r"task\.yaml: field 'id': .*'\.\./\.\./elsewhere' is not a task id: use "
                       r"1 to 128 letters"):
        load_task(task_dir)


def test_confined_keeps_paths_inside_their_root(tmp_path):
    assert confined(tmp_path, "runs", "a-1", "run_0") == tmp_path / "runs" / "a-1" / "run_0"
    (tmp_path / "link").symlink_to("/etc")
    for parts in [("..", "x"), ("/etc",), ("a", "../../x"), ("link", "passwd")]:
        with pytest.raises(TaskError, match=f"would place this outside {tmp_path}"):
            confined(tmp_path, *parts)


def test_broken_yaml_and_missing_dataset_config(task_dir):
    (task_dir / "datasets" / "dataset.yaml").unlink()
    with pytest.raises(TaskError, match="dataset.yaml: cannot read"):
        load_task(task_dir)
    (task_dir / "task.yaml").write_text("id: [unclosed\n")
    with pytest.raises(TaskError, match="not valid YAML"):
        load_task(task_dir)


def test_not_a_task(tmp_path):
    with pytest.raises(TaskError, match="no task.yaml in this folder"):
        load_task(tmp_path)
    shutil.rmtree(tmp_path)
    with pytest.raises(TaskError, match="no such task"):
        load_task(tmp_path)


@pytest.mark.parametrize(("changes", "message"), [
    ({"hidden_files": ["data/train.csv"]}, "field 'hidden_files': data/train.csv lies in 'data'"),
    ({"memory_path": "../memory.json"}, "field 'memory_path'.*leaves the task root"),
    ({"sample_submission": "/etc/hostname"}, "field 'sample_submission'.*leaves the task root"),
    ({"evaluation_paths": []}, "field 'evaluation_paths' is empty"),
    ({"baseline_paths": ["../baseline.py"]}, "field 'baseline_paths'"),
    ({"task_entrypoint": "BaseMLTask"}, "field 'task_entrypoint'"),
])
def test_task_files_stay_inside_and_hidden_files_stay_hidden(task_dir, changes, message):
    edit_yaml(task_dir / "task.yaml", **changes)
    with pytest.raises(TaskError, match=message):
        load_task(task_dir)


def test_data_path_leaving_the_root_or_a_link_out_is_refused(task_dir, tmp_path):
    (tmp_path / "secret.txt").write_text("host secret")
    (task_dir / "data" / "notes.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(TaskError, match="notes.txt is a symlink out of the task root"):
        load_task(task_dir)
    (task_dir / "data" / "notes.txt").unlink()
    dataset = task_dir / "datasets" / "dataset.yaml"
    dataset.write_text(dataset.read_text().replace("data_path: data", "data_path: ../elsewhere"))
    with pytest.raises(TaskError, match="field 'data_path'.*leaves the task root"):
        load_task(task_dir)


def test_links_inside_the_task_are_kept_as_links(task_dir):
    (task_dir / "data" / "copy.csv").symlink_to("train.csv")
    assert load_task(task_dir).version != load_task(sample_bank() / "diabetes-progression").version
