"""The validator on a good task and on planted bad ones, each rejected for the right reason."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from synthml.task_bank.validator import improvement, validate_task
from synthml.tasks.task import load_task

pytestmark = pytest.mark.usefixtures("runtime")


def _edit_yaml(task: Path, **fields) -> None:
    data = yaml.safe_load((task / "task.yaml").read_text())
    data.update(fields)
    (task / "task.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def _reasons(task: Path) -> list[str]:
    return [r.reason for r in validate_task(task, record=False).rejections]


def test_good_task_is_accepted_and_its_baseline_recorded(good_task: Path):
    report = validate_task(good_task)
    assert report.accepted, report.rejections
    assert report.headroom >= report.margin
    task = load_task(good_task)
    name = task.primary.name
    assert task.baseline_score == report.baseline["test"][name]
    assert task.baseline_validation_score == report.baseline["validation"][name]
    assert task.reference_score == report.reference["test"][name]
    trivial, baseline, default, reference = (getattr(report, rung)["test"][name]
                                             for rung in ("trivial", "baseline", "default", "reference"))
    sign = task.primary.sign  # r2: higher is better
    assert sign * (baseline - trivial) > 0 and all(sign * (reference - other) > 0 for other in (baseline, default))
    assert all(gap.over == "rows" and gap.low > 0 for gap in report.gaps.values()) and report.tier in (1, 2, 3)
    assert report.test_size >= 200
    lookup_check = ("lookup:", "nearest training rows")  # the lookup, and the neighbour model it must beat
    lookups = [p for p in report.probes if p.source.startswith(lookup_check)]
    assert [p.source.startswith("lookup:") for p in lookups] == [True, False]
    assert all(p.score is not None for p in lookups)  # measured and reported; no table holds the simulated target
    leakage = [p for p in report.probes if not p.source.startswith(lookup_check)]
    assert leakage and all(p.score is None or improvement(task.baseline_score, p.score, task.primary.sign) <= 0
                           for p in leakage)


def test_baseline_that_crashes(good_task: Path):
    (good_task / "baseline.py").write_text("raise SystemExit('no model today')\n")
    report = validate_task(good_task, record=False)
    assert [r.reason for r in report.rejections] == ["baseline_failed"]
    assert "no model today" in report.rejections[0].detail


def test_baseline_past_the_time_limit(good_task: Path):
    _edit_yaml(good_task, training_timeout=2)
    (good_task / "baseline.py").write_text("import time\ntime.sleep(30)\n")
    report = validate_task(good_task, record=False)
    assert [r.reason for r in report.rejections] == ["baseline_failed"]
    assert "time limit of 2 s" in report.rejections[0].detail


def test_evaluator_that_prints_no_json(good_task: Path):
    evaluator = good_task / "evaluate.py"
    evaluator.write_text(evaluator.read_text().replace("print(json.dumps(", "print('scored', ("))
    assert _reasons(good_task) == ["evaluation_failed"]


def test_non_deterministic_evaluator(good_task: Path):
    evaluator = good_task / "evaluate.py"
    noise = "print(json.dumps({'noise': __import__('random').random()} | "
    evaluator.write_text(evaluator.read_text().replace("print(json.dumps(", noise))
    assert _reasons(good_task) == ["nondeterministic"]


def test_labels_copied_into_a_visible_file(good_task: Path):
    shutil.copy(good_task / "hidden/test_labels.csv", good_task / "data/extra.csv")
    report = validate_task(good_task, record=False)
    assert "leakage" in [r.reason for r in report.rejections]
    assert any("data/extra.csv" in r.detail for r in report.rejections)


def test_labels_as_a_column_of_the_test_features(good_task: Path):
    labels = (good_task / "hidden/test_labels.csv").read_text().splitlines()
    rows = (good_task / "data/test.csv").read_text().splitlines()
    joined = [f"{row},{label.split(',')[1]}" for row, label in zip(rows, labels, strict=True)]
    joined[0] = rows[0] + ",hint"
    (good_task / "data/test.csv").write_text("\n".join(joined) + "\n")
    report = validate_task(good_task, record=False)
    assert any(r.reason == "leakage" and "'hint'" in r.detail for r in report.rejections)


def test_a_visible_column_that_nearly_gives_the_labels_is_caught_by_the_probe(good_task: Path):
    """97% of the labels: under the fingerprint's bar, but submitting it beats the baseline."""
    labels = [line.split(",")[1] for line in (good_task / "hidden/test_labels.csv").read_text().splitlines()[1:]]
    noisy = [label if i % 30 else _flip(label) for i, label in enumerate(labels)]
    rows = (good_task / "data/test.csv").read_text().splitlines()
    joined = [rows[0] + ",hint"] + [f"{row},{value}" for row, value in zip(rows[1:], noisy, strict=True)]
    (good_task / "data/test.csv").write_text("\n".join(joined) + "\n")
    report = validate_task(good_task, record=False)
    assert [r.reason for r in report.rejections] == ["leakage"]
    assert "submitting data/test.csv:hint" in report.rejections[0].detail


def test_reference_no_better_than_the_baseline(good_task: Path):
    reference = load_task(good_task).config.reference_solution
    shutil.copy(good_task / "baseline.py", good_task / reference)
    report = validate_task(good_task, record=False)
    assert {r.reason for r in report.rejections} == {"no_headroom", "saturated"}  # the default beats the baseline
    assert report.headroom == 0


@pytest.mark.parametrize("rung", ["trivial", "default"])
def test_a_ladder_rung_that_crashes_is_named(good_task: Path, rung: str):
    script = getattr(load_task(good_task).config, f"{rung}_solution")
    (good_task / script).write_text(f"raise SystemExit('no {rung} today')\n")
    report = validate_task(good_task, record=False)
    assert [r.reason for r in report.rejections] == [f"{rung}_failed"]
    assert f"no {rung} today" in report.rejections[0].detail


def test_a_baseline_worse_than_a_constant_is_not_called_leakage(good_task: Path):
    """The audit found a rejection labelled `leakage` that was a baseline worse than the sample submission."""
    trivial = load_task(good_task).config.trivial_solution
    code = (good_task / trivial).read_text()
    assert "median()" in code
    (good_task / "baseline.py").write_text(code.replace("median()", "median() + 1"))  # one standard deviation off
    report = validate_task(good_task, record=False)
    assert [r.reason for r in report.rejections] == ["baseline_not_above_trivial"]


def test_task_without_a_reference_solution(good_task: Path):
    _edit_yaml(good_task, reference_solution=None)
    report = validate_task(good_task, record=False)
    assert [r.reason for r in report.rejections] == ["schema"]
    assert "reference_solution" in report.rejections[0].detail


def test_malformed_yaml_is_a_schema_rejection(good_task: Path):
    _edit_yaml(good_task, training_timeout="soon")
    report = validate_task(good_task, record=False)
    assert [r.reason for r in report.rejections] == ["schema"]
    assert "training_timeout" in report.rejections[0].detail


DEEP_SUBMISSION = """\
import os
os.makedirs("submission.csv")
os.chdir("submission.csv")
for _ in range(30):  # 6 KB of path: past PATH_MAX on the host, though every step is short
    os.mkdir("d" * 200)
    os.chdir("d" * 200)
"""
OVER_THE_COPY_LIMITS = {
    "sparse-giant": ("open('submission.csv', 'wb').truncate(3 << 30)\n", "3 GiB apparent size, over the 1 GiB limit"),
    "tree-past-path-max": (DEEP_SUBMISSION, "over the 2048-byte limit"),
}


@pytest.mark.parametrize("case", OVER_THE_COPY_LIMITS)
def test_baseline_leaving_files_over_the_copy_limits_is_rejected_with_the_limit(good_task: Path, case):
    baseline, says = OVER_THE_COPY_LIMITS[case]
    (good_task / "baseline.py").write_text(baseline)
    report = validate_task(good_task, record=False)
    assert [r.reason for r in report.rejections] == ["evaluation_failed"]
    assert "submission.csv" in report.rejections[0].detail and says in report.rejections[0].detail


def test_cli_validate_rejects_a_baseline_past_path_max_without_a_traceback(good_task: Path):
    (good_task / "baseline.py").write_text(DEEP_SUBMISSION)
    synthml = str(Path(sys.executable).with_name("synthml"))
    done = subprocess.run([synthml, "validate", str(good_task)], capture_output=True, text=True)
    assert done.returncode == 1 and "rejected: evaluation_failed" in done.stdout, done.stdout + done.stderr
    shown = " ".join(done.stdout.split())  # the console wraps long lines
    assert "over the 2048-byte limit" in shown and "Traceback" not in done.stdout + done.stderr


def test_improvement_is_direction_aware():
    assert improvement(0.8, 0.88, +1) == pytest.approx(0.1)
    assert improvement(10.0, 9.0, -1) == pytest.approx(0.1)
    assert improvement(0.0, -0.5, -1) == pytest.approx(0.5)


def _flip(label: str) -> str:
    """One standard deviation of the simulated target off."""
    return str(float(label) + 1.0)



def test_cli_validate_prints_the_report_and_exits_by_verdict(good_task: Path):
    synthml = str(Path(sys.executable).with_name("synthml"))
    (good_task / "baseline.py").write_text("raise SystemExit(2)\n")
    rejected = subprocess.run([synthml, "validate", str(good_task)], capture_output=True, text=True)
    assert rejected.returncode == 1 and "rejected: baseline_failed" in rejected.stdout
    missing = subprocess.run([synthml, "validate", str(good_task / "nope")], capture_output=True, text=True)
    assert missing.returncode == 1 and "error:" in missing.stdout and "no such task dir" in missing.stdout
