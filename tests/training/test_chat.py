"""The chat's tools: what the trajectory's agent record says the agent was offered."""

from datetime import UTC, datetime

from synthml.agents.agent_config import AgentConfig
from synthml.agents.trajectory import Trajectory
from synthml.training.chat import tools_of


def tools(config: dict) -> list[dict]:
    return tools_of(Trajectory(agent="x", exit_status="submitted", started_at=datetime.now(UTC), config=config))


def test_tools_follow_the_recorded_agent_config():
    tool_calling = {"agent": AgentConfig(tool_calling=True).model_dump(), "llm": {"name": "m", "type": "ScriptedLLM"}}
    assert [tool["function"]["name"] for tool in tools(tool_calling)] == ["run_command"]
    assert tools({"agent": AgentConfig().model_dump()}) == tools({"max_candidates": 6, "seed": 0}) == []
    assert tools({"note": "a third party's record"}) == tools({}) == []
