"""`synthml export-sft` (trajectories -> filtered chats: verl parquet, TRL JSONL) and `synthml train sft` (verl)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from synthml.cli_options import SandboxOption

console = Console()
train_app = typer.Typer(no_args_is_help=True, help="Train a student with verl (needs the train extra).")


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
    per_turn: Annotated[bool, typer.Option(help="One example per reply: the request the agent sent at that turn, "
                                           "then the reply (the only part learned); else one whole chat per "
                                           "trajectory.")] = False,
) -> None:
    """Keep the trajectories worth learning from and write their chats, exactly as the agent saw and said them.

    Example: synthml export-sft rollouts --out sft-data --tokenizer ./Qwen3-0.6B --max-tokens 32768
    """
    from synthml.training.filters import FilterConfig
    from synthml.training.sft_export import export_sft

    config = FilterConfig(min_improvement=min_improvement, max_tokens=max_tokens, dedupe=dedupe, per_task=per_task,
                          per_turn=per_turn)
    summary = export_sft(source, out, config, tokenizer)
    selection = summary.selection
    table = Table("", "trajectories", title=f"{summary.read} trajectories from {summary.files} file(s)")
    table.add_row("kept", str(len(selection.kept)))
    for reason, count in sorted(selection.dropped.items(), key=lambda item: -item[1]):
        table.add_row(f"dropped: {reason}", str(count))
    console.print(table)
    lengths = [n for per in selection.lengths.values() for n in per]
    if lengths:
        console.print(f"{len(lengths)} {'turns' if per_turn else 'chats'}: {sum(lengths):,} tokens, "
                      f"{sum(lengths) // len(lengths):,} on average, longest {max(lengths):,} (counted with "
                      f"{selection.counted_with})", highlight=False, soft_wrap=True)
    console.print(f"-> {summary.out}", highlight=False, soft_wrap=True)


def train_sft_command(
    data: Annotated[Path, typer.Option(help="An export-sft folder (its train.parquet).")],
    model: Annotated[Path, typer.Option(help="The student: a local Hugging Face model folder.")],
    out: Annotated[Path, typer.Option(help="Checkpoints (with Hugging Face weights) and the resolved config.")],
    gpus: Annotated[int, typer.Option(min=1, help="GPUs on this node.")] = 1,
    lora_rank: Annotated[int, typer.Option(min=0, help="LoRA rank; 0 trains every weight.")] = 0,
    lr: Annotated[float, typer.Option(min=0, help="Peak learning rate.")] = 1e-5,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the data.")] = 2,
    max_length: Annotated[int, typer.Option(min=256, help="Longest chat in tokens.")] = 32768,
    config: Annotated[list[str] | None, typer.Option("-c", "--config", help="A verl key=value, applied last "
                                                     "(repeatable), e.g. -c optim.weight_decay=0.0")] = None,
    dry_run: Annotated[bool, typer.Option(help="Write the resolved config and print the command; train "
                                          "nothing.")] = False,
) -> None:
    """Fine-tune a student on exported chats with verl's SFT trainer (torchrun, FSDP), full or LoRA.

    Example: synthml train sft --data sft-data --model ./Qwen3-0.6B --gpus 1 --out sft-run -c optim.lr=2e-5
    """
    from synthml.training.verl_sft import RESOLVED, SFTConfig, chunked_logprobs, run_sft

    settings = SFTConfig(data=data, model=model, out=out, gpus=gpus, lora_rank=lora_rank, lr=lr, epochs=epochs,
                         max_length=max_length, overrides=config or [])
    if chunked_logprobs(settings.overrides):
        console.print("[yellow]note:[/yellow] flash-attn is not installed, so verl takes log-probs from its fused "
                      "forward in chunks (model.use_fused_kernels=true); -c model.use_fused_kernels=false turns that "
                      "off, and verl then loops over the tokens (3.6x slower for a 0.49B model on an H100: README, "
                      "Training)",
                      highlight=False, soft_wrap=True)
    code = run_sft(settings, dry_run=dry_run)
    console.print(f"resolved config and command: {out / RESOLVED}", highlight=False, soft_wrap=True)
    if dry_run:
        console.print(" ".join(settings.argv()), markup=False, highlight=False, soft_wrap=True)
    _exit_if_failed(code)


def train_rl_command(
    tasks: Annotated[str, typer.Option(help="A bank dir (its accepted tasks), optionally :ID1,ID2.")],
    model: Annotated[Path, typer.Option(help="The policy: a local Hugging Face model folder.")],
    out: Annotated[Path, typer.Option(help="Rows, checkpoints and the resolved config.")],
    gpus: Annotated[int, typer.Option(min=1, help="GPUs on this node.")] = 1,
    n: Annotated[int, typer.Option(min=2, help="Episodes per task per step (a GRPO group).")] = 8,
    seeds: Annotated[int, typer.Option(min=1, help="Rows per task, each with its own episode seed.")] = 1,
    max_steps: Annotated[int, typer.Option(min=1, help="Env steps per episode.")] = 30,
    sandbox: SandboxOption = "bwrap",
    config: Annotated[list[str] | None, typer.Option("-c", "--config", help="A verl key=value, applied last "
                                                     "(repeatable).")] = None,
    dry_run: Annotated[bool, typer.Option(help="Write the rows and the resolved config; train nothing.")] = False,
) -> None:
    """Multi-turn RL (GRPO) on SynthML-v0 with verl: every sample is an episode, its reward the env's.

    Example: synthml train rl --tasks bank --model sft-run/checkpoints/global_step_40/huggingface --gpus 8 --out rl-run
    """
    from synthml.training.verl_rl import RESOLVED, RLConfig, run_rl

    settings = RLConfig(tasks=tasks, model=model, out=out, gpus=gpus, n=n, seeds=seeds, max_steps=max_steps,
                        sandbox=sandbox, overrides=config or [])
    code = run_rl(settings, dry_run=dry_run)
    console.print(f"rows and resolved command: {out / RESOLVED}", highlight=False, soft_wrap=True)
    _exit_if_failed(code)


def _exit_if_failed(code: int) -> None:
    if code:
        console.print(f"[red]the trainer exited with {code}[/red] (its output is above)")
        raise typer.Exit(code)
