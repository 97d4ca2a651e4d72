"""`synthml bench` (agents on a bank, tables, AUP, report) and `synthml aup` (MLGym's area under the profile)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from synthml.cli_options import SandboxOption
from synthml.errors import SynthMLError

console = Console()


def aup_command(
    tables: Annotated[list[Path], typer.Argument(
        metavar="TABLE.csv", help="Score tables in MLGym's CSV shape: a Task column, a baseline column, one column "
                                  "per model; an empty cell is missing.")],
    minimize: Annotated[str, typer.Option(help="Tasks where lower is better, comma-separated (read from the "
                                          "bench.json beside tables that `synthml bench` wrote); the rest are "
                                          "higher-is-better.")] = "",
) -> None:
    """Print each model's AUP per table, as MLGym computes it; all tables share one tau range, so they compare.

    Example: synthml aup bench-out/best_attempt.csv bench-out/best_submission.csv   (directions: bench-out/bench.json)

    Example: synthml aup attempts.csv submissions.csv --minimize "House Price,Mountain Car"
    """
    from synthml.benchmarks.aup import compare, read_table

    frames = [read_table(path) for path in tables]
    result = compare(frames, _minimize(tables, minimize))
    for path, frame, aups in zip(tables, frames, result.aups, strict=True):
        table = Table("model", "AUP", title=str(path), caption=f"{len(frame)} task{'' if len(frame) == 1 else 's'}")
        for model, value in sorted(aups.items(), key=lambda item: (-item[1], item[0])):
            table.add_row(model, f"{value:.3f}")
        console.print(table)
    console.print(f"tau max {result.tau_max:.1f} (log10 of the performance ratio), shared by {len(tables)} "
                  f"table(s): a model best on every task scores {result.tau_max:.3f}", highlight=False)


def _minimize(tables: list[Path], flag: str) -> set[str]:
    """The lower-is-better tasks: those the bench.json beside a table says (the bench knew each task's metric),
    and those --minimize names; a table with neither is scored higher-is-better, with a warning."""
    from synthml.benchmarks.bench import CONFIG

    named = {name.strip() for name in flag.split(",") if name.strip()}
    configs = {path.parent / CONFIG for path in tables if (path.parent / CONFIG).is_file()}
    lower, known = set(), set()
    for path in sorted(configs):
        tasks = _bench_tasks(path)
        lower |= {task.id for task in tasks if task.direction < 0}
        known |= {task.id for task in tasks}
    wrong = sorted((named & known) - lower)
    if wrong:
        raise SynthMLError(f"--minimize names {', '.join(wrong)}, which the bench.json beside the tables says is "
                           "higher-is-better; drop it from --minimize (the bench's directions are read already)")
    bare = [str(path) for path in tables if path.parent / CONFIG not in configs]
    if bare and not named:
        console.print(f"[yellow]warning:[/yellow] no bench.json beside {', '.join(bare)}: every task there is "
                      "scored higher-is-better; name the lower-is-better ones with --minimize", soft_wrap=True,
                      highlight=False)
    return named | lower


def _bench_tasks(path: Path) -> list:
    from pydantic import ValidationError

    from synthml.benchmarks.bench_config import BenchConfig

    try:
        return BenchConfig.model_validate_json(path.read_text()).tasks
    except ValidationError as e:
        raise SynthMLError(f"{path}: not the config `synthml bench` writes ({e.errors()[0]['msg']}); move it away "
                           "from the tables and pass --minimize") from None


def bench_command(
    tasks: Annotated[str, typer.Option(help="A bank dir (its accepted tasks) or an MLGym checkout, optionally "
                                       "followed by :ID1,ID2 to pick tasks.")],
    out: Annotated[Path, typer.Option(help="Output folder; run again with the same one to resume.")],
    agents: Annotated[str, typer.Option(help="Comma-separated: baseline, expert, llm.")] = "baseline,expert",
    runs: Annotated[int, typer.Option(min=1, help="Runs per agent and task.")] = 4,
    workers: Annotated[int, typer.Option(min=1, help="Episodes played at once (each in its own sandbox).")] = 2,
    sandbox: SandboxOption = "bwrap",
    max_steps: Annotated[int, typer.Option(min=1, help="Steps before truncation and auto-submit.")] = 50,
    llm_model: Annotated[str | None, typer.Option(help="Model of the llm agent, as the endpoint names it.")] = None,
    llm_base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint (default: OpenAI's).")] = None,
    llm_api_key_env: Annotated[str, typer.Option(help="Environment variable holding the API key.")] = "OPENAI_API_KEY",
    prepare: Annotated[bool, typer.Option(help="MLGym checkout: first generate missing data with MLGym's own "
                                          "helpers (the Kaggle House Price split).")] = False,
) -> None:
    """Run agents on tasks several times each, then write MLGym's score tables, AUP, profile plots and report.md.

    A killed bench resumes: run the same command again and only the missing episodes are played. An MLGym
    checkout's tasks that cannot run here (GPU, download, data not generated) are listed as skipped, with why.

    Example: synthml bench --tasks bank --agents baseline,expert --runs 4 --out bench-out --workers 2

    Example: synthml bench --tasks ../MLGym:blotto,tasks/regressionKaggleHousePrice.yaml --prepare --out mlgym-out
    """
    from synthml.agents.llm import llm_config
    from synthml.benchmarks.bench import run_bench

    llm = llm_config({"model": llm_model, "base_url": llm_base_url, "api_key_env": llm_api_key_env}) \
        if llm_model else None
    bar = _EpisodeBar()
    try:
        result = run_bench(tasks, agents.split(","), runs, out, workers, sandbox, max_steps, llm, prepare=prepare,
                           on_start=bar.started, on_job=bar.ended)
    finally:
        bar.stop()
    _print_bench(result)


class _EpisodeBar:
    """A progress bar over the bench's episodes, shown once the flags check out and the jobs are known."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[failed]}"), console=console)
        self.bar = self.progress.add_task("episodes", total=None, failed="")
        self.failed = 0

    def started(self, total: int, skipped: int) -> None:
        description = f"episodes ({skipped} done before)" if skipped else "episodes"
        self.progress.update(self.bar, total=total, description=description)
        self.progress.start()

    def ended(self, result) -> None:
        self.failed += result.status == "infra_error"
        self.progress.update(self.bar, advance=1, failed=f"[red]{self.failed} infra error(s)[/red]" if self.failed
                             else "")

    def stop(self) -> None:
        if self.progress.live.is_started:
            self.progress.stop()


def _print_bench(result) -> None:
    from synthml.benchmarks.aup import BASELINE
    from synthml.benchmarks.report import BASELINE_AGENT_NOTE, column

    report = result.report
    if result.skipped_tasks:
        console.print(f"[yellow]{len(result.skipped_tasks)} task(s) skipped[/yellow] (they do not run here):")
        for task in result.skipped_tasks:
            where = f" ({task.config})" if task.config else ""
            console.print(f"  {task.id}{where}: {task.reason}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"{result.count('ran')} episode(s) played, {result.count('skipped')} already done, "
                  f"{result.count('infra_error')} infra error(s), in {result.seconds:.1f} s", highlight=False)
    if result.stopped:
        console.print(f"[yellow]stopped early:[/yellow] {result.stopped}", soft_wrap=True, highlight=False)
    if report.comparison is None:
        console.print(f"[yellow]AUP could not be computed:[/yellow] {report.aup_error}", soft_wrap=True)
    else:
        table = Table("model", "AUP best attempt", "AUP best submission",
                      caption=f"tau max {report.comparison.tau_max:.1f}, shared by both tables")
        attempt, submission = report.aups("best_attempt"), report.aups("best_submission")
        for model in sorted(attempt, key=lambda m: (-submission[m], -attempt[m], m)):
            table.add_row(model, f"{attempt[model]:.3f}", f"{submission[model]:.3f}")
        console.print(table)
        if column(BASELINE) in attempt:
            console.print(BASELINE_AGENT_NOTE, soft_wrap=True, highlight=False)
    console.print(f"report: {report.path}", highlight=False, soft_wrap=True)
