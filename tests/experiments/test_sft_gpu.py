"""The GPU SFT benchmark's own parts, on the CPU: its FLOP count (against the weights of real models and verl's
own counter), how it packs micro-batches and times verl's logged steps, the plain loop's loss and steps on
exported chats, and how it scores an agent's episodes. The GPU run itself is `python -m experiments.sft_gpu`
(see its docstring)."""

import importlib.util
import json
import time
from datetime import UTC, datetime

import pytest

from experiments.sft_gpu.__main__ import main
from experiments.sft_gpu.evaluation import outcome
from experiments.sft_gpu.speed import (
    Batches,
    FlopCounter,
    LineClock,
    _pack,
    _train_step,
    gguf_tokenizer,
    micro_batch_loss,
    plain_run,
    training_rows,
)
from synthml.agents.trajectory import Trajectory, TrajectoryStep
from synthml.errors import SynthMLError
from tests.conftest import MISSING, needs_train_extra, smollm2_gguf

needs_transformers = pytest.mark.skipif(importlib.util.find_spec("transformers") is None,
                                        reason="needs torch and transformers (the train extra): make train")
TINY = dict(vocab_size=512, hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
            num_key_value_heads=2, head_dim=32, tie_word_embeddings=True)


@needs_transformers
@pytest.mark.parametrize("config_class", ["Qwen3Config", "LlamaConfig"])
def test_flops_count_every_matmul_weight_once(config_class):
    import torch
    import transformers

    config = getattr(transformers, config_class)(**TINY)
    model = transformers.AutoModelForCausalLM.from_config(config)
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert FlopCounter(config, [100]).matmul_weights == linear


@pytest.mark.skipif("verl" in MISSING, reason="needs verl (the train extra): make train")
def test_flops_match_verls_counter_less_its_embedding_lookup():
    """verl counts the embedding lookup as a matmul (vocab x hidden x 2); everything else must agree."""
    import transformers
    from verl.utils.flops_counter import ESTIMATE_FUNC

    config = transformers.Qwen3Config(**TINY)
    lengths = [300, 1200, 57]
    verl_flops = ESTIMATE_FUNC["qwen3"](config, sum(lengths), lengths, 1.0) * 1e12  # TFLOP/s over one second
    ours = FlopCounter(config, lengths)(sum(lengths))
    assert ours + 6 * config.vocab_size * config.hidden_size * sum(lengths) == pytest.approx(verl_flops, rel=1e-9)


@pytest.mark.parametrize(("lengths", "budget", "packs"), [
    ([4, 4, 4, 12, 1], 10, [[4, 4], [4], [12], [1]]),
    ([4, 4, 4], 0, [[4], [4], [4]]),
    ([3, 3, 3], 100, [[3, 3, 3]]),
])
def test_micro_batches_pack_consecutive_chats_up_to_the_budget(lengths, budget, packs):
    rows = [{"input_ids": [0] * n} for n in lengths]
    assert [[len(row["input_ids"]) for row in pack] for pack in _pack(rows, budget)] == packs


def test_the_line_clock_notes_each_line_when_it_appears(tmp_path):
    """Each line's time falls between its write and the moment the clock had it; a line torn across two writes
    is read whole."""
    path = tmp_path / "steps.jsonl"
    clock = LineClock(path, poll_s=0.005)
    clock.start()
    windows = []
    with path.open("wb", buffering=0) as f:
        for step in range(4):
            wrote = time.monotonic()
            f.write(json.dumps({"step": step}).encode() + b"\n")
            windows.append((wrote, _wait_for(clock, step + 1)))
        f.write(b'{"step": ')
        time.sleep(0.05)
        assert len(clock.lines) == 4
        f.write(b'4}\n')
        _wait_for(clock, 5)
    clock.stop()
    assert [record["step"] for _, record in clock.lines] == [0, 1, 2, 3, 4]
    for (seen, _), (wrote, had) in zip(clock.lines, windows, strict=False):
        assert wrote <= seen <= had


def _wait_for(clock: LineClock, count: int, timeout_s: float = 10.0) -> float:
    deadline = time.monotonic() + timeout_s
    while len(clock.lines) < count:
        assert time.monotonic() < deadline, f"the clock saw {len(clock.lines)} of {count} lines"
        time.sleep(0.001)
    return time.monotonic()


@needs_train_extra
@pytest.mark.slow
def test_the_plain_loop_learns_the_masked_tokens_and_times_every_step_but_the_first(exported_exact, tokenizer,
                                                                                       tmp_path):
    import torch
    import transformers

    rows = training_rows(exported_exact, tokenizer, 8192)
    config = transformers.Qwen3Config(**{**TINY, "vocab_size": len(tokenizer)})
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config)
    row = rows[0]
    masked = torch.where(row["loss_mask"].bool(), row["input_ids"], -100).unsqueeze(0)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected = model(input_ids=row["input_ids"].unsqueeze(0), labels=masked).loss  # HF's own shift and mean
        before = micro_batch_loss(model, [row])
    assert float(before) / int(row["loss_mask"][1:].sum()) == pytest.approx(float(expected), rel=1e-3)

    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(4):
        _train_step(model, optimizer, [row], 0)
    with torch.no_grad():
        assert float(micro_batch_loss(model, [row])) < 0.9 * float(before)

    model.save_pretrained(tmp_path / "tiny")
    tokenizer.save_pretrained(tmp_path / "tiny")
    lengths = [len(r["input_ids"]) for r in rows]
    flops = FlopCounter(config, lengths)
    run = plain_run(tmp_path / "tiny", exported_exact, Batches(1e-4, 3, 1, 0, 8192), flops)
    assert len(lengths) == 2 and run.steps == 3 * 2 - 1
    assert run.tokens in {3 * sum(lengths) - n for n in lengths}
    assert run.flops == flops(run.tokens) and run.seconds > 0


@needs_train_extra
@pytest.mark.slow
def test_the_probe_scores_what_a_checkpoint_learned_and_replies_to_each_held_out_task(exported_exact, tokenizer,
                                                                                      tmp_path, capsys):
    import pandas as pd
    import torch
    import transformers

    from experiments.sft_gpu.probe import opening_prompts, probe

    row = training_rows(exported_exact, tokenizer, 8192)[0]
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(transformers.Qwen3Config(**{**TINY, "vocab_size":
                                                                                      len(tokenizer)}))
    model.save_pretrained(tmp_path / "base")
    with torch.no_grad():
        expected = float(micro_batch_loss(model, [row])) / int(row["loss_mask"][1:].sum())
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(4):
        _train_step(model, optimizer, [row], 0)
    model.save_pretrained(tmp_path / "student")
    for name in ("base", "student"):
        tokenizer.save_pretrained(tmp_path / name)

    chat = json.loads(pd.read_parquet(exported_exact / "train.parquet")["messages"][0])
    for model_dir, task in (("base", "b-task"), ("student", "a-task"), ("student", "b-task")):
        (tmp_path / "eval" / model_dir).mkdir(parents=True, exist_ok=True)
        with (tmp_path / "eval" / model_dir / "trajectories.jsonl").open("a") as f:
            f.write(json.dumps({"task_id": task, "prompt": chat[:2]}) + "\n")
    prompts = opening_prompts(tmp_path / "eval")
    assert list(prompts) == ["a-task", "b-task"] and prompts["a-task"] == chat[:2]

    base, student = (probe(name, tmp_path / name, exported_exact, list(prompts.values()), 1, 8)
                     for name in ("base", "student"))
    assert base.loss == pytest.approx(expected, rel=1e-3) and student.loss < 0.9 * base.loss
    assert len(student.replies) == 2 and student.replies[0] == student.replies[1]  # greedy, same prompt
    main(["probe", "--base", str(tmp_path / "base"), "--student", str(tmp_path / "student"), "--data",
          str(exported_exact), "--eval", str(tmp_path / "eval"), "--chats", "1", "--max-tokens", "8"])
    printed = capsys.readouterr().out
    assert f"{base.loss:.3f}" in printed and f"{student.loss:.3f}" in printed and "a-task" in printed
    with pytest.raises(SynthMLError, match="run the eval step there first"):
        opening_prompts(tmp_path / "base")


def _step(index: int, error: str | None = None, auto: bool = False) -> TrajectoryStep:
    return TrajectoryStep(index=index, action="" if error else "ls", format_error=error, auto=auto)


def _episode(steps: list[TrajectoryStep], exit_status: str, final: dict | None = None) -> Trajectory:
    return Trajectory(agent="llm", steps=steps, exit_status=exit_status, final=final,
                      started_at=datetime.now(UTC))


def test_an_outcome_counts_parsed_replies_and_the_agents_own_scored_submissions():
    episodes = [
        _episode([_step(0), _step(1, "no command block"), _step(2)], "submitted", {"accuracy": 0.9}),
        _episode([_step(0, "no command block"), _step(1), _step(2, auto=True)], "autosubmission (step limit)",
                 {"accuracy": 0.5}),
        _episode([_step(0)], "submitted", None),  # submitted, but the evaluation did not score it
    ]
    result = outcome("student", episodes)
    assert (result.replies, result.valid_actions) == (6, 4)
    assert (result.episodes, result.successful_submissions) == (3, 1)
    assert result.valid_action_rate == pytest.approx(4 / 6) and result.submission_rate == pytest.approx(1 / 3)
    assert (result.valid_first_replies, result.auto_submissions) == (2, 1)  # the second broke its first reply
    assert result.first_turn_rate == pytest.approx(2 / 3)


@needs_train_extra
def test_the_gguf_tokenizer_ends_a_sequence_where_the_chat_template_ends_a_turn():
    tokenizer = gguf_tokenizer(smollm2_gguf())
    assert tokenizer.eos_token == "<|im_end|>"
    chat = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
                                         tokenize=False)
    assert chat.endswith("yo" + tokenizer.eos_token + "\n")
