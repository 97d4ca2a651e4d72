"""The `models` and `speed` steps of the SFT experiment (see the package's docstring): the two models' folders, made
from SmolLM2's GGUF, and verl's trainer beside a plain transformers loop, with throughput and MFU."""


import contextlib
import json
import os
import random
import threading
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.table import Table

from synthml.errors import SynthMLError

PEAK_TFLOPS = 790.0
"""Dense bf16 TFLOP/s of an H100/H200, the reference for MFU."""
SMOLLM2, QWEN3 = "smollm2-135m", "qwen3-0.5b"
QWEN3_SHAPE = dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28, num_attention_heads=16,
                   num_key_value_heads=8, head_dim=128, max_position_embeddings=32768, rope_theta=1_000_000.0,
                   tie_word_embeddings=True)
"""Qwen3-0.6B's shape; with SmolLM2's 49K vocabulary it has 0.49B weights."""
END_OF_TURN = "<|im_end|>"
"""ChatML's end of a turn (SmolLM2's chat template)."""
STEP_LOG = "steps.jsonl"
ONE_CHAT_MICRO_BATCHES = ["data.use_dynamic_bsz=false", "data.micro_batch_size_per_gpu=1"]
VERL_VARIANTS = {"verl": (), "verl-unfused": ("model.use_fused_kernels=false",)}
"""verl as `train sft` runs it, and without its fused forward (see `chunked_logprobs`)."""
PLAIN = "plain transformers"
STUDENT = "student"
RUNS = "speed.jsonl"
"""OUT's record of each run, written as it ends."""
console = Console()


# --- models -------------------------------------------------------------------------------------------------

def make_models(out: Path, gguf: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, Qwen3Config

    tokenizer = gguf_tokenizer(gguf)
    smol = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    smol.hf_quantizer = None  # dequantized on load: plain weights, which save like any model's
    smol.config.__dict__.pop("quantization_config", None)
    smol.config.eos_token_id = smol.generation_config.eos_token_id = tokenizer.eos_token_id
    _save(smol, tokenizer, out / SMOLLM2)
    config = Qwen3Config(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **QWEN3_SHAPE)
    torch.manual_seed(0)
    _save(AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16), tokenizer, out / QWEN3)


def gguf_tokenizer(gguf: Path):
    """The GGUF's tokenizer, its end of sequence the chat template's end of turn: SmolLM2's GGUF names
    <|im_start|>, so a generation would run on past the reply."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if END_OF_TURN in (tokenizer.chat_template or "") and END_OF_TURN in tokenizer.get_vocab():
        tokenizer.eos_token = END_OF_TURN
    return tokenizer


def _save(model, tokenizer, path: Path) -> None:
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    weights = sum(p.numel() for p in model.parameters())
    console.print(f"{path}: {model.config.model_type}, {weights / 1e6:.0f}M weights", highlight=False)


# --- speed --------------------------------------------------------------------------------------------------

@dataclass
class Batches:
    """What both trainers share."""

    lr: float
    epochs: int
    chats_per_step: int
    tokens_per_micro_batch: int
    max_length: int


@dataclass
class Run:
    model: str
    trainer: str
    steps: int
    """Steps timed (all but the first)."""
    tokens: int
    seconds: float
    flops: float
    peak_gb: float | None = None

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds

    @property
    def mfu(self) -> float:
        return self.flops / self.seconds / (PEAK_TFLOPS * 1e12)


class FlopCounter:
    """Training FLOPs per token of a decoder: 6 x matmul weights, plus causal attention's 6 x layers x width x
    sequence length (averaged over the data's sequences, weighted by their tokens)."""

    def __init__(self, config, lengths: list[int]) -> None:
        c = getattr(config, "text_config", config)
        head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        attention = c.hidden_size * head_dim * (2 * c.num_attention_heads + 2 * c.num_key_value_heads)
        mlp = 3 * c.hidden_size * c.intermediate_size
        self.matmul_weights = c.num_hidden_layers * (attention + mlp) + c.vocab_size * c.hidden_size
        mean_context = sum(n * n for n in lengths) / sum(lengths)
        self.attention_per_token = 6 * c.num_hidden_layers * c.num_attention_heads * head_dim * mean_context

    def __call__(self, tokens: int) -> float:
        return tokens * (6 * self.matmul_weights + self.attention_per_token)


def export_cap(data: Path) -> int:
    """The export's --max-tokens: `synthml train sft` wants max_length at least that."""
    from synthml.training.sft_export import SUMMARY

    return json.loads((data / SUMMARY).read_text())["filters"]["max_tokens"]


def verl_run(model: Path, data: Path, batches: Batches, flops: FlopCounter, out: Path, variant: str = "verl") -> Run:
    """`synthml train sft` on one GPU with the variant's extra keys, its steps timed from verl's file logger."""
    from synthml.training.verl_sft import SFTConfig, run_sft

    out.mkdir(parents=True, exist_ok=True)
    log = out / STEP_LOG
    log.unlink(missing_ok=True)
    config = SFTConfig(data=data, model=model, out=out, gpus=1, lr=batches.lr, epochs=batches.epochs,
                       max_length=batches.max_length, train_batch_size=batches.chats_per_step,
                       max_token_len_per_gpu=batches.tokens_per_micro_batch or batches.max_length,
                       overrides=["trainer.logger=[console,file]", "+model.override_config.attn_implementation=sdpa",
                                  *([] if batches.tokens_per_micro_batch else ONE_CHAT_MICRO_BATCHES),
                                  *VERL_VARIANTS[variant]])
    clock = LineClock(log)
    clock.start()
    try:
        with _environment(VERL_FILE_LOGGER_PATH=str(log)):
            code = run_sft(config)
    finally:
        clock.stop()
    if code != 0:
        raise SynthMLError(f"verl's trainer exited with {code} on {model} (its output is above)")
    steps = [(at, record["data"]) for at, record in clock.lines if "train/global_tokens" in record["data"]]
    _check_steps(len(steps), batches)
    timed = steps[1:]
    tokens = int(sum(metrics["train/global_tokens"] for _, metrics in timed))
    peak = max(metrics.get("perf/max_memory_allocated_gb", 0.0) for _, metrics in steps)
    return Run(model.name, variant, len(timed), tokens, timed[-1][0] - steps[0][0], flops(tokens), peak)


@contextlib.contextmanager
def _environment(**values: str):
    """Sets environment variables for the block (the trainer's subprocess inherits them)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _check_steps(steps: int, batches: Batches) -> None:
    if steps < 2:
        raise SynthMLError(f"{steps} training step(s): throughput needs two or more (the first is not timed); "
                           f"lower --chats-per-step ({batches.chats_per_step}) or raise --epochs ({batches.epochs})")


class LineClock(threading.Thread):
    """Reads a JSONL file as it is written, noting when each line appeared."""

    def __init__(self, path: Path, poll_s: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.path, self.poll_s = path, poll_s
        self.lines: list[tuple[float, dict]] = []
        self._done = threading.Event()

    def run(self) -> None:
        pending, offset = b"", 0
        while True:
            stopping = self._done.is_set()
            if self.path.exists():
                with self.path.open("rb") as f:
                    f.seek(offset)
                    chunk = f.read()
                offset += len(chunk)
                *complete, pending = (pending + chunk).split(b"\n")
                now = time.monotonic()
                self.lines += [(now, json.loads(line)) for line in complete if line.strip()]
            if stopping:
                return
            self._done.wait(self.poll_s)

    def stop(self) -> None:
        """Reads what is left, then ends."""
        self._done.set()
        self.join()


def plain_run(model_dir: Path, data: Path, batches: Batches, flops: FlopCounter, seed: int = 0) -> Run:
    """The same chats and batch size through a hand-written loop: fp32 weights, autocast bf16, AdamW; like verl,
    each epoch drops its last partial batch."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = training_rows(data, tokenizer, batches.max_length)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa")
    model.to(device())
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    optimizer = torch.optim.AdamW(model.parameters(), lr=batches.lr, weight_decay=0.01, fused=True)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    order, ends = list(range(len(rows))), []
    for epoch in range(batches.epochs):
        random.Random(seed + epoch).shuffle(order)
        for start in range(0, len(order) - batches.chats_per_step + 1, batches.chats_per_step):
            step = [rows[i] for i in order[start:start + batches.chats_per_step]]
            _train_step(model, optimizer, step, batches.tokens_per_micro_batch)
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            ends.append((time.monotonic(), sum(len(row["input_ids"]) for row in step)))
    _check_steps(len(ends), batches)
    timed = ends[1:]
    tokens = sum(n for _, n in timed)
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    del model, optimizer
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return Run(model_dir.name, PLAIN, len(timed), tokens, timed[-1][0] - ends[0][0], flops(tokens), peak)


def _train_step(model, optimizer, rows: list[dict], tokens_per_micro_batch: int) -> None:
    """One optimizer step: the loss is the mean over the step's learned tokens, as verl's token-mean."""
    import torch

    learned = max(1, sum(int(row["loss_mask"].sum()) for row in rows))
    for micro in _pack(rows, tokens_per_micro_batch):
        (micro_batch_loss(model, micro) / learned).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def micro_batch_loss(model, rows: list[dict]):
    """Summed cross-entropy of the rows' learned tokens (loss mask 1), the rows packed into one sequence."""
    import torch

    on = device()
    ids = torch.cat([row["input_ids"] for row in rows]).unsqueeze(0).to(on)
    positions = torch.cat([row["position_ids"] for row in rows]).unsqueeze(0).to(on)
    labels = torch.cat([torch.where(row["loss_mask"].bool(), row["input_ids"], -100) for row in rows]).to(on)
    with torch.autocast(on, dtype=torch.bfloat16):
        logits = model(input_ids=ids, position_ids=positions).logits
    return torch.nn.functional.cross_entropy(logits[0, :-1].float(), labels[1:], ignore_index=-100, reduction="sum")


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _pack(rows: list[dict], budget: int) -> list[list[dict]]:
    """Consecutive rows into micro-batches of at most `budget` tokens (a longer row goes alone)."""
    packs, current, size = [], [], 0
    for row in rows:
        n = len(row["input_ids"])
        if current and size + n > budget:
            packs.append(current)
            current, size = [], 0
        current.append(row)
        size += n
    return packs + ([current] if current else [])


def training_rows(data: Path, tokenizer, max_length: int) -> list[dict]:
    """The export's chats tokenized by the dataset class verl reads them with: identical tokens and loss masks."""
    from synthml.training.sft_export import PARQUET
    from synthml.training.verl_dataset import SynthMLSFTDataset

    config = {"pad_mode": "no_padding", "max_length": max_length, "truncation": "error",
              "messages_key": "messages", "tools_key": "tools"}
    dataset = SynthMLSFTDataset(parquet_files=[str(data / PARQUET)], tokenizer=tokenizer, config=config)
    return [dataset[i] for i in range(len(dataset))]


def measure_speed(data: Path, models: Path, out: Path, batches: Batches, variants: list[str],
                  names: list[str]) -> list[Run]:
    """Per model, the plain loop then each verl variant, each printed as it ends; the first variant's SmolLM2
    checkpoint becomes OUT/student."""
    from transformers import AutoConfig, AutoTokenizer

    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for name in names:
        model = models / name
        lengths = [len(row["input_ids"]) for row in training_rows(data, AutoTokenizer.from_pretrained(model),
                                                              batches.max_length)]
        flops = FlopCounter(AutoConfig.from_pretrained(model), lengths)
        trainers = [plain_run, *(partial(verl_run, out=out / name / variant, variant=variant) for variant in variants)]
        for trainer in trainers:
            runs.append(trainer(model, data, batches=batches, flops=flops))
            _print_run(runs[-1])
            with (out / RUNS).open("a") as f:
                f.write(json.dumps({**asdict(runs[-1]), "tokens_per_s": runs[-1].tokens_per_s, "mfu": runs[-1].mfu})
                        + "\n")
        if name == SMOLLM2 and variants:
            _link_student(out / name / variants[0], out / STUDENT)
    return runs


def _link_student(run: Path, link: Path) -> None:
    student = _last_checkpoint(run)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(os.path.relpath(student, link.parent))
    console.print(f"student (verl's SmolLM2 checkpoint): {link} -> {student}", highlight=False)


def _last_checkpoint(out: Path) -> Path:
    steps = sorted((out / "checkpoints").glob("global_step_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))
    if not steps or not (steps[-1] / "huggingface" / "config.json").is_file():
        raise SynthMLError(f"{out}/checkpoints holds no global_step_*/huggingface model")
    return steps[-1] / "huggingface"


def _print_run(run: Run) -> None:
    console.print(f"{run.model} {run.trainer}: {run.tokens_per_s:,.0f} tokens/s, MFU {run.mfu:.1%} "
                  f"({run.steps} steps, {run.tokens:,} tokens, {run.seconds:.1f} s)", highlight=False)


def speed_table(runs: list[Run], batches: Batches) -> Table:
    micro = f"<= {batches.tokens_per_micro_batch} tokens" if batches.tokens_per_micro_batch else "one chat"
    table = Table("model", "trainer", "steps timed", "tokens", "seconds", "tokens/s", "MFU", "x plain",
                  "peak GiB", title=f"SFT throughput on {gpu_name()}",
                  caption=f"{batches.chats_per_step} chats a step, {micro} a micro-batch, {batches.epochs} epochs, "
                          f"peak lr {batches.lr}; MFU against {PEAK_TFLOPS:.0f} TFLOP/s bf16")
    plain = {run.model: run for run in runs if run.trainer == PLAIN}
    for run in runs:
        ratio = run.tokens_per_s / plain[run.model].tokens_per_s
        table.add_row(run.model, run.trainer, str(run.steps), f"{run.tokens:,}", f"{run.seconds:.1f}",
                      f"{run.tokens_per_s:,.0f}", f"{run.mfu:.1%}", f"{ratio:.2f}",
                      f"{run.peak_gb:.1f}" if run.peak_gb is not None else "")
    return table


def gpu_name() -> str:
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"


# --- command line -------------------------------------------------------------------------------------------
