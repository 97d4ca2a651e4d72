"""`synthml export-sft`: trajectories -> filtered chats for supervised fine-tuning (verl parquet, TRL JSONL)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def export_sft_command(
    source: Annotated[Path, typer.Argument(metavar="TRAJ_DIR", help="Any folder holding trajectories (a rollout "
                                           "store, a bench output), searched recursively; or one JSONL file.")],
    out: Annotated[Path, typer.Option(help="Output folder: train.parquet, train.jsonl, export.json.")],
    tokenizer: Annotated[Path | None, typer.Option(help="The student's tokenizer (a local folder): exact chat "
                                                   "lengths with its chat template (default: characters / 4).")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Longest chat kept, in tokens.")] = 32768,
    min_improvement: Annotated[float, typer.Option(help="Least relative gain over the baseline's test score "
                                                   "(0: any gain).")] = 0.0,
    per_task: Annotated[int | None, typer.Option(min=1, help="Most trajectories per task, most improved "
                                                 "first.")] = None,
    dedupe: Annotated[bool, typer.Option(help="Keep one of the trajectories that ran the same commands on a "
                                         "task.")] = True,
) -> None:
    """Keep the trajectories worth learning from and write their chats, exactly as the agent saw and said them.

    Example: synthml export-sft rollouts --out sft-data --tokenizer ./Qwen3-0.6B --max-tokens 32768
    """
    from synthml.training.filters import FilterConfig
    from synthml.training.sft_export import export_sft

    config = FilterConfig(min_improvement=min_improvement, max_tokens=max_tokens, dedupe=dedupe, per_task=per_task)
    summary = export_sft(source, out, config, tokenizer)
    selection = summary.selection
    table = Table("", "trajectories", title=f"{summary.read} trajectories from {summary.files} file(s)")
    table.add_row("kept", str(len(selection.kept)))
    for reason, count in sorted(selection.dropped.items(), key=lambda item: -item[1]):
        table.add_row(f"dropped: {reason}", str(count))
    console.print(table)
    tokens = list(selection.tokens.values())
    if tokens:
        console.print(f"kept chats: {sum(tokens):,} tokens, {sum(tokens) // len(tokens):,} on average, longest "
                      f"{max(tokens):,} (counted with {selection.counted_with})", highlight=False, soft_wrap=True)
    console.print(f"-> {summary.out}", highlight=False, soft_wrap=True)
