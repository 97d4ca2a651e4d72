"""verl multi-turn RL on SynthML-v0: each sample plays one episode; the env's terminal reward is its score.

The loop speaks to the policy in the LLM agent's own format (the same system and task messages, one fenced
command per reply, the observation in the next message), so a student trained by SFT on exported chats
is trained further by RL on the prompts it already knows: each turn is the LLM agent's own
(`agents.turn.play_turn`: parsing, format errors and their limit). Tokens go through verl's Continuous Token
builder, so the rollout is token-exact across turns; the policy's tokens are trained on (mask 1), the
env's answers are not (mask 0). That continuity is why the policy sees its whole episode: it has no history
window, and a reply that broke the format stays in it. Env calls (sandbox start, commands, evaluation) run in
threads, off the event loop. `synthml train rl` registers it (OUT/agent_loop.yaml, rows with agent_name: synthml). An
infrastructure failure (the sandbox died) ends the episode with every token masked out: no gradient, and
no reward held against the policy. Every episode is recorded as a trajectory, appended to the JSONL file
`trajectories` names (`synthml train rl` sets OUT/trajectories.jsonl).

It imports verl, so it is importable only with the train extra.
"""

import asyncio
import uuid
from pathlib import Path
from typing import Any

import gymnasium as gym
from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopMetrics, AgentLoopOutput

from synthml import ENV_ID
from synthml.agents.agent_config import AgentConfig
from synthml.agents.agent_record import AgentRecord
from synthml.agents.llm import Reply
from synthml.agents.trajectory import EpisodeRecorder, Trajectory, append_trajectory
from synthml.agents.turn import Dialogue, play_turn
from synthml.envs.exit_status import INFRA_STATUS

AGENT = "verl"
"""The trajectories' agent name."""


class SynthMLAgentLoop(AgentLoopBase):
    def __init__(self, *args: Any, max_steps: int = 30, sandbox: str | dict = "bwrap", trajectories: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_steps, self.sandbox = max_steps, sandbox
        self.trajectories = Path(trajectories) if trajectories else None
        self.agent_config = AgentConfig(max_steps=max_steps, history_window=max_steps)
        self.response_length = self.rollout_config.response_length

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """One episode of the row's task (`extra_info.task`, a task dir) from its seed (`extra_info.seed`)."""
        extra = kwargs["extra_info"]
        env = await asyncio.to_thread(gym.make, ENV_ID, task=extra["task"], sandbox=self.sandbox,
                                      max_steps=self.max_steps)
        recorder = EpisodeRecorder(env, AGENT, "policy", 0, AgentRecord(agent=self.agent_config))
        try:
            output = await self._episode(recorder, int(extra["seed"]), sampling_params)
        finally:
            await asyncio.to_thread(env.close)
        if self.trajectories:
            await asyncio.to_thread(append_trajectory, self.trajectories, recorder.finish())
        return output

    async def _episode(self, recorder: EpisodeRecorder, seed: int, sampling_params: dict[str, Any]) -> AgentLoopOutput:
        observation, _ = await asyncio.to_thread(recorder.reset, seed=seed)
        if recorder.done:  # the sandbox did not start
            return await self._unscored(recorder.infra_error)
        dialogue = Dialogue(self.agent_config, observation, self.max_steps)
        recorder.prompt = messages = list(dialogue.history)
        tokens = await self.ct_build_initial_tokens(messages)
        mask, turns, gave_up = [], 0, False
        request_id = uuid.uuid4().hex
        while not recorder.done and not gave_up and len(recorder.steps) < self.max_steps:
            output = await self.server_manager.generate(request_id=request_id, prompt_ids=tokens,
                                                        sampling_params=sampling_params)
            merged, mask, _ = await self.ct_merge_assistant_token(tokens, output.token_ids, mask)
            tokens, turns = merged.token_ids, turns + 1
            reply = Reply(text=self.tokenizer.decode(output.token_ids, skip_special_tokens=True))
            gave_up = await asyncio.to_thread(play_turn, recorder, dialogue, reply)
            if recorder.done or gave_up or len(mask) >= self.response_length:
                break
            answer = (dialogue.retry or dialogue.history)[-1]
            previous, messages = messages, [*messages, {"role": "assistant", "content": reply.text}, answer]
            merged, mask, _ = await self.ct_merge_context_msg(previous, messages, tokens, mask)
            tokens, turns = merged.token_ids, turns + 1
            if len(mask) >= self.response_length:
                break
        trajectory = await asyncio.to_thread(recorder.finish, "format_error_limit" if gave_up else "step_limit")
        if trajectory.infra_error:
            return await self._unscored(trajectory.infra_error)
        return self._output(tokens, mask, trajectory, turns)

    def _output(self, tokens: list[int], mask: list[int], trajectory: Trajectory, turns: int) -> AgentLoopOutput:
        prompt_length = len(tokens) - len(mask)  # the builder may re-tokenize a turn's boundary: trust the mask
        return AgentLoopOutput(
            prompt_ids=tokens[:prompt_length], response_ids=tokens[prompt_length:][:self.response_length],
            response_mask=mask[:self.response_length], reward_score=trajectory.reward, num_turns=turns + 1,
            metrics=AgentLoopMetrics(), extra_fields={"exit_status": trajectory.exit_status})

    async def _unscored(self, error: str | None) -> AgentLoopOutput:
        """The sandbox, not the policy, failed: nothing of this sample is trained on."""
        return AgentLoopOutput(prompt_ids=await self.ct_build_initial_tokens([{"role": "user", "content": "."}]),
                               response_ids=[self.tokenizer.eos_token_id], response_mask=[0], reward_score=0.0,
                               num_turns=1, metrics=AgentLoopMetrics(),
                               extra_fields={"exit_status": INFRA_STATUS, "infra_error": error})
