"""A student beside its base model on held-out tasks: both served by `transformers serve` (OpenAI-compatible), each
played by `synthml bench`'s LLM agent through SynthML-v0, scored as valid-action rate (replies that parsed into a
command), successful-submission rate (episodes the agent itself submitted and that scored) and MLGym's AUP over
one table holding both models and the tasks' baselines. Run through `python -m experiments.sft_gpu eval`.
"""

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.table import Table

from synthml.errors import SynthMLError
from synthml.process import end_group, free_port, start_group


@dataclass
class Outcome:
    model: str
    episodes: int
    replies: int
    valid_actions: int
    successful_submissions: int
    valid_first_replies: int = 0
    """Episodes whose first reply parsed: what a student that learned only openings would score on too."""
    auto_submissions: int = 0
    """Episodes a limit ended and the recorder submitted, apart from the agent's own submissions."""

    @property
    def valid_action_rate(self) -> float:
        return self.valid_actions / self.replies if self.replies else 0.0

    @property
    def first_turn_rate(self) -> float:
        return self.valid_first_replies / self.episodes if self.episodes else 0.0

    @property
    def submission_rate(self) -> float:
        return self.successful_submissions / self.episodes if self.episodes else 0.0


@dataclass
class Evaluation:
    outcomes: list[Outcome]
    tables: dict[str, pd.DataFrame]
    """best_attempt and best_submission: a column per model beside the baseline's."""
    aups: dict[str, dict[str, float]] | None
    aup_error: str | None = None


def evaluate(models: dict[str, Path], tasks: str, out: Path, runs: int, max_steps: int, workers: int,
             max_tokens: int, temperature: float, device: str = "cuda") -> Evaluation:
    """Each model's bench in OUT/<name> (run again to resume), then both tables in OUT/*.csv and their AUPs."""
    from synthml.agents.llm import llm_config
    from synthml.benchmarks.aup import compare
    from synthml.benchmarks.bench import latest, run_bench

    for name, model in models.items():
        if not (model / "config.json").is_file():
            raise SynthMLError(f"--{name} {model}: no config.json; pass a Hugging Face model folder")
    tables, outcomes, minimize = {}, [], []
    with ModelServer(out / "server.log", device) as server:
        for name, model in models.items():
            llm = llm_config({"model": str(model.resolve()), "base_url": server.base_url, "max_tokens": max_tokens,
                              "temperature": temperature, "timeout_s": 600})
            result = run_bench(tasks, ["llm"], runs, out / name, workers, "bwrap", max_steps, llm)
            minimize = result.report.minimize
            outcomes.append(outcome(name, [t for t in latest(result.config, out / name) if not t.infra_error]))
            for table, frame in result.report.tables.items():
                merged = tables.setdefault(table, frame.drop(columns=["llm"]).copy())
                merged[name] = frame["llm"]
    for table, frame in tables.items():
        frame.to_csv(out / f"{table}.csv", index_label="Task", na_rep="")
    try:
        comparison = compare(list(tables.values()), minimize)
    except SynthMLError as e:
        return Evaluation(outcomes, tables, None, str(e))
    return Evaluation(outcomes, tables, dict(zip(tables, comparison.aups, strict=True)))


def outcome(name: str, trajectories: list) -> Outcome:
    replies = [step for t in trajectories for step in t.steps if not step.auto]
    valid = [step for step in replies if step.format_error is None]
    submitted = [t for t in trajectories if t.exit_status == "submitted" and t.final is not None]
    first = [t for t in trajectories if t.steps and not t.steps[0].auto and t.steps[0].format_error is None]
    auto = [t for t in trajectories if t.steps and t.steps[-1].auto]
    return Outcome(name, len(trajectories), len(replies), len(valid), len(submitted), len(first), len(auto))


class ModelServer:
    """`transformers serve` on one device, loading each model when a request first names it."""

    def __init__(self, log: Path, device: str = "cuda", host: str = "127.0.0.1", ready_s: float = 300.0) -> None:
        self.log, self.device, self.host, self.port, self.ready_s = log, device, host, free_port(host), ready_s
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def __enter__(self) -> "ModelServer":
        from synthml.agents.serve import executable, tail

        command = [executable("transformers"), "serve", "--host", self.host, "--port", str(self.port),
                   "--device", self.device, "--dtype", "bfloat16", "--log-level", "info"]
        cache = self.log.parent / "hf-cache"  # its model list scans the Hub cache, which must exist
        cache.mkdir(parents=True, exist_ok=True)
        with self.log.open("w") as log:
            self.process = start_group(command, stdout=log, stderr=subprocess.STDOUT,
                                       env={**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"})
        try:
            deadline = time.monotonic() + self.ready_s
            while not self._healthy():
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SynthMLError(f"`{' '.join(command)}` did not come up in {self.ready_s:g} s; its log "
                                       f"({self.log}) ends:\n{tail(self.log, 30)}")
                time.sleep(1)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _healthy(self) -> bool:
        from synthml.agents.serve import loopback_opener

        health = f"http://{self.host}:{self.port}/health"
        with contextlib.suppress(OSError), loopback_opener().open(health, timeout=5) as reply:
            return reply.status == 200
        return False

    def __exit__(self, *exc: object) -> None:
        if self.process:
            end_group(self.process, 10.0)


def eval_table(evaluation: Evaluation, tasks: str, runs: int) -> Table:
    aups = evaluation.aups or {}
    table = Table("model", "episodes", "valid-action rate", "first reply valid", "successful-submission rate",
                  "auto-submitted", "AUP best attempt",
                  "AUP best submission", title=f"Student vs base on held-out tasks ({tasks}, {runs} run(s) each)",
                  caption=evaluation.aup_error and f"AUP could not be computed: {evaluation.aup_error}")
    for o in evaluation.outcomes:
        table.add_row(o.model, str(o.episodes), f"{o.valid_action_rate:.1%} ({o.valid_actions}/{o.replies})",
                      f"{o.first_turn_rate:.1%} ({o.valid_first_replies}/{o.episodes})",
                      f"{o.submission_rate:.1%} ({o.successful_submissions}/{o.episodes})", str(o.auto_submissions),
                      *(f"{aups[name][o.model]:.3f}" if aups else "" for name in ("best_attempt", "best_submission")))
    if aups:
        table.add_row("task baseline", "", "", "", "", "", f"{aups['best_attempt']['baseline']:.3f}",
                      f"{aups['best_submission']['baseline']:.3f}")
    return table
