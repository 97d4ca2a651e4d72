"""A trajectory as the chats a student model learns from: the agent's own messages and replies, in order.

An LLM agent's trajectory holds its opening messages and, per step, its reply exactly as sent back and the
answer to it. `chat_of` is those, in order: the whole history, as SWE-agent keeps it (observations the agent's
history window had shrunk by its last request appear here in full; each reply was written seeing them in
full). `turns_of` is one chat per reply: the request the agent loop sent for it (`agents/turn.py`: older
observations shrunk, the answer to a rejected reply), then the reply: what the student sees at each turn.
Replies that broke the format are never learned, and submissions the recorder made when a limit ran out were
never written by the agent: both are left out. A scripted agent (baseline, expert: the offline teacher) said
no words to a model: its steps are written as the LLM agent with the default config would have seen and
written them (the same system and task messages, one fenced command per reply), the format the student is
then run in. The last answer (after the final command) is left out: nothing follows it to learn.
"""

from typing import Any

from synthml.agents import templates as t
from synthml.agents.agent_config import AgentConfig
from synthml.agents.trajectory import Trajectory, block_reply
from synthml.agents.turn import last_observations, next_step_text, opening_messages

Exchange = tuple[list[dict[str, Any]], list[dict[str, Any]]]
"""The answer to a rejected reply the request carried (empty if none), and the reply with its answer."""


def chat_of(trajectory: Trajectory) -> list[dict[str, Any]]:
    """The trajectory's messages, from the system message to the last reply."""
    opening, exchanges, _ = _exchanges(trajectory)
    messages = [*opening, *(message for _, exchange in exchanges for message in exchange)]
    while messages and messages[-1]["role"] != "assistant":
        messages.pop()
    return messages


def turns_of(trajectory: Trajectory) -> list[list[dict[str, Any]]]:
    """One chat per reply the agent wrote and played: exactly the request it was sent, then the reply."""
    history, exchanges, window = _exchanges(trajectory)
    turns = []
    for retry, exchange in exchanges:
        turns.append([*last_observations(history, window), *retry, exchange[0]])
        history = [*history, *exchange]
    return turns


def tools_of(trajectory: Trajectory) -> list[dict[str, Any]]:
    """The tools the agent was offered: run_command when it called tools, else none."""
    agent = trajectory.config.agent
    return [t.RUN_COMMAND_TOOL] if agent and agent.tool_calling else []


def _exchanges(trajectory: Trajectory) -> tuple[list[dict[str, Any]], list[Exchange], int]:
    """The opening messages, each played reply's exchange, and the history window the agent used."""
    acted = [step for step in trajectory.steps if step.format_error is None and not step.auto]
    if not (trajectory.prompt and all(step.messages for step in acted)):
        return _rendered(trajectory, acted)
    exchanges, retry = [], []
    for step in trajectory.steps:
        if step.format_error is not None:
            retry = step.messages
        elif not step.auto:
            exchanges.append((retry, step.messages))
            retry = []
    return trajectory.prompt, exchanges, (trajectory.config.agent or AgentConfig()).history_window


def _rendered(trajectory: Trajectory, acted: list) -> tuple[list[dict[str, Any]], list[Exchange], int]:
    config = AgentConfig()
    budget = min(trajectory.max_steps or config.max_steps, config.max_steps)
    exchanges = [([], [{"role": "assistant", "content": block_reply(step)},
                       {"role": "user", "content": next_step_text(config, step.observation, number, budget)}])
                 for number, step in enumerate(acted, 1)]
    return opening_messages(config, trajectory.task_description, budget), exchanges, config.history_window
