"""The validator's ladder on a program task (a games task: code the evaluator calls): accepted as written,
and each ladder rejection triggered by a task built to fail it."""

import json
import random
import shutil
from pathlib import Path

import pytest

from synthml.task_bank.families import FAMILIES
from synthml.task_bank.program import write_program_task
from synthml.task_bank.validator import MIN_TEST, validate_task
from synthml.tasks.task import load_task

pytestmark = pytest.mark.usefixtures("runtime")
SEED = 4


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    family = FAMILIES["games"]
    draft = family.build(None, None, family.sample_knobs(random.Random(SEED), None), SEED, "games-ladder")
    return write_program_task(draft, tmp_path_factory.mktemp("written") / "games-ladder")


@pytest.fixture
def program_task(written: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(written, tmp_path / written.name))


def _reasons(task: Path) -> list[str]:
    return [r.reason for r in validate_task(task, record=False).rejections]


def test_program_task_climbs_the_ladder_and_records_both_ends(program_task: Path):
    report = validate_task(program_task)
    assert report.accepted, report.rejections
    name = report.metric
    ladder = [getattr(report, rung)["test"][name] for rung in ("trivial", "baseline", "reference")]
    assert ladder == sorted(ladder) and ladder[0] < ladder[-1]
    for split in ("validation", "test"):
        gap = report.gaps[split]
        assert gap.over == "instances" and 0 < gap.low <= gap.estimate <= gap.high
    assert report.tier in (1, 2, 3) and report.test_size == len(json.loads((program_task / "hidden/test.json")
                                                                           .read_text()))
    task = load_task(program_task)
    assert task.baseline_score == report.baseline["test"][name]
    assert task.reference_score == report.reference["test"][name]


def test_a_baseline_no_better_than_trivial_is_named_so(program_task: Path):
    shutil.copy(program_task / "reference/trivial.py", program_task / "strategy.py")
    report = validate_task(program_task, record=False)
    assert [r.reason for r in report.rejections] == ["baseline_not_above_trivial"]
    assert "no better than the trivial solution" in report.rejections[0].detail


def test_a_reference_no_better_than_the_default_is_saturated(program_task: Path):
    shutil.copy(program_task / "reference/default.py", program_task / "reference/reference.py")
    report = validate_task(program_task, record=False)
    assert {r.reason for r in report.rejections} >= {"saturated"}
    assert all(not gap.positive for gap in report.gaps.values())


def test_too_few_hidden_instances_is_a_small_test(program_task: Path):
    instances = json.loads((program_task / "hidden/test.json").read_text())
    (program_task / "hidden/test.json").write_text(json.dumps(instances[:MIN_TEST["instances"] - 1]))
    report = validate_task(program_task, record=False)
    assert [r.reason for r in report.rejections] == ["small_test"]
    assert f"{MIN_TEST['instances'] - 1} instances" in report.rejections[0].detail


def test_an_evaluator_without_instance_scores_cannot_be_judged(program_task: Path):
    evaluator = program_task / "evaluate.py"
    text = evaluator.read_text()
    assert '"instance_scores"' in text
    evaluator.write_text(text.replace('"instance_scores"', '"scores"'))
    assert _reasons(program_task) == ["evaluation_failed"]


def test_a_task_without_a_default_is_a_schema_rejection(program_task: Path):
    text = (program_task / "task.yaml").read_text()
    (program_task / "task.yaml").write_text(text.replace("default_solution: reference/default.py\n", ""))
    report = validate_task(program_task, record=False)
    assert [r.reason for r in report.rejections] == ["schema"] and "default_solution" in report.rejections[0].detail
