"""`synthml generate --llm`: the LLM pipeline's run and its summary."""

from pathlib import Path

from rich.console import Console

from synthml.errors import LLMError
from synthml.task_bank.synthesis.pipeline import Summary, SynthesisConfig
from synthml.task_bank.synthesis.replies import MODES

console = Console()
BAR = 30


def check_llm_flags(llm: bool, model: str | None, structured: str, families: list[str] | None,
                     max_cost: float | None, prices: float) -> None:
    """Flags that make no sense together fail before anything starts, with the fix."""
    if not llm:
        raise LLMError("--model and --base-url choose the LLM of the LLM pipeline: add --llm")
    if not model:
        raise LLMError("--llm needs --model (and --base-url for a server other than OpenAI's), e.g. "
                       "synthml generate --llm --base-url http://127.0.0.1:8080/v1 --model M --out bank")
    if structured not in MODES:
        raise LLMError(f"--structured {structured}: choose one of {', '.join(MODES)}")
    if families:
        raise LLMError("--families picks procedural families; with --llm the LLM writes every task: drop one")
    if max_cost is not None and prices == 0:
        raise LLMError("--max-cost needs the model's prices (--price-input, --price-output, USD per million "
                       "tokens): without them every call costs 0 and the cap never binds")


def generate_llm(out: Path, n: int, seed: int, llm_spec: dict, config: SynthesisConfig) -> Summary:
    from synthml.agents.llm import llm_config, make_llm
    from synthml.envs.runtime import generic_runtime
    from synthml.task_bank.synthesis.pipeline import synthesize

    llm = make_llm(llm_config(llm_spec))
    generic_runtime(log=console.print)
    counts = {"accepted": 0, "rejected": 0}

    def show(entry) -> None:
        counts[entry.status] += 1
        why = "" if entry.status == "accepted" else f": {entry.report.rejections[0].reason}"
        console.print(f"  {entry.task_id} {entry.status}{why} after {entry.rounds or 0} round(s) "
                      f"({counts['accepted']} accepted, {counts['rejected']} rejected)", highlight=False)

    console.print(f"[bold]generate --llm[/bold]: {n} candidates from {llm!r}, {config.in_flight} in flight, "
                  f"up to {config.max_rounds} rounds each", highlight=False)
    summary = synthesize(out, n, llm, seed=seed, config=config, on_result=show)
    print_llm_summary(summary, out)
    return summary


def print_llm_summary(summary: Summary, out: Path) -> None:
    done = len(summary.accepted) + len(summary.rejected)
    rate = f" ({len(summary.accepted) / done:.0%})" if done else ""
    console.print(f"[bold]{len(summary.accepted)} of {done} accepted{rate}[/bold] in {summary.seconds:.0f} s "
                  f"({summary.skipped} already in the manifest) -> {out}", highlight=False)
    if summary.structured:
        console.print(f"  structured output: {summary.structured}", highlight=False)
    topics = summary.topics
    if topics:
        console.print(f"  topics: {topics.topics} ({topics.from_llm} from the LLM) over {topics.areas} of "
                      f"{topics.of_areas} areas, evenness {topics.evenness:.2f}", highlight=False)
    rounds = summary.rounds()
    if rounds:
        console.print("  debugging rounds (tasks that reached validation):")
        most = max(rounds.values())
        for count in sorted(rounds):
            bar = "#" * max(1, round(BAR * rounds[count] / most))
            console.print(f"    {count} {bar} {rounds[count]}", highlight=False)
    for reason, count in summary.reasons().most_common():
        console.print(f"  rejected, {reason}: {count}", highlight=False)
    datasets = summary.coverage("dataset")
    if datasets:
        console.print(f"  {len(datasets)} datasets: " + ", ".join(f"{d} {c}" for d, c in sorted(datasets.items())),
                      highlight=False)
    if (per := summary.per_accepted()) is not None:
        console.print(f"  per accepted task: {per.total_tokens:,} tokens ({per.prompt_tokens:,} prompt, "
                      f"{per.completion_tokens:,} completion), {per.calls} calls, {per.cost:.4f} USD", highlight=False)
    spent = summary.spent
    console.print(f"  this run: {spent.calls} LLM calls, {spent.total_tokens:,} tokens, {spent.cost:.4f} USD; "
                  f"{summary.replayed} answers replayed from the call log", highlight=False)
    if summary.stopped:
        console.print(f"[yellow]stopped[/yellow] with {summary.unfinished} candidate(s) unfinished: {summary.stopped}. "
                      "Run the same command again to go on; nothing done so far is lost.", highlight=False)
