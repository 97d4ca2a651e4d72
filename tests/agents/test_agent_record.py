"""The agent's record in a trajectory (`Trajectory.config`): typed fields, old lines read and written back unchanged."""

import json
from datetime import UTC, datetime

import pytest

from synthml.agents.agent_config import AgentConfig
from synthml.agents.agent_record import AgentRecord, LLMRecord, OpenAIChatRecord, llm_record
from synthml.agents.llm import OpenAIChatConfig, ScriptedLLM
from synthml.agents.loop import LLMAgent
from synthml.agents.trajectory import Trajectory

CHAT = OpenAIChatConfig(model="gpt-test", base_url="http://127.0.0.1:8000/v1", temperature=0.5,
                        extra_body={"top_k": 20})
OLD_CONFIGS = {
    "baseline": {},
    "expert": {"max_candidates": 6, "seed": 0},
    "replay": {"replays": "a" * 32},
    "replay of actions": {"replays": None},
    "llm, scripted": {"agent": AgentConfig().model_dump(), "llm": {"name": "scripted", "type": "ScriptedLLM"}},
    "llm, openai": {"agent": AgentConfig(tool_calling=True).model_dump(), "llm": {"name": "gpt-test",
                                                                                  **CHAT.model_dump()}},
    "verl": {"agent": AgentConfig(max_steps=3, history_window=3).model_dump()},
    "a test's note": {"note": "constant predictions"},
}
"""`Trajectory.config` as each agent wrote it while it was a plain dict."""


def old_line(config: dict) -> str:
    """A stored trajectory line whose config is `config`, as the dict-typed field serialised it."""
    line = Trajectory(agent="x", exit_status="submitted", started_at=datetime(2025, 1, 2, tzinfo=UTC)).model_dump_json()
    return line.replace('"config":{}', f'"config":{compact(config)}')


def compact(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("config", OLD_CONFIGS.values(), ids=OLD_CONFIGS.keys())
def test_old_lines_read_and_write_back_byte_for_byte(config):
    line = old_line(config)
    assert Trajectory.model_validate_json(line).model_dump_json() == line


def test_the_llm_agent_writes_what_it_wrote_as_a_dict():
    scripted, chat = ScriptedLLM([]), ScriptedLLM([], name="gpt-test")
    chat.config = CHAT  # a client with a pydantic config, as OpenAIChat has
    assert compact(OLD_CONFIGS["llm, scripted"]) == LLMAgent(scripted).resolved_config().model_dump_json()
    assert compact(OLD_CONFIGS["llm, openai"]) == LLMAgent(chat, {"tool_calling": True}).resolved_config(
    ).model_dump_json()


def test_fields_are_typed():
    llm = Trajectory.model_validate_json(old_line(OLD_CONFIGS["llm, openai"])).config
    assert isinstance(llm.agent, AgentConfig) and llm.agent.tool_calling and llm.agent.history_window == 5
    assert isinstance(llm.llm, OpenAIChatRecord) and isinstance(llm.llm, OpenAIChatConfig)
    assert (llm.llm.name, llm.llm.base_url, llm.llm.temperature, llm.llm.extra_body) == (
        "gpt-test", "http://127.0.0.1:8000/v1", 0.5, {"top_k": 20})
    scripted = AgentRecord.model_validate(OLD_CONFIGS["llm, scripted"]).llm
    assert type(scripted) is LLMRecord and (scripted.name, scripted.type) == ("scripted", "ScriptedLLM")
    expert = AgentRecord.model_validate(OLD_CONFIGS["expert"])
    assert (expert.max_candidates, expert.seed, expert.agent, expert.llm) == (6, 0, None, None)
    assert AgentRecord.model_validate(OLD_CONFIGS["replay"]).replays == "a" * 32


def test_unknown_keys_survive_a_round_trip():
    config = {"agent": AgentConfig().model_dump(), "temperature_schedule": [1.0, 0.5],
              "llm": {"name": "claude", "type": "anthropic", "region": "eu"}, "note": {"why": "a third party's"}}
    record = Trajectory.model_validate_json(old_line(config)).config
    assert record.temperature_schedule == [1.0, 0.5] and record.llm.region == "eu" and record.llm.type == "anthropic"
    assert json.loads(record.model_dump_json()) == config
    openai = {"name": "gpt-test", **CHAT.model_dump(), "organisation": "lab"}  # a field OpenAIChatConfig lacks
    assert AgentRecord.model_validate({"llm": openai}).llm.model_dump() == openai


def test_a_record_writes_only_what_it_was_given():
    assert AgentRecord().model_dump_json() == "{}" and AgentRecord(replays=None).model_dump_json() == '{"replays":null}'
    assert OpenAIChatRecord(name="m", model="m").model_dump() == {"name": "m", "type": "openai", "model": "m"}
    assert isinstance(AgentRecord.model_validate_json(AgentRecord(llm=OpenAIChatRecord(name="m", model="m"))
                                                      .model_dump_json()).llm, OpenAIChatRecord)


def test_an_llm_record_names_a_client_without_a_config_by_its_class():
    assert llm_record(ScriptedLLM([], name="s")).model_dump() == {"name": "s", "type": "ScriptedLLM"}

