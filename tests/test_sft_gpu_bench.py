"""The GPU SFT benchmark's own parts, on the CPU: its FLOP count (against the weights of real models and verl's
own counter), how it packs micro-batches and times verl's logged steps, the plain loop on exported chats, and how
it scores an agent's episodes. The GPU run itself is `python -m synthml.benchmarks.sft_gpu` (see its docstring)."""

import json
import threading
import time
from datetime import UTC, datetime

import pytest

from synthml.agents.trajectory import Trajectory, TrajectoryStep
from synthml.benchmarks.sft_gpu import Batches, FlopCounter, LineClock, _pack, outcome, plain_run
from tests.conftest import MISSING, needs_train_extra

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TINY = dict(vocab_size=512, hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
            num_key_value_heads=2, head_dim=32, tie_word_embeddings=True)


@pytest.mark.parametrize("config_class", ["Qwen3Config", "LlamaConfig"])
def test_flops_count_every_matmul_weight_once(config_class):
    config = getattr(transformers, config_class)(**TINY)
    model = transformers.AutoModelForCausalLM.from_config(config)
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert FlopCounter(config, [100]).matmul_weights == linear


@pytest.mark.skipif("verl" in MISSING, reason="needs verl (the train extra): make train")
def test_flops_match_verls_counter_less_its_embedding_lookup():
    """verl counts the embedding lookup as a matmul (vocab x hidden x 2); everything else must agree."""
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
    path = tmp_path / "steps.jsonl"
    clock = LineClock(path, poll_s=0.005)
    clock.start()
    written = []

    def write():
        with path.open("wb", buffering=0) as f:
            for step in range(4):
                time.sleep(0.05)
                written.append(time.monotonic())
                f.write(json.dumps({"step": step}).encode() + b"\n")
            f.write(b'{"step": ')  # a line torn across two writes
            time.sleep(0.05)
            f.write(b'4}\n')

    writer = threading.Thread(target=write)
    writer.start()
    writer.join()
    clock.stop()
    assert [record["step"] for _, record in clock.lines] == [0, 1, 2, 3, 4]
    for (seen, _), wrote in zip(clock.lines, written, strict=False):
        assert wrote <= seen < wrote + 0.04


@needs_train_extra
@pytest.mark.slow
def test_the_plain_loop_times_every_step_but_the_first(exported_exact, tokenizer, tmp_path):
    from synthml.benchmarks.sft_gpu import _dataset

    model_dir = tmp_path / "tiny"
    config = transformers.Qwen3Config(**{**TINY, "vocab_size": len(tokenizer)})
    transformers.AutoModelForCausalLM.from_config(config).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    lengths = [len(row["input_ids"]) for row in _dataset(exported_exact, tokenizer, 8192)]
    flops = FlopCounter(config, lengths)
    run = plain_run(model_dir, exported_exact, Batches(1e-4, 3, 1, 0, 8192), flops)
    assert len(lengths) == 2 and run.steps == 3 * 2 - 1
    assert run.tokens in {3 * sum(lengths) - n for n in lengths}
    assert run.flops == flops(run.tokens) and run.seconds > 0


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
