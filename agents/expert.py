"""`ExpertAgent`: a non-LLM researcher for the procedural task families, the offline teacher and the
reference line in benchmarks.

It acts only through the env: it looks at the workspace, profiles the data with a script, runs and
validates the baseline, writes and validates a few candidate solutions suited to the task's kind (a
table, pixels, text, a series, a cost-sensitive decision) and metric, and submits the best on
validation. Each step's thought says what it tries and why, as a researcher would write it.
"""

import ast
import contextlib
import json
import math
import random
import re
from dataclasses import dataclass
from typing import Any

from synthml.agents import expert_scripts as scripts
from synthml.agents.agent_record import AgentRecord
from synthml.agents.expert_plan import Candidate, Facts, combine, plan
from synthml.agents.expert_scripts import Kind
from synthml.agents.trajectory import EpisodeRecorder, Trajectory
from synthml.tasks.statements import read_costs, read_history, read_submission_target

LOSSES = ("rmse", "mae", "r2", "smape")
"""Metrics of numeric targets (r2 is a score, but of a regression)."""
_SCORE = re.compile(r"Evaluation Score: (\{.*?\})")


def read_facts(description: str, info: dict[str, Any], profile: dict[str, Any]) -> Facts:
    """The task's kind and knobs: the metric decides numbers or labels, the columns decide the rest."""
    metric, columns = info["metric"], profile.get("columns", {})
    rows = int(profile.get("rows", {}).get("train", 0))
    facts = Facts(_kind(description, metric, columns, rows), profile.get("target", ""), metric,
                  int(info.get("direction", 1)), train_rows=rows)
    if facts.kind == "text":
        facts.text = max((c for c, d in columns.items() if "mean_length" in d), key=lambda c: columns[c]["mean_length"])
        facts.long_text = columns[facts.text]["mean_length"] > 1000
    if facts.kind == "image":
        facts.pixel_max = max(d["max"] for d in columns.values()) or 1.0
    target = profile.get("target_summary", {})
    facts.log_target = facts.kind == "regression" and target.get("min", 0) > 0 and target.get("skew", 0) > 1
    if facts.kind == "cost":
        _read_costs(facts, description, profile.get("class_counts", {}))
    return facts


def _kind(description: str, metric: str, columns: dict[str, dict], rows: int) -> Kind:
    if metric == "expected_cost":
        return "cost"
    numeric = [d for d in columns.values() if "min" in d]
    if metric in LOSSES:
        return "regression"
    texts = [d for d in columns.values() if d.get("mean_length", 0) >= 30 and d["unique"] > 0.5 * rows]
    if texts:
        return "text"
    side = math.isqrt(len(columns))
    pixels = columns and len(numeric) == len(columns) and side * side == len(columns) and side >= 4
    return "image" if pixels and min(d["min"] for d in numeric) >= 0 else "classification"


def forecaster_facts(description: str, info: dict[str, Any], settings: dict[str, Any]) -> Facts:
    """A forecasting task's knobs, from forecast.json (its settings) and the statement."""
    return Facts("forecast", str(settings.get("target", "y")), info["metric"], int(info.get("direction", 1)),
                 train_rows=read_history(description) or 0, season=int(settings.get("season") or 1))


def _read_costs(facts: Facts, description: str, counts: dict[str, int]) -> None:
    """Positive label and costs from the description's cost note; the rarest class if it names none."""
    costs = read_costs(description)
    if costs is None:
        facts.positive = min(counts, key=counts.get) if counts else "1"
        return
    facts.positive, facts.fn_cost, facts.fp_cost = costs.positive, costs.missed, costs.false_alarm


def parse_score(observation: str, metric: str) -> float | None:
    """The primary metric from a `validate` observation ("Evaluation Score: {...}"), None if absent."""
    found = _SCORE.search(observation)
    if not found:
        return None
    try:
        value = ast.literal_eval(re.sub(r"\b(nan|inf)\b", "None", found.group(1))).get(metric)
    except (ValueError, SyntaxError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def script(facts: Facts, candidate: Candidate, seed: int) -> str:
    doc = f"Candidate: {candidate.label}. {candidate.idea[0].upper()}{candidate.idea[1:]}."
    if facts.kind == "text":
        return scripts.text_script(doc, facts.target, facts.text or "text", candidate.features,
                                   candidate.models[0])
    if facts.kind == "forecast":
        return scripts.forecaster(doc, facts.season, candidate.rules)
    constants = ""
    if facts.kind == "cost":
        constants = scripts.cost_constants(facts.positive, facts.fn_cost, facts.fp_cost, candidate.tune)
    elif facts.kind == "image":
        constants = f"PIXEL_MAX = {facts.pixel_max!r}\n"
    return scripts.tabular_script(doc, facts.kind, facts.target, candidate.models, seed, constants)


def parse_profile(observation: str) -> dict[str, Any]:
    """The JSON object the profile script printed, {} if the output holds none."""
    start, end = observation.find("{"), observation.rfind("}")
    try:
        found = json.loads(observation[start:end + 1]) if 0 <= start < end else {}
    except json.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


KIND_TEXT = {
    "classification": "a table of numeric and categorical columns with a class target",
    "regression": "a table of numeric and categorical columns with a numeric target",
    "cost": "a table with a rare positive class, judged by the cost of its decisions",
    "image": "small grey-level images, one column per pixel",
    "text": "documents in one text column with a class target",
    "forecast": "a single series by date, to be forecast ahead",
}
FIXED_STEPS = 7
"""Steps besides the candidates' two each: look, profile, baseline, validate; restore, validate, submit."""
SAVE = ("mkdir -p runs && cp validation_predictions.csv runs/{name}_validation.csv && "
        "cp submission.csv runs/{name}_submission.csv && echo saved {name} predictions in runs/")
FORECAST_CALL = "forecast(history, horizon)"
"""What a forecasting task's statement asks for: a forecaster module, not prediction files."""


@dataclass(frozen=True)
class Layout:
    """Where a candidate goes and how it is kept under runs/: a script that writes the prediction files, or the
    forecaster module that the evaluator calls. Actions are format strings of `name` (and `code`)."""

    look: str
    baseline: str
    install: str
    restore: str
    fits: str
    """How a candidate makes its predictions, for the thoughts."""


SCRIPTS = Layout(
    look="ls && head -c 600 data/train.csv", baseline=f"python baseline.py && {SAVE.format(name='baseline')}",
    install="cat > {name}.py <<'EOF'\n{code}EOF\nrm -f validation_predictions.csv submission.csv\npython {name}.py && "
            + SAVE,
    restore="cp runs/{name}_validation.csv validation_predictions.csv && cp runs/{name}_submission.csv "
            "submission.csv && head -n 3 submission.csv",
    fits="It fits on train for the validation predictions and refits on train + validation for the test predictions.")
FORECASTER = Layout(
    look="ls && cat forecast.json && head -n 4 series.csv",
    baseline="mkdir -p runs && cp forecaster.py runs/baseline_forecaster.py && echo saved baseline forecaster in runs/",
    install="cat > forecaster.py <<'EOF'\n{code}EOF\nmkdir -p runs && cp forecaster.py runs/{name}_forecaster.py && "
            "python -c 'import forecaster' && echo saved {name} forecaster in runs/",
    restore="cp runs/{name}_forecaster.py forecaster.py && head -n 3 forecaster.py",
    fits="The evaluator calls its forecast at each window's origin with every point before the window.")


class _Over(Exception):
    """The episode ended: submitted, out of steps, or the infrastructure failed."""


@dataclass
class Result:
    name: str
    label: str
    score: float | None
    candidate: Candidate | None = None

    @property
    def title(self) -> str:
        return "the baseline" if self.candidate is None else f"{self.name} ({self.label})"


class ExpertAgent:
    """Profiles the task, validates the baseline and up to `max_candidates` candidates, submits the best."""

    name = "expert"

    def __init__(self, max_candidates: int = 6, seed: int = 0) -> None:
        self.max_candidates, self.seed = max_candidates, seed

    def run(self, env: Any, seed: int | None = None, options: dict | None = None, run: int = 0) -> Trajectory:
        """One episode; candidate order and grids depend on (self.seed, run) only."""
        config = AgentRecord(max_candidates=self.max_candidates, seed=self.seed)
        recorder = EpisodeRecorder(env, agent=self.name, run=run, config=config)
        description, info = recorder.reset(seed=seed, options=options)
        if recorder.done:  # the sandbox failed to start: nothing to play
            return recorder.finish()
        episode = _Episode(recorder, description, info, random.Random(f"expert:{self.seed}:{run}"), self.seed + run)
        steps = getattr(env.unwrapped, "max_steps", None) or 50
        with contextlib.suppress(_Over):  # the episode ended early: the recorder knows how
            episode.play(min(self.max_candidates, (steps - FIXED_STEPS) // 2))
        return recorder.finish()


class _Episode:
    def __init__(self, recorder: EpisodeRecorder, description: str, info: dict, rng: random.Random,
                 seed: int) -> None:
        self.recorder, self.description, self.info, self.rng, self.seed = recorder, description, info, rng, seed
        self.metric, self.direction = info["metric"], int(info.get("direction") or 1)
        self.results: list[Result] = []
        self.layout = FORECASTER if FORECAST_CALL in description else SCRIPTS
        self.in_place: str | None = None
        """The run whose submission the workspace holds (its prediction files, or its forecaster)."""
        self.note = ""
        """What the last step showed, to open the next thought with."""

    def act(self, action: str, thought: str) -> str:
        observation, *_ = self.recorder.step(action, thought=thought)
        if self.recorder.done:
            raise _Over
        return observation

    def play(self, budget: int) -> None:
        if self.layout is FORECASTER:
            observation = self.act(self.layout.look, "First I look at what the workspace holds: the forecaster's "
                                   "settings (target, season, horizon, metrics) and the first points of the series.")
            facts = forecaster_facts(self.description, self.info, parse_profile(observation))
        else:
            self.act(self.layout.look, "First I look at what the workspace holds, and at the first rows of train to "
                     "see what the columns look like.")
            facts = self.profile()
        self.run_baseline(facts)
        first = plan(facts, self.rng, self.seed)[:budget - 1 if budget >= 3 else max(budget, 0)]
        if first:
            self.note += (f"The plan, in order: {'; '.join(c.label for c in first)}"
                          + ("; then a combination of the two best. " if budget >= 3 else ". "))
        for candidate in first:
            self.attempt(facts, candidate)
        ranked = [r.candidate for r in self.ranked() if r.candidate is not None]
        distinct = [c for c in ranked[1:] if c.describe() != ranked[0].describe() or c.features != ranked[0].features]
        if budget >= 3 and distinct:  # the best with the next best that differs from it in more than a threshold
            self.attempt(facts, combine(facts, ranked[0], distinct[0]))
        self.submit()

    def profile(self) -> Facts:
        target = read_submission_target(self.description)
        action = f"cat > inspect_data.py <<'EOF'\n{scripts.profile_script(target)}EOF\npython inspect_data.py"
        observation = self.act(action, "Before choosing models I profile the data with a short script: split "
                               "sizes, each column's type, gaps and spread, and the target's distribution. They "
                               "decide the kind of model: tabular models for numeric and categorical columns, text "
                               "features for a long text column, image classifiers for a square number of pixel "
                               "columns.")
        profile = parse_profile(observation)
        profile["target"] = profile.get("target") or target or "target"
        return read_facts(self.description, self.info, profile)

    def run_baseline(self, facts: Facts) -> None:
        kind = KIND_TEXT[facts.kind]
        extra = {"cost": f" (positive label {facts.positive}, a miss costs {facts.fn_cost:g}, a false alarm "
                         f"{facts.fp_cost:g})", "forecast": f" (seasonal period {facts.season})"}.get(facts.kind, "")
        rows = "points of history" if self.layout is FORECASTER else "training rows"
        observation = self.act(self.layout.baseline,
                               f"The task holds {kind}{extra}; target `{facts.target}`, {facts.train_rows} {rows}. I "
                               f"keep the provided baseline under runs/ first: its validation score is the bar to "
                               f"beat, and the fallback if nothing beats it.")
        self.in_place = "baseline" if "saved baseline" in observation else None
        better = "higher" if self.direction > 0 else "lower"
        observation = self.act("validate", f"Scoring the baseline's validation predictions: the number every "
                               f"candidate must beat on {self.metric} ({better} is better).")
        score = parse_score(observation, self.metric) if self.in_place else None
        self.results.append(Result("baseline", "the baseline", score))
        shown = f"{score:.4f}" if score is not None else "no score"
        self.note = f"Result: the baseline scores {self.metric} {shown} on validation. "

    def attempt(self, facts: Facts, candidate: Candidate) -> None:
        name = f"try_{len(self.results)}"
        code = script(facts, candidate, self.seed)
        observation = self.act(self.layout.install.format(name=name, code=code),
                               f"{self.note}Hypothesis: {candidate.idea}. Candidate {name}, {candidate.label}: "
                               f"{candidate.describe()}. {self.layout.fits}")
        self.in_place = name if f"saved {name}" in observation else None
        if self.in_place is None:
            self.results.append(Result(name, candidate.label, None, candidate))
            self.note = f"Result: {name} ({candidate.label}) failed before it could be kept, so I drop it. "
            return
        best = self.ranked()[0] if self.ranked() else None
        bar = f", against the best so far, {best.title}, at {best.score:.4f}" if best else ""
        observation = self.act("validate", f"{name} is in place. Scoring it on validation{bar}.")
        self.results.append(Result(name, candidate.label, parse_score(observation, self.metric), candidate))
        self.note = self.verdict(self.results[-1])

    def ranked(self) -> list[Result]:
        """Scored runs, best first (on a tie, the earlier: a candidate must beat the baseline outright)."""
        scored = [r for r in self.results if r.score is not None]
        return sorted(scored, key=lambda r: -self.direction * r.score)

    def verdict(self, result: Result) -> str:
        if result.score is None:
            return f"Result: {result.name} ({result.label}) could not be scored, so I drop it. "
        baseline = self.results[0].score
        text = f"Result: {result.name} ({result.label}) scores {self.metric} {result.score:.4f} on validation"
        if baseline is not None:
            gain = self.direction * (result.score - baseline)
            text += (f", level with the baseline ({baseline:.4f})" if gain == 0 else
                     f", {'better' if gain > 0 else 'worse'} than the baseline ({baseline:.4f}) by {abs(gain):.4f}")
        best = self.ranked()[0]
        return text + ("; the best so far. " if best is result else f"; {best.title} stays best. ")

    def submit(self) -> None:
        ranked = self.ranked()
        if not ranked:
            self.act("submit", f"{self.note}Nothing could be scored on validation; submitting what the workspace "
                     "holds.")
            return
        best = ranked[0]
        summary = f"{best.title} validates best, at {self.metric} {best.score:.4f}"
        if self.in_place != best.name:
            self.act(self.layout.restore.format(name=best.name), f"{self.note}{summary}. Putting its saved copy back "
                     "in place.")
            observation = self.act("validate", f"Checking that the restored submission scores as {best.name} did.")
            score = parse_score(observation, self.metric)
            self.note = f"The restored files score {'nothing' if score is None else f'{score:.4f}'}. "
        choice = ("none of the candidates beat the baseline, so I submit the baseline"
                  if best.candidate is None else "it beats the baseline on validation, so I submit it"
                  if self.results[0].score is not None else "the baseline gave no score, so I submit the best")
        self.act("submit", f"{self.note}{summary}; {choice}.")
