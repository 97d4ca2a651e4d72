"""A trajectory as the chat a student model learns from: the agent's own messages and replies, in order.

An LLM agent's trajectory holds its opening messages and, per step, its reply exactly as sent back and the
answer to it: the chat is those, in order. It is the whole history, as SWE-agent keeps it: observations
the agent's history window had shrunk to one line by its last request appear here in full (each reply was
written seeing them in full). Replies that broke the format were shown back once and then dropped from the
history, and submissions the recorder made when a limit ran out were never written by the agent: both
are left out. A scripted agent (baseline, expert: the offline teacher) said no words to a model: its
steps are written as the LLM agent with the default config would have seen and written them (the same
system and task messages, one fenced command per reply), the format the student is then run in. The
last answer (after the final command) is left out: nothing follows it to learn.
"""

from typing import Any

from synthml.agents import templates as t
from synthml.agents.agent_config import AgentConfig
from synthml.agents.trajectory import Trajectory, block_reply
from synthml.agents.turn import next_step_text, opening_messages


def chat_of(trajectory: Trajectory) -> list[dict[str, Any]]:
    """The trajectory's messages, from the system message to the last reply."""
    acted = [step for step in trajectory.steps if step.format_error is None and not step.auto]
    if trajectory.prompt and all(step.messages for step in acted):
        messages = [*trajectory.prompt, *(m for step in acted for m in step.messages)]
    else:
        messages = _rendered(trajectory, acted)
    while messages and messages[-1]["role"] != "assistant":
        messages.pop()
    return messages


def tools_of(trajectory: Trajectory) -> list[dict[str, Any]]:
    """The tools the agent was offered: run_command when it called tools, else none."""
    agent = trajectory.config.agent
    return [t.RUN_COMMAND_TOOL] if agent and agent.tool_calling else []


def _rendered(trajectory: Trajectory, acted: list) -> list[dict[str, Any]]:
    config = AgentConfig()
    budget = min(trajectory.max_steps or config.max_steps, config.max_steps)
    messages = opening_messages(config, trajectory.task_description, budget)
    for number, step in enumerate(acted, 1):
        messages += [{"role": "assistant", "content": block_reply(step)},
                     {"role": "user", "content": next_step_text(config, step.observation, number, budget)}]
    return messages
