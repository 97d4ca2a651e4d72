"""`synthml train sft`: verl's SFT trainer (`torchrun -m verl.trainer.sft_trainer`, verl 0.9.1) on an export.

Every knob the trainer gets is in `SFTConfig`, in `overrides` (verl's own Hydra keys, applied last) or, where
flash-attn is missing, in `chunked_logprobs`; the resolved config with the exact command is saved as OUT/sft.json
before the run starts. Checkpoints go to OUT/checkpoints/global_step_N, with Hugging Face weights in its
`huggingface/` folder.
"""

import importlib.util
import json
import shlex
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from synthml.errors import SynthMLError
from synthml.training.sft_export import PARQUET, SUMMARY, check_context

RESOLVED = "sft.json"
CHUNKED_LOGPROBS = ("model.use_fused_kernels=true", "model.fused_kernel_options.impl_backend=torch")
"""verl's fused forward (torch backend): log-probs from the hidden states in chunks, never a per-token loop; the
default without flash-attn (`chunked_logprobs`)."""
DATASET_CLASS = ("pkg://synthml.training.verl_dataset", "SynthMLSFTDataset")


class SFTConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: Path = Field(description="An `synthml export-sft` folder (its train.parquet).")
    model: Path = Field(description="The student: a local Hugging Face model folder.")
    out: Path = Field(description="Where checkpoints and the resolved config go.")
    gpus: int = Field(1, ge=1, description="GPUs on this node (torchrun processes).")
    lora_rank: int = Field(0, ge=0, description="LoRA rank; 0 trains every weight.")
    lora_alpha: int = Field(32, ge=1, description="LoRA scaling numerator.")
    lr: float = Field(1e-5, gt=0, description="Peak learning rate (verl's default, 1e-3, is far too high).")
    epochs: int = Field(2, ge=1, description="Passes over the data.")
    max_length: int = Field(32768, ge=256, description="Longest chat in tokens (longer rows are an error).")
    train_batch_size: int = Field(32, ge=1, description="Chats per optimizer step, over all GPUs.")
    max_token_len_per_gpu: int = Field(32768, ge=256, description="Tokens per GPU per micro-batch (dynamic batches).")
    overrides: list[str] = Field(default_factory=list, description="verl keys as key=value, applied last.")

    def argv(self) -> list[str]:
        """The torchrun command line."""
        data = self.data / PARQUET
        keys = {
            "data.train_files": data, "data.messages_key": "messages", "data.tools_key": "tools",
            "data.custom_cls.path": DATASET_CLASS[0], "data.custom_cls.name": DATASET_CLASS[1],
            "data.max_length": self.max_length, "data.truncation": "error", "data.use_dynamic_bsz": True,
            "data.max_token_len_per_gpu": self.max_token_len_per_gpu, "data.train_batch_size": self.train_batch_size,
            "model.path": self.model, "model.lora_rank": self.lora_rank, "model.lora_alpha": self.lora_alpha,
            "model.target_modules": "all-linear", "optim.lr": self.lr, "optim.lr_scheduler_type": "cosine",
            "trainer.total_epochs": self.epochs, "trainer.default_local_dir": self.out / "checkpoints",
            "trainer.n_gpus_per_node": self.gpus, "trainer.logger": "[console]", "trainer.project_name": "synthml",
            "trainer.experiment_name": self.out.name, "checkpoint.save_contents": "[model,optimizer,extra,hf_model]",
        }
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1",
                f"--nproc-per-node={self.gpus}", "-m", "verl.trainer.sft_trainer",
                *hydra_args(keys), *chunked_logprobs(self.overrides), *self.overrides]


def run_sft(config: SFTConfig, dry_run: bool = False) -> int:
    """Saves OUT/sft.json, then runs the trainer (its output streams through); returns its exit code."""
    if not (config.data / PARQUET).is_file():
        raise SynthMLError(f"--data {config.data}: no {PARQUET}; make it with `synthml export-sft TRAJ_DIR --out "
                           f"{config.data}`")
    if not (config.model / "config.json").is_file():
        raise SynthMLError(f"--model {config.model}: no config.json; pass a local Hugging Face model folder")
    check_overrides(config.overrides)
    check_context(config.model, config.max_length, "--max-length")
    _check_lengths(config)
    argv = config.argv()
    config.out.mkdir(parents=True, exist_ok=True)
    resolved = {"config": json.loads(config.model_dump_json()), "command": shlex.join(argv)}
    (config.out / RESOLVED).write_text(json.dumps(resolved, indent=2) + "\n")
    if dry_run:
        return 0
    require_verl()
    return subprocess.run(argv, check=False).returncode


def chunked_logprobs(overrides: list[str]) -> tuple[str, ...]:
    """verl 0.9.1 takes SFT log-probs through flash-attn's cross-entropy kernel; without flash-attn it loops over
    the tokens in Python (utils/torch_functional.py). There, its fused forward's chunked log-probs are the
    default, unless `-c model.use_fused_kernels=...` chooses (on an H100, 0.49x and 0.65x a plain transformers
    loop's tokens/s for a 135M and a 0.49B model, against 0.07x and 0.18x looped: README, Training)."""
    chosen = any(item.partition("=")[0].lstrip("+~") == "model.use_fused_kernels" for item in overrides)
    return () if chosen or importlib.util.find_spec("flash_attn") is not None else CHUNKED_LOGPROBS


def hydra_args(keys: dict[str, object]) -> list[str]:
    """key=value arguments as Hydra reads them (booleans in lower case)."""
    return [f"{key}={str(value).lower() if isinstance(value, bool) else value}" for key, value in keys.items()]


def _check_lengths(config: SFTConfig) -> None:
    """verl stops at the first chat longer than max_length (truncation=error): make sure none is."""
    summary = json.loads((config.data / SUMMARY).read_text()) if (config.data / SUMMARY).is_file() else {}
    if summary.get("lengths", "").startswith("no tokenizer"):
        raise SynthMLError(f"--data {config.data}: its chat lengths were estimated (no --tokenizer at export); export "
                           "again with --tokenizer (the student's) so that no chat is longer than --max-length")
    longest = summary.get("filters", {}).get("max_tokens", 0)
    if longest > config.max_length:
        raise SynthMLError(f"--max-length {config.max_length}: the export kept chats up to {longest} tokens; pass "
                           f"--max-length {longest}, or export again with --max-tokens {config.max_length}")


def check_overrides(overrides: list[str]) -> None:
    bad = [item for item in overrides if "=" not in item]
    if bad:
        raise SynthMLError(f"-c {bad[0]}: give verl keys as key=value (e.g. -c optim.weight_decay=0.0)")


def require_verl() -> None:
    try:
        import verl  # noqa: F401
    except ImportError:
        raise SynthMLError("training needs verl 0.9.1: pip install 'synthml[train]'") from None
