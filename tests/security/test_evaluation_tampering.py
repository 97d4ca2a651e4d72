"""Attempts to change the score: evaluate.py tampering, hard links, submission links, workspace swaps."""

import shutil

import pytest

from synthml.envs.workspace import pristine_workspace
from tests.security.helpers import ROOT, assert_alive, put_baseline, run

PERFECT = 'import json, os\nprint(json.dumps({"rmse": 0.0, "r2": 1.0}), flush=True)\nos._exit(0)\n'
PLANT_FAKE = f"cat > /tmp/fake.py <<'EOF'\n{PERFECT}EOF\n"


TAMPERS = {  # setup, then a check that the tamper took effect in the agent's own workspace
    "rm-evaluate": ("rm -f evaluate.py", "ls evaluate.py 2>&1", "No such file"),
    "overwrite-evaluate": ("rm -f evaluate.py && cp /tmp/fake.py evaluate.py", "python evaluate.py", '"rmse": 0.0'),
    "chmod-and-write-evaluate": ("chmod 666 evaluate.py; cat /tmp/fake.py > evaluate.py",  # as root: refused, the
                                 "grep -c argparse evaluate.py", "2" if ROOT else "0"),  # file is the host's
    "mv-and-replace-evaluate": ("mv evaluate.py evaluate.orig && cp /tmp/fake.py evaluate.py",
                                "python evaluate.py", '"rmse": 0.0'),
    "symlink-evaluate": ("rm -f evaluate.py && cp /tmp/fake.py fake.py && ln -s fake.py evaluate.py",
                         "python evaluate.py", '"rmse": 0.0'),
    "plant-hidden-labels": ("mkdir -p hidden && cp submission.csv hidden/test_labels.csv",
                            "cmp submission.csv hidden/test_labels.csv && echo SAME", "SAME"),
    "plant-validation-data": ("mv data data.orig && mkdir data && cp data.orig/t*.csv data/ && paste -d, "
                              "<(cut -d, -f1-11 data.orig/validation.csv) <(cut -d, -f2 validation_predictions.csv)"
                              " > data/validation.csv", "ls data.orig", "validation.csv"),
    "shadow-evaluator-imports": ("for m in pandas sklearn sitecustomize usercustomize; do cp /tmp/fake.py $m.py; "
                                 "done; d=~/.local/lib/python3.11/site-packages; mkdir -p $d && cp /tmp/fake.py "
                                 "$d/usercustomize.py", "python -c 'import pandas'", '"rmse": 0.0'),
    "export-pythonpath": ("mkdir -p evil && cp /tmp/fake.py evil/pandas.py && cp /tmp/fake.py evil/sitecustomize.py"
                          " && export PYTHONPATH=$PWD/evil", "cd /tmp && python -c 'import pandas'", '"rmse": 0.0'),
}
VALIDATED = {"overwrite-evaluate", "plant-validation-data", "shadow-evaluator-imports", "export-pythonpath"}


@pytest.mark.parametrize("tamper", TAMPERS)
def test_tampering_with_evaluation_files_changes_no_score(fresh, baseline_files, tamper):
    setup, check, effect = TAMPERS[tamper]
    put_baseline(fresh, baseline_files)
    run(fresh, PLANT_FAKE + setup)
    assert effect in run(fresh, check)
    if tamper in VALIDATED:
        info = fresh.step("validate")[4]
        assert info["score"]["rmse"] == pytest.approx(info["baseline_validation_score"], abs=1e-9)
    _, reward, terminated, _, info = fresh.step("submit")
    assert terminated and info["exit_status"] == "submitted"
    assert info["score"]["rmse"] == pytest.approx(info["baseline_score"], abs=1e-9) and abs(reward) < 1e-9
    fresh.reset(seed=0)
    assert_alive(fresh)


def test_read_only_task_files_cannot_be_changed_through_their_hard_links(fresh, baseline_files):
    """The workspace's data and evaluate.py are hard links to the pristine copy every episode shares."""
    pristine = pristine_workspace(fresh.task)
    before = {p: p.read_bytes() for p in pristine.rglob("*") if p.is_file()}
    out = run(fresh, "chmod -R u+w data evaluate.py; echo 999,1 >> data/validation.csv; echo x >> evaluate.py; "
                     "truncate -s 0 data/test.csv; ln data/train.csv t.csv && echo x >> t.csv; "
                     "touch -d 2000-01-01 evaluate.py; rm -f data/train.csv; echo DONE")
    *errors, done = out.splitlines()
    if ROOT:  # as a normal user the workspace is the agent's own copy, not links to the pristine files
        assert done == "DONE" and len(errors) == 11, out  # chmod x5, >> x2, truncate, ln, touch, rm: all refused
        assert all(e.endswith(("Permission denied", "Operation not permitted")) for e in errors), out
    assert {p: p.read_bytes() for p in pristine.rglob("*") if p.is_file()} == before
    put_baseline(fresh, baseline_files)
    info = fresh.step("validate")[4]
    assert info["score"]["rmse"] == pytest.approx(info["baseline_validation_score"], abs=1e-9)
    assert_alive(fresh)


SUBMISSION_LINKS = {
    "symlink-relative-hidden": "ln -s hidden/test_labels.csv submission.csv",
    "symlink-workspace-hidden": "ln -s /home/agent/workspace/hidden/test_labels.csv submission.csv",
    "symlink-host-hidden": "ln -s {hidden} submission.csv",
    "symlink-proc-root-host-hidden": "ln -s /proc/1/root{hidden} submission.csv",
    "symlink-to-host-hidden-dir": "ln -s {hidden_dir} submission.csv",
    "hardlink-host-hidden": "ln {hidden} submission.csv",
    "dir-of-symlinks": "mkdir submission.csv && ln -s {hidden} submission.csv/a && ln -s ../hidden submission.csv/b",
    "fifo-submission": "mkfifo submission.csv",  # the host must not block opening it
}


@pytest.mark.parametrize("link", SUBMISSION_LINKS)
def test_links_toward_hidden_files_score_nothing(fresh, link):
    hidden = fresh.task.path("hidden/test_labels.csv")
    run(fresh, SUBMISSION_LINKS[link].format(hidden=hidden, hidden_dir=hidden.parent))
    made = run(fresh, "ls -d submission.csv 2>&1")
    assert made == "submission.csv\n" if link != "hardlink-host-hidden" else "No such file" in made
    observation, reward, terminated, _, info = fresh.step("submit")
    assert terminated and "score" not in info and reward == -1.0
    assert info["exit_status"] in ("submission_not_found (submit)", "evaluation_error (submit)")
    assert "195.0" not in observation
    fresh.reset(seed=0)
    assert_alive(fresh)


def test_a_baseline_submission_swapped_for_a_link_scores_nothing(fresh, baseline_files):
    put_baseline(fresh, baseline_files)
    run(fresh, "ln -sf hidden/test_labels.csv submission.csv")
    _, reward, _, _, info = fresh.step("submit")
    assert info["exit_status"] == "submission_not_found (submit)" and "score" not in info and reward == -1.0


def test_a_workspace_swapped_for_a_host_symlink_cannot_submit_host_files(fresh, tmp_path):
    shutil.copy(fresh.task.path("hidden/test_labels.csv"), tmp_path / "submission.csv")
    run(fresh, f"cd /home/agent && mv workspace ws && ln -s {tmp_path} workspace")
    _, _, terminated, _, info = fresh.step("submit")
    assert terminated and ("score" not in info or info["score"]["rmse"] >= info["baseline_score"]), info


def test_moving_the_workspace_away_leaves_a_working_shell(fresh):
    run(fresh, "cd /home/agent && mv workspace ws")
    assert "alive" in run(fresh, "echo alive")
