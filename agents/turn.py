"""One turn of the LLM agent, the same in every loop that plays it (the LLM agent's own, verl's RL loop) and in
the SFT chats made from its trajectories: the messages the model is sent, and what its reply becomes, a
command for the env or a format error that is answered and retried.

Each reply is a short discussion and exactly one command: a fenced block, or (`tool_calling`) one call of the
`run_command` tool. The model sees the system and task messages in full and the last `history_window`
observations; older ones shrink to one line. A reply that breaks the format is shown back once with what was
wrong, then dropped from the history; `max_format_errors` of them in a row end the episode.
"""

import json
import re
from typing import Any, NamedTuple

from synthml.agents import templates as t
from synthml.agents.agent_config import AgentConfig
from synthml.agents.llm import Reply
from synthml.agents.trajectory import EpisodeRecorder
from synthml.envs.aci import WINDOW
from synthml.envs.sandbox import WORKSPACE

_BLOCK = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)


class ParsedReply(NamedTuple):
    thought: str
    command: str
    error: str | None
    """Why the reply is unusable (then `command` is empty)."""


class Dialogue:
    """The agent's side of one episode: the history it has sent and received, and the reply it must retry."""

    def __init__(self, config: AgentConfig, task_description: str, budget: int) -> None:
        self.config, self.budget = config, budget
        self.history = opening_messages(config, task_description, budget)
        self.retry: list[dict] = []
        """A rejected reply and the answer to it: sent once with the next request, then forgotten."""
        self.format_errors = 0
        """Unusable replies in a row."""

    def request(self) -> list[dict]:
        """The messages of the next model call."""
        return last_observations(self.history, self.config.history_window) + self.retry

    def read(self, reply: Reply) -> ParsedReply:
        """The reply's command, or why it has none (then the next request shows it the error)."""
        parsed = parse_tool_call(reply) if self.config.tool_calling else parse_block(reply.text)
        if parsed.error:
            self.retry = [assistant_message(reply), *answers(reply, format_error_text(self.config, parsed.error))]
            self.format_errors += 1
        else:
            self.retry, self.format_errors = [], 0
        return parsed

    @property
    def gave_up(self) -> bool:
        """The last `max_format_errors` replies all broke the format."""
        return self.format_errors >= self.config.max_format_errors

    def observed(self, reply: Reply, observation: str, step: int) -> list[dict]:
        """Adds the reply and the observation its command got to the history; returns those messages."""
        exchange = [assistant_message(reply),
                    *answers(reply, next_step_text(self.config, observation, step, self.budget))]
        self.history += exchange
        return exchange


def play_turn(recorder: EpisodeRecorder, dialogue: Dialogue, reply: Reply) -> bool:
    """One turn: the reply's command played in the env and recorded, or its format error recorded. Returns
    whether the agent gives up (too many format errors in a row)."""
    parsed = dialogue.read(reply)
    if parsed.error:
        recorder.format_error(reply_text(reply), parsed.error, reply.usage, dialogue.retry)
        return dialogue.gave_up
    observation = recorder.step(parsed.command, parsed.thought, reply.usage)[0]
    recorder.exchanged(dialogue.observed(reply, observation, len(recorder.steps)))
    return False


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


def format_error_text(config: AgentConfig, error: str) -> str:
    """The answer to a reply that broke the format."""
    return config.format_error_template.format(error=error, reply_format=reply_format(config))


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


def assistant_message(reply: Reply) -> dict[str, Any]:
    if not reply.tool_calls:
        return {"role": "assistant", "content": reply.text}
    calls = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
             for c in reply.tool_calls]
    return {"role": "assistant", "content": reply.text or None, "tool_calls": calls}


def answers(reply: Reply, text: str) -> list[dict[str, Any]]:
    """The answer to a reply: one tool message per tool call (the API wants each answered), else a user message."""
    if reply.tool_calls:
        return [{"role": "tool", "tool_call_id": call.id, "content": text} for call in reply.tool_calls]
    return [{"role": "user", "content": text}]


def reply_text(reply: Reply) -> str:
    """A reply as text, tool calls included, for the trajectory."""
    calls = "".join(f"\n[tool call {call.name}: {call.arguments}]" for call in reply.tool_calls)
    return reply.text + calls
