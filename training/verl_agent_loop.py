"""verl multi-turn RL on SynthML-v0: each sample plays one episode; the env's terminal reward is its score.

The loop speaks to the policy in the LLM agent's own format (the same system and task messages, one fenced
command per reply, the observation in the next message), so a student trained by SFT on exported chats
is trained further by RL on the prompts it already knows. Tokens go through verl's Continuous Token
builder, so the rollout is token-exact across turns; the policy's tokens are trained on (mask 1), the
env's answers are not (mask 0). Env calls (sandbox start, commands, evaluation) run in threads, off the
event loop. `synthml train rl` registers it (OUT/agent_loop.yaml, rows with agent_name: synthml). An
infrastructure failure (the sandbox died) ends the episode with every token masked out: no gradient, and
no reward held against the policy.

It imports verl, so it is importable only with the train extra.
"""

import asyncio
import uuid
from typing import Any

from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopMetrics, AgentLoopOutput

from synthml import ENV_ID
from synthml.agents.loop import AgentConfig, next_step_text, opening_messages, parse_block, reply_format
from synthml.agents.trajectory import INFRA_ERRORS, INFRA_STATUS


class SynthMLAgentLoop(AgentLoopBase):
    def __init__(self, *args: Any, max_steps: int = 30, sandbox: str = "bwrap", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_steps, self.sandbox = max_steps, sandbox
        self.agent_config = AgentConfig(max_steps=max_steps)
        self.response_length = self.rollout_config.response_length

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """One episode of the row's task (`extra_info.task`, a task dir) from its seed (`extra_info.seed`)."""
        extra = kwargs["extra_info"]
        env = await asyncio.to_thread(_make_env, extra["task"], self.sandbox, self.max_steps)
        try:
            return await self._episode(env, int(extra["seed"]), sampling_params)
        except INFRA_ERRORS as e:  # the sandbox, not the policy: nothing of this sample is trained on
            return await self._unscored(f"{type(e).__name__}: {e}")
        finally:
            await asyncio.to_thread(env.close)

    async def _unscored(self, error: str) -> AgentLoopOutput:
        return AgentLoopOutput(prompt_ids=await self.ct_build_initial_tokens([{"role": "user", "content": "."}]),
                               response_ids=[self.tokenizer.eos_token_id], response_mask=[0], reward_score=0.0,
                               num_turns=1, metrics=AgentLoopMetrics(),
                               extra_fields={"exit_status": INFRA_STATUS, "infra_error": error})

    async def _episode(self, env: Any, seed: int, sampling_params: dict[str, Any]) -> AgentLoopOutput:
        observation, info = await asyncio.to_thread(env.reset, seed=seed)
        messages = opening_messages(self.agent_config, observation, self.max_steps)
        tokens = await self.ct_build_initial_tokens(messages)
        mask, turns, reward, ended = [], 0, 0.0, False
        request_id = uuid.uuid4().hex
        for step in range(1, self.max_steps + 1):
            output = await self.server_manager.generate(request_id=request_id, prompt_ids=tokens,
                                                        sampling_params=sampling_params)
            merged, mask, _ = await self.ct_merge_assistant_token(tokens, output.token_ids, mask)
            tokens, turns = merged.token_ids, turns + 1
            text = self.tokenizer.decode(output.token_ids, skip_special_tokens=True)
            messages.append({"role": "assistant", "content": text})
            answer, reward, ended, info = await self._act(env, text, step, info)
            if ended or len(mask) >= self.response_length:
                break
            previous = [*messages]
            messages.append({"role": "user", "content": answer})
            merged, mask, _ = await self.ct_merge_context_msg(previous, messages, tokens, mask)
            tokens, turns = merged.token_ids, turns + 1
            if len(mask) >= self.response_length:
                break
        if not ended:  # out of steps or of response tokens: what the workspace holds is submitted
            _, reward, _, _, info = await asyncio.to_thread(env.step, "submit")
        prompt_length = len(tokens) - len(mask)  # the builder may re-tokenize a turn's boundary: trust the mask
        return AgentLoopOutput(
            prompt_ids=tokens[:prompt_length], response_ids=tokens[prompt_length:][:self.response_length],
            response_mask=mask[:self.response_length], reward_score=float(reward), num_turns=turns + 1,
            metrics=AgentLoopMetrics(), extra_fields={"exit_status": info.get("exit_status")})

    async def _act(self, env: Any, text: str, step: int, info: dict) -> tuple[str, float, bool, dict]:
        """The reply's command in the env: the answer to send back, the reward, whether the episode ended, info."""
        parsed = parse_block(text)
        if parsed.error:
            answer = self.agent_config.format_error_template.format(error=parsed.error,
                                                                   reply_format=reply_format(self.agent_config))
            return answer, 0.0, False, info
        observation, reward, terminated, truncated, info = await asyncio.to_thread(env.step, parsed.command)
        return next_step_text(self.agent_config, observation, step, self.max_steps), float(reward), \
            terminated or truncated, info


def _make_env(task: str, sandbox: str, max_steps: int) -> Any:
    import gymnasium as gym

    return gym.make(ENV_ID, task=task, sandbox=sandbox, max_steps=max_steps)
