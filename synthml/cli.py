"""The `synthml` command line: thin wrappers over library functions."""

import functools
from pathlib import Path
from typing import Annotated

import gymnasium as gym
import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from synthml import ENV_ID
from synthml.cli_bank import audit, bank_app, catalog, export, generate, list_tasks, show, validate
from synthml.cli_bench import aup_command, bench_command
from synthml.cli_options import SandboxOption
from synthml.cli_rollout import rollout_command
from synthml.cli_serve import serve_llm_command
from synthml.cli_train import export_sft_command, train_app, train_rl_command, train_sft_command
from synthml.errors import ConfigError, SynthMLError

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Synthetic ML research tasks as sandboxed Gymnasium environments.")
console = Console()
SHOWN = 1500


def friendly(command):
    """Our errors (they name the file, field or flag and the fix) print as one line and exit 1."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SynthMLError as e:
            console.print(f"[red]error:[/red] {escape(str(e))}", soft_wrap=True, highlight=False)
            raise typer.Exit(1) from e
    return wrapper


app.command()(friendly(generate))
app.command()(friendly(validate))
app.command()(friendly(catalog))
app.command("aup")(friendly(aup_command))
app.command("bench")(friendly(bench_command))
app.command("rollout")(friendly(rollout_command))
app.command("export-sft")(friendly(export_sft_command))
app.command("serve-llm")(friendly(serve_llm_command))
bank_app.command("list")(friendly(list_tasks))
bank_app.command()(friendly(show))
bank_app.command()(friendly(export))
bank_app.command()(friendly(audit))
app.add_typer(bank_app, name="bank")
train_app.command("sft")(friendly(train_sft_command))
train_app.command("rl")(friendly(train_rl_command))
app.add_typer(train_app, name="train")


@app.command()
@friendly
def run(
    task: Annotated[str | None, typer.Option(help="Task dir, task YAML or BANK:ID (default: a sample task).")] = None,
    bank: Annotated[Path | None, typer.Option(help="Bank to draw the task from (seeded), if no --task.")] = None,
    sandbox: SandboxOption = "bwrap",
    seed: Annotated[int, typer.Option(help="Seeds the choice of task from the bank.")] = 0,
    max_steps: Annotated[int, typer.Option(help="Steps before truncation and auto-submit.")] = 50,
) -> None:
    """Play one episode with the scripted baseline agent: run the baseline, validate, submit.

    Example: synthml run --bank bank --seed 3     (or --task bank:TASK_ID, or a task dir)
    """
    from synthml.agents.scripted import baseline_actions, play

    if seed < 0:
        raise ConfigError(f"--seed {seed}: give a seed >= 0 (it seeds the choice of task from the bank)")
    env = gym.make(ENV_ID, task=task, bank=bank, sandbox=sandbox, max_steps=max_steps)
    try:
        observation, info = env.reset(seed=seed)
        title = f"task {info['task_id']} (version {info['task_version']})"
        console.print(Panel(Text(shorten(observation)), title=title))
        steps = play(env, baseline_actions(env.unwrapped.task), on_step=_print_step)
    finally:
        env.close()
    final = steps[-1].info
    console.print(f"exit status: [bold]{final['exit_status']}[/bold]  score: {final.get('score')}  "
                  f"baseline: {final['baseline_score']}  reward: {steps[-1].reward or 0.0:+.4f}")


@app.command()
def runtime(
    torch: Annotated[bool, typer.Option(help="Also install CPU torch where its wheel installs.")] = True,
    requirements: Annotated[Path | None, typer.Option(help="Build a per-task runtime from this file.")] = None,
) -> None:
    """Build (once) the task runtime that agents and evaluators use inside sandboxes.

    Example: synthml runtime            # the generic runtime (numpy, pandas, scikit-learn, ...)
    """
    from synthml.envs.runtime import generic_runtime, task_runtime

    built = task_runtime(requirements, log=console.print) if requirements else generic_runtime(
        torch=torch, log=console.print)
    console.print(f"runtime ready: {built.path} ({', '.join(built.facts['requirements'] + built.facts['optional'])})")


def shorten(text: str, limit: int = SHOWN) -> str:
    """The text, or its first `limit` characters cut at a word boundary, then " ..."."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    if not text[limit].isspace() and any(c.isspace() for c in head):
        head = head.rsplit(None, 1)[0]  # the word the limit falls in goes whole
    return head.rstrip() + " ..."


def _print_step(step) -> None:
    console.print(f"[bold cyan]$ {escape(step.action)}[/bold cyan]")
    console.print(shorten(step.observation), markup=False, highlight=False)
