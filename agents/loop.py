"""The LLM agent: SWE-agent/MLGym's loop of messages -> model -> one command -> env, within limits.

Each turn is `turn.play_turn` (the reply's format, the history window, format errors). On a limit (steps,
tokens, cost, context) the recorder auto-submits; an endpoint failure (LLMError) ends the episode as an infra
error.
"""

import gymnasium as gym

from synthml.agents import templates as t
from synthml.agents.agent_config import AgentConfig
from synthml.agents.agent_record import AgentRecord, llm_record
from synthml.agents.llm import LLM
from synthml.agents.trajectory import EpisodeRecorder, Trajectory
from synthml.agents.turn import Dialogue, play_turn
from synthml.errors import LLMError

LLM_FAILURE = "LLM endpoint"
"""How an endpoint failure starts the infra error it records (a rollout tells it from a sandbox's this way)."""


class LLMAgent:
    """An LLM choosing one command per reply, SWE-agent style, recorded as a `Trajectory`."""

    def __init__(self, llm: LLM, config: AgentConfig | dict | None = None, name: str = "llm") -> None:
        self.llm, self.name = llm, name
        self.config = config if isinstance(config, AgentConfig) else AgentConfig.model_validate(config or {})

    def run(self, env: gym.Env, seed: int | None = None, options: dict | None = None, run: int = 0) -> Trajectory:
        recorder = EpisodeRecorder(env, self.name, self.llm.name, run, self.resolved_config())
        observation, _ = recorder.reset(seed=seed, options=options)
        if recorder.done:  # the sandbox did not start
            return recorder.finish()
        budget = min(self.config.max_steps, getattr(env.unwrapped, "max_steps", self.config.max_steps))
        dialogue = Dialogue(self.config, observation, budget)
        recorder.prompt = list(dialogue.history)
        return recorder.finish(self._loop(recorder, dialogue))

    def resolved_config(self) -> AgentRecord:
        """What the trajectory records: this config and the LLM's (configs hold no keys, only variable names)."""
        return AgentRecord(agent=self.config, llm=llm_record(self.llm))

    def _loop(self, recorder: EpisodeRecorder, dialogue: Dialogue) -> str | None:
        """Turns until the episode ends; returns why the agent stopped it early, if it did."""
        while not recorder.done:
            messages = dialogue.request()
            limit = self._limit(recorder, messages)
            if limit:
                return limit
            try:
                reply = self.llm.complete(messages, [t.RUN_COMMAND_TOOL] if self.config.tool_calling else None)
            except LLMError as e:
                recorder.fail(f"{LLM_FAILURE}: {e}", "endpoint")
                return None
            if play_turn(recorder, dialogue, reply):
                return "format_error_limit"
        return None

    def _limit(self, recorder: EpisodeRecorder, messages: list[dict]) -> str | None:
        """The limit the next model call would break, if any (checked before each call)."""
        c, usage = self.config, recorder.usage
        reached = {"step_limit": len(recorder.steps) >= c.max_steps,
                   "token_limit": c.max_tokens_total is not None and usage.total_tokens >= c.max_tokens_total,
                   "cost_limit": c.max_cost is not None and usage.cost >= c.max_cost,
                   "context_limit": c.max_context_chars is not None and context_chars(messages) > c.max_context_chars}
        return next((name for name, hit in reached.items() if hit), None)

def context_chars(messages: list[dict]) -> int:
    """Characters of text and tool-call arguments in a request."""
    calls = (call["function"]["arguments"] for m in messages for call in m.get("tool_calls", []))
    return sum(len(str(m.get("content") or "")) for m in messages) + sum(map(len, calls))


