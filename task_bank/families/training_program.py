"""Training program: improve a weak learner (`train.py`: `fit` and `predict`) that the evaluator trains and
scores, within a time budget per call, on learning problems drawn from a seeded generator it keeps to itself.

The agent never sees the problems' data ahead of time, so only better code scores better. The problems
(`training_program/evaluate.py`'s `make_problem`) mix a linear signal with a nonlinear function of two of
the informative features, among irrelevant features, on scales that may differ by orders of magnitude,
with label noise and class imbalance or heavy-tailed target noise. The evaluator and the rungs of the
ladder are real modules under `training_program/`, read here as text.
"""

import random
from pathlib import Path
from typing import Any

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.families.common import pick
from synthml.task_bank.families.family import Family
from synthml.task_bank.program import RUNGS, ProgramDraft
from synthml.tasks.schema import Metric

TEMPLATES = Path(__file__).with_name("training_program")
SUBMISSION = "train.py"
SHAPES = ("waves", "interactions", "radial", "steps")
INSTANCES = 20
"""Per split: enough for a confident comparison of two learners, few enough for one evaluation in ~2 s."""
HELD_OUT_ROWS = 500
"""As evaluate.py's HELD_OUT_ROWS."""
SHAPE_TEXT = {"waves": "a sum of sine waves along random directions",
              "interactions": "their product (an XOR-like pattern)",
              "radial": "the squared distance from a random centre (a ball)",
              "steps": "a sum of boxes (the signal jumps at axis-aligned edges)"}
SUMMARIES = {
    "classification": "logistic regression trained by plain gradient descent for a fixed 300 epochs on the raw, "
                      "unscaled features, with no regularisation",
    "regression": "linear regression trained by plain gradient descent on the squared error for a fixed 300 epochs "
                  "on the raw, unscaled features, with no regularisation"}


def sample_knobs(rng: random.Random, entry: DatasetEntry | None = None) -> dict[str, Any]:
    kind = pick(rng, ("classification", "regression"))
    knobs = {"kind": kind, "shapes": pick(rng, (*SHAPES, "mixed")), "informative": rng.randint(2, 4),
             "irrelevant": pick(rng, (0, 3, 6)), "scales": pick(rng, ("mixed", "mixed", "unit")),
             "train_rows": pick(rng, (250, 500, 1000)), "budget_s": pick(rng, (0.2, 0.3, 0.4))}
    if kind == "classification":
        return knobs | {"positive_rate": pick(rng, (0.5, 0.3, 0.15)), "label_noise": pick(rng, (0.0, 0.1, 0.2))}
    return knobs | {"noise": pick(rng, ("gaussian", "heavy"))}


def build(entry: DatasetEntry | None, table: Any, knobs: dict[str, Any], seed: int, task_id: str) -> ProgramDraft:
    rng = random.Random(seed)
    validation, test = instances(knobs, rng), instances(knobs, rng)
    kind, metric = knobs["kind"], metric_name(knobs)
    return ProgramDraft(
        task_id=task_id, name=f"Training program: {kind} under a {knobs['budget_s']} s budget",
        intro=_intro(knobs, metric), family=FAMILY.name, topic=_topic(knobs), submission=SUBMISSION,
        baseline=template(f"{kind}/baseline.py"), baseline_summary=SUMMARIES[kind],
        evaluator=template("evaluate.py"), validation=validation, test=test,
        ladder={rung: template(f"{kind}/{rung}.py") for rung in RUNGS},
        metrics=(Metric(name=metric, direction="max"), Metric(name="failures", direction="min")), knobs=knobs,
        notes=_notes(knobs, metric),
        environment="procedural learning problems (evaluate.py: make_problem)", training_timeout=120)


def instances(knobs: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """One split's problems: a seed each (drawn from 2^62: no seed can be guessed from the data) and the task's
    settings; with `shapes` "mixed", a shape each."""
    settings = {k: v for k, v in knobs.items() if k != "shapes"}
    return [{"seed": rng.getrandbits(62), **settings,
             "shape": pick(rng, SHAPES) if knobs["shapes"] == "mixed" else knobs["shapes"]}
            for _ in range(INSTANCES)]


def metric_name(knobs: dict[str, Any]) -> str:
    """As evaluate.py's metric_of."""
    if knobs["kind"] == "regression":
        return "r2"
    return "accuracy" if knobs["positive_rate"] == 0.5 else "balanced_accuracy"


def template(relative: str) -> str:
    return (TEMPLATES / relative).read_text()


def _intro(knobs: dict[str, Any], metric: str) -> str:
    target = "a 0/1 label" if knobs["kind"] == "classification" else "a number"
    return (f"Improve the training program in {SUBMISSION}. For each of {INSTANCES} learning problems the evaluator "
            f"draws training rows and held-out rows from a seeded generator, calls your `fit(x, y, budget_s)` on the "
            f"training rows and your `predict(params, x)` on the held-out rows, and scores the predictions of "
            f"{target} per row by {_metric_text(metric)}. The data of the hidden test problems exist only inside "
            "the evaluator, so only a better learner scores better: change the code, not the predictions.")


def _metric_text(metric: str) -> str:
    return {"accuracy": "accuracy against the true (noise-free) class",
            "balanced_accuracy": "balanced accuracy (the mean of the two classes' recalls) against the true "
                                 "(noise-free) class",
            "r2": "R² against the noise-free target (clipped below at -1)"}[metric]


def _notes(knobs: dict[str, Any], metric: str) -> tuple[str, ...]:
    return (_interface_text(knobs, metric), _problem_text(knobs),
            "LIBRARIES: any library of the runtime may be used (numpy, scipy, pandas, scikit-learn, torch on "
            "CPU); what counts is the learner's design within the time budget. The evaluation's CPU is "
            "shared: leave headroom under the budget, and expect little from more threads.")


def _interface_text(knobs: dict[str, Any], metric: str) -> str:
    labels, label = (("0/1 labels", "label (0 or 1)") if knobs["kind"] == "classification" else ("floats", "number"))
    return (f"INTERFACE: `fit(x, y, budget_s)` gets x as a list of rows (lists of floats), y as a list of {labels} "
            "and the time budget in seconds, and returns params: plain data (numbers, strings, lists, dicts), "
            f"passed unchanged to `predict(params, x)`, which returns one {label} per row of x. Each call must "
            f"return within {knobs['budget_s']} s of wall time as the evaluator measures it (passing the data "
            "across takes a few hundredths of a second of that). A call that raises, runs over the budget or "
            "returns anything but one finite number per row scores that problem "
            f"{'-1' if metric == 'r2' else '0'} (`failures` counts such problems). Importing your module is not "
            "timed (up to 20 s): import heavy libraries at the top, not inside fit.")


def _problem_text(knobs: dict[str, Any]) -> str:
    shapes = (f"each problem draws one of {'; '.join(f'{t} ({s})' for s, t in SHAPE_TEXT.items())}"
              if knobs["shapes"] == "mixed" else SHAPE_TEXT[knobs["shapes"]])
    scales = ("each column scaled by a random power of ten between 10^-2 and 10^2 and shifted"
              if knobs["scales"] == "mixed" else "each column on a unit scale")
    if knobs["kind"] == "classification":
        noise = (f"the label is 1 for the top {knobs['positive_rate']:.0%} of the signal; "
                 f"{knobs['label_noise']:.0%} of the training labels are flipped")
    else:
        noise = ("the target is the signal plus "
                 + ("Student-t noise with 1.5 degrees of freedom (a few training targets lie far out)"
                    if knobs["noise"] == "heavy" else "Gaussian noise")
                 + ", on a random scale and offset")
    columns = knobs["informative"] + knobs["irrelevant"]
    return (f"PROBLEMS: {knobs['train_rows']} training rows and {HELD_OUT_ROWS} held-out rows of {columns} numeric "
            f"features, {knobs['informative']} informative and {knobs['irrelevant']} irrelevant, in random order, "
            f"{scales}. The signal is linear in the informative features plus a nonlinear function of two of them: "
            f"{shapes}; {noise}. evaluate.py's make_problem draws them; data/validation.json holds the validation "
            "problems' seeds and settings (the test problems are drawn the same way, from other seeds).")


def _topic(knobs: dict[str, Any]) -> str:
    return (f"Designing a {knobs['kind']} learner that generalises across problems with nonlinear structure, "
            f"irrelevant features and noise, within a {knobs['budget_s']} s training budget.")


FAMILY = Family("training_program", (), sample_knobs, build,
                skills=("learner design", "feature engineering", "regularisation", "compute budgets"))
