"""`synthml rollout`: episodes over a task bank on a Ray worker pool (or threads here), into a lossless store."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from synthml.cli_options import SandboxOption
from synthml.errors import SynthMLError

console = Console()


def rollout_command(
    tasks: Annotated[str, typer.Option(help="A bank dir (its accepted tasks) or an MLGym checkout, optionally "
                                       "followed by :ID1,ID2 to pick tasks.")],
    out: Annotated[Path, typer.Option(help="The store; run again with the same one to play only what is missing.")],
    agent: Annotated[str, typer.Option(help="baseline, expert, llm, or an agent spec file (YAML: name, model, llm "
                                       "sampling fields, loop limits; README: Rollouts on Ray).")] = "baseline",
    episodes_per_task: Annotated[int, typer.Option(min=1, help="Samples per task (a GRPO group).")] = 1,
    workers: Annotated[int, typer.Option(min=1, help="Rollout workers (Ray actors or threads), one episode each at "
                                         "once.")] = 2,
    pool: Annotated[str, typer.Option(help="ray: workers are actors on a Ray cluster (which may launch model "
                                      "servers); local: threads in this process, no Ray needed.")] = "ray",
    endpoints: Annotated[str | None, typer.Option(help="llm agent: OpenAI-compatible base URLs, comma-separated; "
                                                  "each episode sticks to the least loaded one.")] = None,
    vllm: Annotated[str | None, typer.Option(help="llm agent: launch model servers for this model on the "
                                             "cluster's GPUs instead of --endpoints.")] = None,
    gpus_per_server: Annotated[int, typer.Option(min=0, help="--vllm: GPUs per server (tensor parallel size); 0 "
                                                 "runs one server on CPU (with a --server-command that can).")] = 1,
    servers: Annotated[int, typer.Option(min=0, help="--vllm: servers to launch (0: as many as the GPUs "
                                         "allow).")] = 0,
    server_command: Annotated[str | None, typer.Option(help="--vllm: command template with {model} {gpus} {host} "
                                                       "{port} (default: vllm serve ...).")] = None,
    model: Annotated[str | None, typer.Option(help="llm agent: the model as the endpoints name it (default: the "
                                              "spec's, else the one they serve).")] = None,
    address: Annotated[str | None, typer.Option(help="Ray cluster to join, e.g. auto (default: RAY_ADDRESS, else "
                                                "a local Ray).")] = None,
    cpus_per_worker: Annotated[float, typer.Option(min=0.01, help="CPUs Ray reserves per worker.")] = 1.0,
    max_attempts: Annotated[int, typer.Option(min=1, help="Attempts per episode on infrastructure failures.")] = 3,
    max_steps: Annotated[int, typer.Option(min=1, help="Steps before truncation and auto-submit.")] = 50,
    seed: Annotated[int, typer.Option(min=0, help="Base seed of the episodes' seeds.")] = 0,
    sandbox: SandboxOption = "bwrap",
) -> None:
    """Play every task of a bank K times on a pool of Ray workers (or threads: --pool local); each finished episode
    is recorded once.

    Killed or stopped, it loses nothing: run the same command again and only the missing episodes are played.
    Infrastructure failures (a worker, sandbox or endpoint that died) are retried and logged apart in
    OUT/attempts.jsonl, never recorded as the agent's failure.

    Example: synthml rollout --tasks bank --agent expert --episodes-per-task 4 --workers 2 --out rollouts

    Example: synthml rollout --tasks bank --agent llm --endpoints http://127.0.0.1:8080/v1 --out rollouts

    Example: synthml rollout --tasks bank --agent expert --pool local --out rollouts   (no Ray)

    Example: synthml rollout --tasks bank --agent agent.yaml --vllm Qwen/Qwen3-8B --address auto --out rollouts
    """
    from synthml.agents.spec import agent_spec
    from synthml.training.rollout import run_rollout
    from synthml.training.rollout_config import RolloutConfig

    server = _server_spec(vllm, gpus_per_server, server_command) if vllm else None
    if server_command and not vllm:
        raise SynthMLError("--server-command: it starts the servers of --vllm MODEL; pass --vllm too")
    urls = [url.strip() for url in (endpoints or "").split(",") if url.strip()]
    if pool not in ("ray", "local"):
        raise SynthMLError(f"--pool {pool}: choose ray or local")
    config = RolloutConfig(tasks=tasks, agent=agent_spec(agent), model=model, episodes_per_task=episodes_per_task,
                           seed=seed, max_steps=max_steps, sandbox=sandbox, pool=pool, workers=workers,
                           cpus_per_worker=cpus_per_worker, max_attempts=max_attempts, endpoints=urls, server=server,
                           servers=servers, address=address)
    display = _Display()
    try:
        result = run_rollout(config, out, on_event=display.update)
    finally:
        display.stop()
    _print_result(result)
    if result.stopped or result.unfinished:
        raise typer.Exit(1)


def _server_spec(model: str, gpus: int, command: str | None):
    from pydantic import ValidationError

    from synthml.training.vllm_server import ServerSpec

    flags = {"model": "--vllm", "gpus": "--gpus-per-server", "command": "--server-command"}
    try:
        return ServerSpec(model=model, gpus=gpus, **({"command": command} if command else {}))
    except ValidationError as e:
        error = e.errors()[0]
        flag = flags.get(str(error["loc"][0]) if error["loc"] else "", "--vllm")
        raise SynthMLError(f"{flag}: {error['msg'].removeprefix('Value error, ')}") from None


class _Display:
    """Live progress: episodes done, steps/s, failed attempts by kind."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("episodes"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[failures]}"),
                                 console=console)
        self.bar = self.progress.add_task("episodes", total=None, rate="", failures="")

    def update(self, event) -> None:
        result = event.result
        if not self.progress.live.is_started:
            self.progress.start()
        elapsed = self.progress.tasks[0].elapsed or 0.0
        failures = _failures(result)
        self.progress.update(self.bar, total=result.total - result.before, completed=result.finished,
                             rate=f"{result.steps / elapsed:.1f} steps/s" if elapsed else "",
                             failures=f"[red]failed attempts: {failures}[/red]" if failures else "")

    def stop(self) -> None:
        if self.progress.live.is_started:
            self.progress.stop()


def _print_result(result) -> None:
    failures = _failures(result) or "none"
    console.print(f"{result.finished} episode(s) finished this run, {result.before} before, {result.unfinished} "
                  f"unfinished, of {result.total}; {result.steps} steps in {result.seconds:.1f} s "
                  f"({result.steps_per_s:.1f} steps/s); failed attempts: {failures} -> {result.out}",
                  highlight=False, soft_wrap=True)
    if result.stopped:
        console.print(f"[red]stopped:[/red] {result.stopped}", soft_wrap=True, highlight=False)
    elif result.unfinished:
        console.print(f"[yellow]{result.unfinished} episode(s) failed every attempt on infrastructure[/yellow] (see "
                      f"{result.out}/attempts.jsonl); run the same command again to retry them", soft_wrap=True)


def _failures(result) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(result.failures.items()))
