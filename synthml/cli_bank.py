"""`synthml generate`, `synthml validate` and `synthml bank ...`: building and reading task banks."""

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Column, Table

from synthml.cli_options import SandboxOption
from synthml.envs.sandbox.config import SandboxConfig
from synthml.errors import ConfigError, TaskError

console = Console()
bank_app = typer.Typer(no_args_is_help=True, help="Read a task bank: list its tasks, show one, export it.")


def generate(
    out: Annotated[Path, typer.Option("--out", help="Bank folder (created; an existing bank is resumed).")],
    n: Annotated[int, typer.Option("--n", min=1, help="Candidate tasks to plan and validate.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the plan: the same seed gives the same bank.")] = 0,
    families: Annotated[list[str] | None, typer.Option(help="Families to draw from (repeat or comma-separate; "
                                                       "default all).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Tasks validated in parallel.")] = os.cpu_count() or 2,
    sandbox: SandboxOption = "bwrap",
    margin: Annotated[float, typer.Option(help="Headroom the reference must have over the baseline.")] = 0.02,
    llm: Annotated[bool, typer.Option("--llm", help="Write tasks with an LLM (the paper's pipeline) instead of "
                                      "the procedural families.", rich_help_panel="LLM pipeline")] = False,
    model: Annotated[str | None, typer.Option(help="Model, as the endpoint names it.",
                                              rich_help_panel="LLM pipeline")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 "
                                                 "(default: OpenAI's).", rich_help_panel="LLM pipeline")] = None,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the API key.",
                                             rich_help_panel="LLM pipeline")] = "OPENAI_API_KEY",
    max_rounds: Annotated[int, typer.Option(min=1, help="Validation rounds per task (repairs + 1).",
                                            rich_help_panel="LLM pipeline")] = 5,
    max_cost: Annotated[float | None, typer.Option(help="USD this run may spend; it then stops cleanly.",
                                                   rich_help_panel="LLM pipeline")] = None,
    in_flight: Annotated[int, typer.Option(min=1, help="Tasks in progress at once.",
                                           rich_help_panel="LLM pipeline")] = 4,
    structured: Annotated[str, typer.Option(help="JSON output: auto (probe), json_schema (OpenAI, vLLM), "
                                            "json_object (llama.cpp) or off.",
                                            rich_help_panel="LLM pipeline")] = "auto",
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Cap on each reply's tokens.",
                                                   rich_help_panel="LLM pipeline")] = None,
    temperature: Annotated[float | None, typer.Option(min=0, help="Sampling temperature.",
                                                      rich_help_panel="LLM pipeline")] = None,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds one LLM request may take (a busy local server "
                                           "queues requests: raise it, or lower --in-flight).",
                                           rich_help_panel="LLM pipeline")] = 120.0,
    price_input: Annotated[float, typer.Option(min=0, help="USD per million prompt tokens, for costs.",
                                               rich_help_panel="LLM pipeline")] = 0.0,
    price_output: Annotated[float, typer.Option(min=0, help="USD per million completion tokens.",
                                                rich_help_panel="LLM pipeline")] = 0.0,
) -> None:
    """Fill a bank with validated tasks built from the offline dataset catalog, by the procedural
    families or, with --llm, by an LLM with a self-debugging loop.

    Example: synthml generate --out bank --n 20 --seed 0 --workers 2

    Example: synthml generate --llm --base-url http://127.0.0.1:8080/v1 --model M --n 10 --out llm-bank
    """
    from synthml.envs.runtime import generic_runtime
    from synthml.tasks.bank import check_bank_folder

    _runs_code(sandbox)
    check_bank_folder(out)
    if llm or model or base_url:
        from synthml.cli_synthesis import check_llm_flags, generate_llm
        from synthml.task_bank.synthesis.pipeline import SynthesisConfig

        check_llm_flags(llm, model, structured, families, max_cost, price_input + price_output)
        spec = {"model": model, "base_url": base_url, "api_key_env": api_key_env, "max_tokens": max_tokens,
                "temperature": temperature, "timeout_s": timeout, "price_per_million_input": price_input,
                "price_per_million_output": price_output}
        config = SynthesisConfig(max_rounds=max_rounds, max_cost=max_cost, in_flight=in_flight, workers=workers,
                                 structured=structured, sandbox=sandbox, margin=margin)
        if generate_llm(out, n, seed, spec, config).stopped:
            raise typer.Exit(1)
        return
    from synthml.task_bank.generate import generate as run_generate

    generic_runtime(log=console.print)
    names = [name for value in families or [] for name in value.split(",") if name] or None
    columns = (TextColumn("[bold]generate"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("", total=n)
        counts = {"accepted": 0, "rejected": 0}

        def advance(entry) -> None:
            counts[entry.status] += 1
            progress.update(bar, advance=1, description=f"{counts['accepted']} accepted, {counts['rejected']} rejected")

        summary = run_generate(out, n, seed, families=names, workers=workers, sandbox=sandbox, margin=margin,
                               on_result=advance)
        progress.update(bar, completed=n)
    print_summary(summary, out)


def print_summary(summary, out: Path) -> None:
    done = len(summary.accepted) + len(summary.rejected)
    console.print(f"[bold]{len(summary.accepted)} of {done} accepted[/bold] in {summary.seconds:.0f} s "
                  f"({summary.skipped} already in the manifest) -> {out}")
    for reason, count in summary.reasons().most_common():
        console.print(f"  rejected, {reason}: {count}")
    console.print("coverage of the bank:")
    for line in summary.bank_coverage(out).lines():
        console.print(f"  {line}", highlight=False)


def validate(
    task: Annotated[Path, typer.Argument(help="Task dir to validate.")],
    sandbox: SandboxOption = "bwrap",
    margin: Annotated[float, typer.Option(help="Headroom the reference must have over the baseline.")] = 0.02,
    record: Annotated[bool, typer.Option(help="Write the baseline's scores into the task YAML if accepted.")] = True,
) -> None:
    """Validate one task: schema, sandboxed baseline, evaluator determinism, headroom, leakage.

    Example: synthml validate bank/iris-tabular-classification-1a2b3c
    """
    from synthml.task_bank.validator import validate_task

    _runs_code(sandbox)
    if not task.exists():
        raise TaskError(f"{task}: no such task dir; pass a folder holding a task.yaml")
    report = validate_task(task, sandbox=sandbox, margin=margin, record=record)
    console.print_json(report.model_dump_json())
    console.print("[green]accepted[/green]" if report.accepted else
                  f"[red]rejected[/red]: {', '.join(r.reason for r in report.rejections)}")
    if not report.accepted:
        raise typer.Exit(1)


def list_tasks(
    bank: Annotated[Path, typer.Argument(help="Bank folder.")],
    rejected: Annotated[bool, typer.Option(help="List rejected candidates (with their reason) instead.")] = False,
) -> None:
    """List a bank's tasks with their baseline and reference scores.

    Example: synthml bank list bank
    """

    entries = [e for e in _open(bank).entries() if (e.status == "rejected") == rejected]
    header = ["task", "family", "dataset", "metric", "baseline", "reference", "reason" if rejected else "headroom"]
    rows = []
    for e in entries:
        r = e.report
        metric = f"{r.metric} ({'max' if r.direction == 1 else 'min'})" if r.metric else "–"
        scores = [_test_score(getattr(r, who), r.metric) for who in ("baseline", "reference")]
        last = r.rejections[0].reason if rejected else f"{r.headroom:+.1%}"
        rows.append([e.task_id, e.family or e.generator, e.dataset or "–", metric, *scores, last])
    _print_by_task(header, rows)
    console.print(f"{len(entries)} {'rejected' if rejected else 'accepted'} tasks in {bank}")


def _print_by_task(header: list[str], rows: list[list[str]]) -> None:
    """A table, or where it is wider than the terminal, each task's id on a line of its own and its fields below:
    an id is what `bank show` needs, so it is never cut."""
    table = Table(Column(header[0], no_wrap=True), *header[1:])
    for row in rows:
        table.add_row(*row)
    if console.measure(table, options=console.options.update(max_width=10**6)).maximum <= console.width:
        console.print(table)
        return
    for task_id, *fields in rows:
        console.print(task_id, style="bold", soft_wrap=True, highlight=False, markup=False)
        console.print("  " + "; ".join(f"{name} {value}" for name, value in zip(header[1:], fields, strict=True)),
                      soft_wrap=True, highlight=False, markup=False)


def _test_score(scores: dict[str, dict[str, float]], metric: str | None) -> str:
    """A rung's test score where the report has it (a candidate rejected early has none)."""
    value = scores.get("test", {}).get(metric) if metric else None
    return "–" if value is None else f"{value:.4g}"


def show(
    bank: Annotated[Path, typer.Argument(help="Bank folder.")],
    task_id: Annotated[str, typer.Argument(help="Task id (see `synthml bank list`).")],
) -> None:
    """Show one task's manifest entry (provenance, knobs, validation report) and statement.

    Example: synthml bank show bank iris-tabular-classification-1a2b3c
    """
    from synthml.tasks.task import load_task

    entry = _open(bank).get(task_id)
    if entry is None:
        raise TaskError(f"{bank}: no task '{task_id}' in its manifest; see `synthml bank list {bank}`")
    console.print_json(entry.model_dump_json())
    if entry.status == "accepted":
        console.print(load_task(Path(bank) / task_id).description, markup=False, highlight=False)


def export(
    bank: Annotated[Path, typer.Argument(help="Bank folder.")],
    out: Annotated[Path, typer.Option("--out", help="A .parquet file, or a folder for datasets' save_to_disk.")],
) -> None:
    """Export the accepted tasks (every file of each) as a Hugging Face dataset.

    Example: synthml bank export bank --out bank.parquet
    """
    from synthml.tasks.bank import export_bank

    rows = export_bank(_open(bank), out)
    console.print(f"exported {rows} tasks to {out}")


def audit(
    bank: Annotated[Path, typer.Argument(help="Bank folder (any: generated, LLM-written, or someone else's).")],
    out: Annotated[Path | None, typer.Option("--out", help="JSON file for the full audit (default: "
                                             "BANK/audit.json).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Tasks validated in parallel.")] = os.cpu_count() or 2,
    sandbox: SandboxOption = "bwrap",
) -> None:
    """Validate every task of a bank again, trusting nothing its manifest says, and print per task the
    ladder (trivial, baseline, default, reference on test), the reference's gap over the default with its 95%
    interval, the tier, the probes and the test size, then the bank's coverage.

    Example: synthml bank audit bank --out audit.json
    """
    from synthml.envs.runtime import generic_runtime
    from synthml.task_bank.audit import audit_bank

    _runs_code(sandbox)
    generic_runtime(log=console.print)
    with Progress(TextColumn("[bold]audit"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        bar = progress.add_task("", total=None)
        result = audit_bank(bank, workers=workers, sandbox=sandbox, on_row=lambda _: progress.advance(bar))
    table = Table("task", "family", "metric", "trivial", "baseline", "default", "reference", "gap over default "
                  "(95%)", "tier", "probes", "test", "verdict")
    for row in result.tasks:
        table.add_row(*_audit_cells(row))
    console.print(table)
    passed = len(result.passed)
    console.print(f"[bold]{passed} of {len(result.tasks)} tasks pass[/bold]; coverage of those:")
    for line in result.coverage.lines():
        console.print(f"  {line}", highlight=False)
    out = out or Path(bank) / "audit.json"
    out.write_text(result.model_dump_json(indent=1) + "\n")
    console.print(f"full audit -> {out}")


def _audit_cells(row) -> list[str]:
    r, name = row.report, row.report.metric
    scores = [f"{getattr(r, rung)['test'][name]:.4g}" if "test" in getattr(r, rung) else "-"
              for rung in ("trivial", "baseline", "default", "reference")]
    gap = r.gaps.get("test")
    interval = "-" if gap is None else (f"{gap.estimate:+.3g} [{gap.low:+.3g}, {gap.high:+.3g}]" if gap.low is not None
                                        else f"{gap.estimate:+.3g} (no interval)")
    probes = ", ".join(f"{p.source.split(':')[0]} {p.score:.3g}" for p in r.probes if p.score is not None) or "-"
    verdict = "[green]pass[/green]" if r.accepted else "[red]" + ", ".join(x.reason for x in r.rejections) + "[/red]"
    metric = f"{name} ({'max' if r.direction == 1 else 'min'})" if name else "-"
    return [row.task_id, row.family, metric, *scores, interval, str(r.tier or "-"), probes,
            str(r.test_size or "-"), verdict]


def _runs_code(sandbox: SandboxConfig) -> None:
    """Validation runs each task's code: a sandbox that runs none would reject every task."""
    if sandbox.type == "fake":
        raise ConfigError("--sandbox fake: the fake sandbox runs no code (it is for tests only), so every "
                          "task would be rejected; use --sandbox bwrap or docker")


def _open(bank: Path):
    from synthml.tasks.bank import MANIFEST, TaskBank

    if not (Path(bank) / MANIFEST).is_file():
        raise TaskError(f"{bank}: no {MANIFEST} here; make a bank with `synthml generate --out {bank}`")
    return TaskBank(bank)


def catalog(
    task_type: Annotated[str | None, typer.Option(help="Only this task type (binary, regression, text, ...).")] = None,
    verify_hub: Annotated[bool, typer.Option(help="Check each entry's Hugging Face Hub id (needs the Hub).")] = False,
) -> None:
    """List the offline dataset catalog that `generate` builds tasks from.

    Example: synthml catalog --task-type timeseries
    """
    from synthml.task_bank.catalog import catalog as entries
    from synthml.task_bank.catalog import verify_hub_dataset

    shown = [e for e in entries() if task_type in (None, e.task_type)]
    table = Table("dataset", "task type", "target", "rows", "columns", "licence", "hub id")
    for e in shown:
        hub = e.hub_id or ""
        if verify_hub and e.hub_id:
            check = verify_hub_dataset(e.hub_id)
            hub += f" ({check.status}{', ' + check.revision[:8] if check.revision else ''})"
        table.add_row(e.id, e.task_type, e.target, str(e.rows), str(e.n_columns), e.license or "?", hub)
    console.print(table)
    console.print(f"{len(shown)} datasets")
