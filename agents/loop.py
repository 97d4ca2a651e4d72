"""The LLM agent: SWE-agent/MLGym's loop of messages -> model -> one command -> env, within limits.

Each reply is a short discussion and exactly one command: a fenced block, or (`tool_calling`) one call
of the `run_command` tool. A reply that breaks the format is answered with what was wrong and retried;
`max_format_errors` in a row end the episode. The model sees the system and task messages in full and
the last `history_window` observations; older ones shrink to one line. On a limit (steps, tokens, cost,
context) the recorder auto-submits; an endpoint failure (LLMError) ends the episode as an infra error.
"""

import json
import re
from typing import Any, NamedTuple

import gymnasium as gym
from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthml.agents import templates as t
from synthml.agents.llm import LLM, Reply
from synthml.agents.trajectory import EpisodeRecorder, Trajectory
from synthml.envs.aci import WINDOW
from synthml.envs.sandbox import WORKSPACE
from synthml.errors import LLMError

LLM_FAILURE = "LLM endpoint"
"""How an endpoint failure starts the infra error it records (a rollout tells it from a sandbox's this way)."""
_BLOCK = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(50, ge=1, description="Most model replies in an episode (format errors count too).")
    max_tokens_total: int | None = Field(None, ge=1, description="Most prompt + completion tokens (None: no limit).")
    max_cost: float | None = Field(None, gt=0, description="Most US dollars spent on the model (None: no limit).")
    max_context_chars: int | None = Field(None, ge=1, description="Most characters in one request (~4 per token).")
    history_window: int = Field(5, ge=1, description="Latest observations kept in full; older ones shrink to a line.")
    max_format_errors: int = Field(3, ge=1, description="Unusable replies in a row that end the episode.")
    tool_calling: bool = Field(False, description="Commands come as native run_command tool calls, not fenced blocks.")
    system_template: str = Field(t.SYSTEM_TEMPLATE, description="The system message (see templates.TEMPLATE_FIELDS).")
    instance_template: str = Field(t.INSTANCE_TEMPLATE, description="The first user message, holding the task.")
    next_step_template: str = Field(t.NEXT_STEP_TEMPLATE, description="The message carrying each observation.")
    format_error_template: str = Field(t.FORMAT_ERROR_TEMPLATE, description="The answer to an unusable reply.")

    @model_validator(mode="after")
    def _templates_use_known_fields(self) -> "AgentConfig":
        for name, fields in t.TEMPLATE_FIELDS.items():
            try:
                getattr(self, name).format(**dict.fromkeys(fields, ""))
            except (KeyError, IndexError, ValueError) as e:
                allowed = ", ".join(f"{{{field}}}" for field in fields)
                raise ValueError(f"{name}: placeholder {e} is not one it may use ({allowed}); "
                                 "write a literal brace twice ({{ or }})") from None
        return self


class ParsedReply(NamedTuple):
    thought: str
    command: str
    error: str | None
    """Why the reply is unusable (then `command` is empty)."""


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
        recorder.prompt = opening_messages(self.config, observation, budget)
        return recorder.finish(self._loop(recorder, list(recorder.prompt), budget))

    def resolved_config(self) -> dict[str, Any]:
        """What the trajectory records: this config and the LLM's (configs hold no keys, only variable names)."""
        llm = getattr(self.llm, "config", None)
        llm_config = llm.model_dump() if isinstance(llm, BaseModel) else {"type": type(self.llm).__name__}
        return {"agent": self.config.model_dump(), "llm": {"name": self.llm.name, **llm_config}}

    def _loop(self, recorder: EpisodeRecorder, history: list[dict], budget: int) -> str | None:
        """Steps until the episode ends; returns why the agent stopped it early, if it did."""
        retry: list[dict] = []  # a rejected reply and the answer to it, sent once and then forgotten
        errors = 0
        while not recorder.done:
            messages = last_observations(history, self.config.history_window) + retry
            limit = self._limit(recorder, messages)
            if limit:
                return limit
            try:
                reply = self.llm.complete(messages, [t.RUN_COMMAND_TOOL] if self.config.tool_calling else None)
            except LLMError as e:
                recorder.fail(f"{LLM_FAILURE}: {e}")
                return None
            parsed = parse_tool_call(reply) if self.config.tool_calling else parse_block(reply.text)
            if parsed.error:
                retry = [_assistant(reply), *_answers(reply, self._format_error(parsed.error))]
                recorder.format_error(_reply_text(reply), parsed.error, reply.usage, retry)
                errors += 1
                if errors >= self.config.max_format_errors:
                    return "format_error_limit"
                continue
            errors, retry = 0, []
            observation = recorder.step(parsed.command, parsed.thought, reply.usage)[0]
            answer = next_step_text(self.config, observation, len(recorder.steps), budget)
            exchange = [_assistant(reply), *_answers(reply, answer)]
            recorder.exchanged(exchange)
            history += exchange
        return None

    def _limit(self, recorder: EpisodeRecorder, messages: list[dict]) -> str | None:
        """The limit the next model call would break, if any (checked before each call)."""
        c, usage = self.config, recorder.usage
        reached = {"step_limit": len(recorder.steps) >= c.max_steps,
                   "token_limit": c.max_tokens_total is not None and usage.total_tokens >= c.max_tokens_total,
                   "cost_limit": c.max_cost is not None and usage.cost >= c.max_cost,
                   "context_limit": c.max_context_chars is not None and context_chars(messages) > c.max_context_chars}
        return next((name for name, hit in reached.items() if hit), None)

    def _format_error(self, error: str) -> str:
        return self.config.format_error_template.format(error=error, reply_format=reply_format(self.config))


def opening_messages(config: AgentConfig, task_description: str, budget: int) -> list[dict]:
    """The system and task messages the agent opens an episode with."""
    system = config.system_template.format(command_docs=t.command_docs(), reply_format=reply_format(config),
                                           window=WINDOW)
    instance = config.instance_template.format(task_description=task_description, workspace=WORKSPACE,
                                               max_steps=budget)
    return [{"role": "system", "content": system}, {"role": "user", "content": instance}]


def next_step_text(config: AgentConfig, observation: str, step: int, budget: int) -> str:
    """The message that carries an observation back to the model."""
    return config.next_step_template.format(observation=observation.rstrip("\n") or t.NO_OUTPUT, step=step,
                                            remaining=max(0, budget - step))


def reply_format(config: AgentConfig) -> str:
    return t.TOOL_FORMAT if config.tool_calling else t.BLOCK_FORMAT


def parse_block(text: str) -> ParsedReply:
    """The discussion and the one command of a reply in the fenced-block format."""
    blocks = list(_BLOCK.finditer(text))
    if len(blocks) != 1:
        found = "no command block" if not blocks else f"{len(blocks)} command blocks"
        return ParsedReply(text.strip(), "", f"your reply has {found}; end it with exactly one command in a "
                           "fenced ``` block (run further commands in later replies)")
    command = blocks[0][1].strip()
    if not command:
        return ParsedReply(text.strip(), "", "your command block is empty; put one command in it")
    return ParsedReply((text[: blocks[0].start()] + text[blocks[0].end():]).strip(), command, None)


def parse_tool_call(reply: Reply) -> ParsedReply:
    """The discussion and the command of a reply holding exactly one run_command tool call."""
    calls = reply.tool_calls
    if len(calls) != 1 or calls[0].name != t.RUN_COMMAND:
        found = f"{len(calls)} tool calls" if len(calls) != 1 else f"a call of the unknown tool {calls[0].name!r}"
        return ParsedReply(reply.text.strip(), "", f"your reply has {found}; call the {t.RUN_COMMAND} tool exactly "
                           "once per reply")
    try:
        arguments = json.loads(calls[0].arguments)
    except ValueError:
        arguments = None
    command = arguments.get("command") if isinstance(arguments, dict) else None
    if not isinstance(command, str) or not command.strip():
        return ParsedReply(reply.text.strip(), "", f"the arguments of {t.RUN_COMMAND} must be a JSON object with a "
                           f"non-empty string 'command', not {calls[0].arguments[:200]!r}")
    return ParsedReply(reply.text.strip(), command.strip(), None)


def last_observations(messages: list[dict], keep: int) -> list[dict]:
    """The messages with every observation but the last `keep` shrunk to one line; the system and the task
    message (the first two) stay whole (SWE-agent's last-n-observations history processor)."""
    observations = [i for i, message in enumerate(messages) if i >= 2 and message["role"] in ("user", "tool")]
    old = set(observations[:-keep])
    return [{**m, "content": t.OLD_OUTPUT.format(lines=len(str(m["content"]).splitlines()))} if i in old else m
            for i, m in enumerate(messages)]


def context_chars(messages: list[dict]) -> int:
    """Characters of text and tool-call arguments in a request."""
    calls = (call["function"]["arguments"] for m in messages for call in m.get("tool_calls", []))
    return sum(len(str(m.get("content") or "")) for m in messages) + sum(map(len, calls))


def _assistant(reply: Reply) -> dict[str, Any]:
    if not reply.tool_calls:
        return {"role": "assistant", "content": reply.text}
    calls = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
             for c in reply.tool_calls]
    return {"role": "assistant", "content": reply.text or None, "tool_calls": calls}


def _answers(reply: Reply, text: str) -> list[dict[str, Any]]:
    """The answer to a reply: one tool message per tool call (the API wants each answered), else a user message."""
    if reply.tool_calls:
        return [{"role": "tool", "tool_call_id": call.id, "content": text} for call in reply.tool_calls]
    return [{"role": "user", "content": text}]


def _reply_text(reply: Reply) -> str:
    """A reply as text, tool calls included, for the trajectory."""
    calls = "".join(f"\n[tool call {call.name}: {call.arguments}]" for call in reply.tool_calls)
    return reply.text + calls
