"""What a student learned, seen without the sandbox: each model's loss on its training chats (a checkpoint holds the
trained model if that loss is about the trainer's last), and its greedy first reply to each held-out task's opening
prompt, parsed as the LLM agent parses replies. Run through `python -m experiments.sft_gpu probe` after
`eval`, whose trajectories hold the prompts.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from synthml.errors import SynthMLError


@dataclass
class Probe:
    model: str
    loss: float
    """Mean cross-entropy over the learned tokens of the chats probed."""
    replies: list[str]
    parsed: int
    """Replies holding exactly one command block."""


def opening_prompts(eval_dir: Path) -> dict[str, list[dict]]:
    """Each task's opening messages, as the eval's episodes were prompted."""
    prompts = {}
    for path in sorted(eval_dir.glob("*/trajectories.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            prompts.setdefault(record["task_id"], record["prompt"])
    if not prompts:
        raise SynthMLError(f"--eval {eval_dir}: no */trajectories.jsonl in it; run the eval step there first")
    return dict(sorted(prompts.items()))


def probe(name: str, model_dir: Path, data: Path, prompts: list[list[dict]], chats: int,
          max_new_tokens: int) -> Probe:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from experiments.sft_gpu.speed import device, export_cap, micro_batch_loss, training_rows
    from synthml.agents.turn import parse_block

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device()).eval()
    rows = training_rows(data, tokenizer, export_cap(data))[:chats]
    with torch.no_grad():
        loss = sum(float(micro_batch_loss(model, [row])) for row in rows)
        replies = [_greedy_reply(model, tokenizer, prompt, max_new_tokens) for prompt in prompts]
    learned = sum(int(row["loss_mask"][1:].sum()) for row in rows)
    return Probe(name, loss / learned, replies, sum(parse_block(reply).error is None for reply in replies))


def _greedy_reply(model, tokenizer, messages: list[dict], max_new_tokens: int) -> str:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)["input_ids"].to(model.device)
    out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def probe_table(probes: list[Probe], tasks: list[str], chats: int) -> Table:
    table = Table("model", "loss on training chats", "first replies parsed", *tasks,
                  title=f"What each model learned ({chats} training chats; greedy first replies to held-out tasks)")
    for p in probes:
        table.add_row(p.model, f"{p.loss:.3f}", f"{p.parsed}/{len(p.replies)}",
                      *(reply[:160] for reply in p.replies))
    return table
