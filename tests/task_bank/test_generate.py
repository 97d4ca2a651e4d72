"""`generate`: the seeded plan, a real bank built in the sandbox, and every accepted task playing in
SynthML-v0 with the baseline it recorded."""

import json
from collections import Counter
from pathlib import Path

import pytest

from synthml.envs.env import SynthMLEnv
from synthml.errors import TaskError
from synthml.task_bank.families import FAMILIES
from synthml.task_bank.generate import DATASET_SHARE, FAMILY_DATASET_SHARE, generate, plan
from synthml.tasks.bank import TaskBank

pytestmark = pytest.mark.usefixtures("runtime")
PER_FAMILY = 2


@pytest.fixture(scope="module")
def bank(runtime, tmp_path_factory) -> tuple[Path, object]:
    """Two candidates of every family, validated in the bubblewrap sandbox."""
    out = tmp_path_factory.mktemp("bank") / "bank"
    summary = generate(out, PER_FAMILY * len(FAMILIES), seed=0, workers=2)
    return out, summary


def test_plan_is_a_function_of_the_seed():
    first, again, longer = plan(0, 30), plan(0, 30), plan(0, 45)
    assert [c.task_id for c in first] == [c.task_id for c in again] == [c.task_id for c in longer[:30]]
    assert [c.split_seed for c in first] == [c.split_seed for c in again]
    assert [c.task_id for c in plan(1, 30)] != [c.task_id for c in first]
    assert len({c.key for c in first}) == 30
    assert {c.family for c in first[:len(FAMILIES)]} == set(FAMILIES)


def test_plan_holds_every_dataset_and_pair_to_its_share_at_every_length():
    candidates = plan(3, 100)
    for length in (10, 50, 100):
        datasets = Counter(c.dataset_id for c in candidates[:length] if c.dataset)
        pairs = Counter((c.family, c.dataset_id) for c in candidates[:length] if c.dataset)
        assert max(datasets.values()) <= max(1, int(DATASET_SHARE * length))
        assert max(pairs.values()) <= max(1, int(FAMILY_DATASET_SHARE * length))
    assert len({c.dataset_id for c in candidates}) >= 20  # tabular families take only tables simulated.accepts


def test_a_plan_longer_than_the_shares_allow_says_how_long_it_can_be():
    with pytest.raises(TaskError, match=r"no family of text_classification can plan candidate (\d+): .* ask for "
                                        r"\1 candidates or fewer, or add --families"):
        plan(0, 200, ["text_classification"])


def test_plan_names_an_unknown_family():
    with pytest.raises(TaskError, match="--families: unknown family tabluar.*tabular_classification"):
        plan(0, 3, ["tabluar"])


def test_every_family_is_planned_and_every_program_family_validates(bank):
    """Data families' candidates may fall to the ladder (a default model already does as well); each rejection
    says why. Program families' ladders are built to hold."""
    _, summary = bank
    entries = summary.accepted + summary.rejected
    assert {e.family for e in entries} == set(FAMILIES) and len(entries) == PER_FAMILY * len(FAMILIES)
    programs = {name for name, family in FAMILIES.items() if not family.needs_data}
    assert programs <= {e.family for e in summary.accepted}, {e.task_id: e.report.rejections for e in summary.rejected}
    assert all(e.report.rejections and e.report.rejections[0].detail for e in summary.rejected)


def test_bank_is_consistent_and_lists_reasons(bank):
    out, summary = bank
    opened = TaskBank(out)
    assert opened.problems() == []
    assert {e.task_id for e in opened.accepted()} == {e.task_id for e in summary.accepted}
    for entry in summary.rejected:
        assert entry.report.rejections and entry.report.rejections[0].detail
        assert not (out / entry.task_id).exists()
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == sorted(json.loads(line)["index"] for line in lines)


def test_accepted_tasks_play_in_the_env_and_reproduce_their_baseline(bank):
    out, summary = bank
    for entry in summary.accepted:
        env = SynthMLEnv(task=f"{out}:{entry.task_id}", max_steps=10)
        try:
            _, info = env.reset(seed=0)
            assert info["task_version"] == entry.version
            env.step(f"python {env.unwrapped.task.config.baseline_paths[0]}")
            validation = env.step("validate")[4]["score"]
            *_, terminated, _, info = env.step("submit")
        finally:
            env.close()
        metric = entry.report.metric
        assert terminated and info["exit_status"] == "submitted"
        assert validation[metric] == entry.report.baseline["validation"][metric] == info["baseline_validation_score"]
        assert info["score"][metric] == info["baseline_score"] == entry.report.baseline["test"][metric]


def test_running_again_redoes_nothing(bank):
    out, _ = bank
    again = generate(out, PER_FAMILY * len(FAMILIES), seed=0, workers=2)
    assert again.skipped == PER_FAMILY * len(FAMILIES)
    assert again.accepted == again.rejected == []
