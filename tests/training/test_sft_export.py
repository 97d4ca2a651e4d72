"""`synthml export-sft` over real trajectories of the scripted agents (expert, baseline) and of the LLM agent
(ScriptedLLM replies) played in the bubblewrap sandbox: what is kept and why, and chats exactly as seen."""

import itertools
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from synthml.agents.agent_config import AgentConfig
from synthml.agents.expert import ExpertAgent
from synthml.agents.llm import ScriptedLLM
from synthml.agents.loop import LLMAgent
from synthml.agents.scripted import BaselineAgent, baseline_actions
from synthml.agents.trajectory import Trajectory, append_trajectory
from synthml.cli import app
from synthml.envs.env import SynthMLEnv, sample_bank
from synthml.errors import SynthMLError
from synthml.training.chat import chat_of, turns_of
from synthml.training.filters import FilterConfig, select
from synthml.training.sft_export import export_sft
from synthml.training.store import Attempt, RolloutStore
from tests.conftest import CLASSIFICATION

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("runtime")]


@pytest.fixture(scope="module")
def played() -> dict[str, Trajectory]:
    """The expert, the baseline and a scripted LLM (replaying the baseline's commands) on one sample task."""
    env = SynthMLEnv(task=sample_bank() / CLASSIFICATION, max_steps=30)
    try:
        expert = ExpertAgent().run(env, seed=0)
        baseline = BaselineAgent().run(env, seed=0)
        replies = [f"Step {n}: let me run this.\n```\n{action}\n```" for n, action in
                   enumerate(baseline_actions(env.unwrapped.task))]
        llm = ScriptedLLM(replies)
        replayed = LLMAgent(llm, {"history_window": 50}).run(env, seed=0)
    finally:
        env.close()
    assert expert.final and baseline.final and replayed.final
    return {"expert": expert, "baseline": baseline, "llm": replayed, "calls": llm.calls}


@pytest.fixture
def source(played, tmp_path) -> Path:
    """A folder as users have them: a store's shard, an attempt log beside it, a bench JSONL one level down."""
    with RolloutStore(tmp_path / "store").exclusive() as store:
        store.record(played["expert"].model_copy(update={"episode_id": "e1"}))
        store.log_attempt(Attempt(episode_id="e2", attempt=1, kind="sandbox", error="died", final=True, worker="w",
                                  seconds=1.0))
    append_trajectory(tmp_path / "bench" / "trajectories.jsonl", played["baseline"])
    append_trajectory(tmp_path / "bench" / "trajectories.jsonl", played["llm"])
    return tmp_path


def test_llm_chat_is_exactly_what_the_model_was_sent_and_said(played):
    chat = chat_of(played["llm"])
    last_call = played["calls"][-1]
    assert chat[:len(last_call)] == last_call  # every message of the last request, in order, unchanged
    assert chat[len(last_call):] == [{"role": "assistant", "content": played["llm"].steps[-1].messages[0]["content"]}]
    assert [m["role"] for m in chat[:2]] == ["system", "user"]


def test_auto_submission_is_left_out_of_the_chat(runtime):
    llm = ScriptedLLM(["Look.\n```\nls\n```", "Again.\n```\nls -la\n```"])
    env = SynthMLEnv(task=sample_bank() / CLASSIFICATION, max_steps=30)
    try:
        trajectory = LLMAgent(llm, {"max_steps": 2}).run(env, seed=0)
    finally:
        env.close()
    assert trajectory.exit_status.endswith("(step_limit)") and trajectory.steps[-1].auto
    assert chat_of(trajectory) == [*llm.calls[-1], {"role": "assistant", "content": "Again.\n```\nls -la\n```"}]


def test_each_turn_is_exactly_the_request_the_agent_sent_and_its_reply(runtime):
    """A short history window (older observations shrunk) and a rejected reply (shown back once): each turn's
    context is the very request of that model call, and a rejected reply is never a turn of its own."""
    replies = ["Look.\n```\nls\n```", "No block here.", "Fixed.\n```\nls -la\n```", "Data.\n```\nhead -3 "
               "data/train.csv\n```", "Size.\n```\nwc -l data/train.csv\n```"]
    llm = ScriptedLLM(replies)
    env = SynthMLEnv(task=sample_bank() / CLASSIFICATION, max_steps=30)
    try:
        trajectory = LLMAgent(llm, {"max_steps": 5, "history_window": 1}).run(env, seed=0)
    finally:
        env.close()
    turns = turns_of(trajectory)
    played = [n for n, reply in enumerate(replies) if "```" in reply]
    assert [turn[:-1] for turn in turns] == [llm.calls[n] for n in played]
    assert [turn[-1] for turn in turns] == [{"role": "assistant", "content": replies[n]} for n in played]
    assert "No block here." in json.dumps(turns[1][:-1])  # the retry the agent was shown, once
    assert "No block here." not in json.dumps(turns[2])
    assert turns[-1][:-1] != chat_of(trajectory)[:len(turns[-1]) - 1]  # shrunk, where the whole chat is not


def test_scripted_turns_are_the_requests_of_the_default_llm_agent(played):
    expert = played["expert"]
    turns = turns_of(expert)
    assert len(turns) == len(expert.steps) and all(turn[-1]["role"] == "assistant" for turn in turns)
    assert turns[-1][-1] == chat_of(expert)[-1] and turns[0] == chat_of(expert)[:3]
    shrunk = [m for m in turns[-1] if m["role"] == "user" and m["content"].startswith("Old environment output")]
    assert len(shrunk) == len(expert.steps) - 1 - AgentConfig().history_window


def test_scripted_chat_is_the_llm_agents_format(played):
    expert = played["expert"]
    chat = chat_of(expert)
    assert [m["role"] for m in chat[:2]] == ["system", "user"] and chat[-1]["role"] == "assistant"
    assert expert.task_description in chat[1]["content"]
    assert all(a["role"] != b["role"] for a, b in itertools.pairwise(chat[1:]))  # turns alternate
    replies = [m["content"] for m in chat if m["role"] == "assistant"]
    assert [reply.split("```\n")[1].rstrip("\n`") for reply in replies] == [s.action for s in expert.steps]
    assert f"remaining steps: {expert.max_steps - 1}" in chat[3]["content"]


def test_export_keeps_what_beat_the_baseline_and_says_why_the_rest_went(source, played, tmp_path):
    summary = export_sft(source, tmp_path / "data")
    assert (summary.files, summary.read) == (2, 3)  # the attempt log is not a trajectory file
    assert [t.agent for t in summary.selection.kept] == ["expert"]
    assert dict(summary.selection.dropped) == {"no_improvement": 2}  # the baseline, and the LLM replaying it
    table = pq.read_table(tmp_path / "data" / "train.parquet").to_pylist()
    assert len(table) == 1 and table[0]["agent"] == "expert" and table[0]["improvement"] > 0
    assert json.loads(table[0]["messages"]) == chat_of(played["expert"]) and json.loads(table[0]["tools"]) == []
    [line] = (tmp_path / "data" / "train.jsonl").read_text().splitlines()
    assert json.loads(line) == {"messages": chat_of(played["expert"]), "tools": []}
    report = json.loads((tmp_path / "data" / "export.json").read_text())
    assert report["kept"] == 1 and "characters / 4" in report["lengths"]
    assert report["tokens"] == table[0]["tokens"] > 100


def test_filters_length_duplicates_and_task_caps(played):
    expert = played["expert"]
    twin = expert.model_copy(update={"trajectory_id": "twin"})
    assert select([expert, twin], FilterConfig()).dropped == {"duplicate": 1}
    capped = select([expert, twin], FilterConfig(dedupe=False, per_task=1))
    assert capped.dropped == {"task_cap": 1} and capped.kept == [expert]
    assert select([expert], FilterConfig(max_tokens=10)).dropped == {"too_long": 1}
    assert select([expert], FilterConfig(min_improvement=10.0)).dropped == {"no_improvement": 1}
    broken = expert.model_copy(update={"infra_error": "sandbox died", "trajectory_id": "broken"})
    assert select([broken], FilterConfig()).dropped == {"infra_error": 1}
    counted = select([expert], FilterConfig(), count_tokens=lambda chat: 7 * len(chat), counted_with="seven")
    assert counted.tokens == {expert.trajectory_id: 7 * len(chat_of(expert))} and counted.counted_with == "seven"


def test_a_per_turn_export_has_one_row_per_played_reply(source, played, tmp_path):
    summary = export_sft(source, tmp_path / "data", FilterConfig(per_turn=True))
    turns = turns_of(played["expert"])
    table = pq.read_table(tmp_path / "data" / "train.parquet").to_pylist()
    assert [json.loads(row["messages"]) for row in table] == turns and [row["turn"] for row in table] == list(
        range(len(turns)))
    assert [json.loads(line)["messages"] for line in (tmp_path / "data" / "train.jsonl").read_text().splitlines()] \
        == turns
    report = json.loads((tmp_path / "data" / "export.json").read_text())
    assert report["examples"] == len(turns) and report["filters"]["per_turn"] is True
    assert report["tokens"] == sum(row["tokens"] for row in table) == summary.selection.tokens[played["expert"]
                                                                                               .trajectory_id]
    longest = max(row["tokens"] for row in table)
    assert export_sft(source, tmp_path / "fits", FilterConfig(per_turn=True, max_tokens=longest)).selection.kept
    with pytest.raises(SynthMLError, match="none of 3 trajectories passed the filters.*too_long 1"):
        export_sft(source, tmp_path / "cut", FilterConfig(per_turn=True, max_tokens=longest - 1))


def test_export_refuses_max_tokens_beyond_the_students_context(source, tmp_path):
    student = tmp_path / "student"
    student.mkdir()
    (student / "config.json").write_text(json.dumps({"max_position_embeddings": 8192}))
    with pytest.raises(SynthMLError, match=r"--max-tokens 32768: longer than the student's context \(8192 "
                                           r"positions.*pass --max-tokens 8192 or less"):
        export_sft(source, tmp_path / "data", FilterConfig(), tokenizer=student)
    assert not (tmp_path / "data").exists()
    (student / "config.json").write_text("[not, json")
    with pytest.raises(SynthMLError, match=r"config.json: not a model config"):
        export_sft(source, tmp_path / "data", FilterConfig(), tokenizer=student)


def test_export_sft_command(source, tmp_path):
    result = CliRunner().invoke(app, ["export-sft", str(source), "--out", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "3 trajectories from 2 file(s)" in text and "dropped: no_improvement" in text
    assert "counted with no tokenizer: characters / 4" in text and "1 chats:" in text
    turns = CliRunner().invoke(app, ["export-sft", str(source), "--out", str(tmp_path / "turns"), "--per-turn"])
    assert turns.exit_code == 0 and f"{len(pq.read_table(tmp_path / 'turns' / 'train.parquet'))} turns:" in turns.output
    empty = CliRunner().invoke(app, ["export-sft", str(tmp_path / "data"), "--out", str(tmp_path / "x")])
    assert empty.exit_code == 1 and "no trajectory JSONL under it" in " ".join(empty.output.split())
