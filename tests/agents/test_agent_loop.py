"""The LLM agent loop and the scripted agents on the real env (bwrap sandbox, sample task), ScriptedLLM as model."""

import json

import gymnasium as gym
import pytest
from pydantic import ValidationError

import synthml  # noqa: F401  (registers SynthML-v0)
from synthml.agents.agent_config import AgentConfig
from synthml.agents.llm import Reply, ScriptedLLM, ToolCall
from synthml.agents.loop import LLMAgent, context_chars
from synthml.agents.scripted import BaselineAgent, ReplayAgent
from synthml.agents.templates import OLD_OUTPUT, TOOL_FORMAT
from synthml.agents.trajectory import Trajectory
from synthml.agents.turn import parse_block
from synthml.envs.env import sample_bank
from synthml.errors import SynthMLError
from synthml.usage import Usage
from tests.conftest import CLASSIFICATION, REGRESSION

SUBMISSION = """awk -F, 'NR==1{print "id,progression"} NR>1{print $1",150"}' data/test.csv > submission.csv"""


def block(command: str, discussion: str = "Next step.") -> str:
    return f"DISCUSSION\n{discussion}\n```bash\n{command}\n```"


def tool_call(command: str, call_id: str) -> ToolCall:
    return ToolCall(id=call_id, name="run_command", arguments=json.dumps({"command": command}))


class ToolRecordingLLM(ScriptedLLM):
    """ScriptedLLM that also records the tools each request offered."""

    def __init__(self, replies: list) -> None:
        super().__init__(replies)
        self.tools: list = []

    def complete(self, messages: list[dict], tools: list[dict] | None = None) -> Reply:
        self.tools.append(tools)
        return super().complete(messages, tools)


@pytest.fixture(scope="module")
def env(runtime):
    env = gym.make("SynthML-v0", task=str(sample_bank() / REGRESSION), max_steps=20, command_timeout=10)
    yield env
    env.close()


@pytest.fixture(scope="module")
def baseline(env) -> Trajectory:
    return BaselineAgent().run(env, seed=0)


def test_baseline_agent_runs_the_baseline(baseline, env):
    assert [s.action for s in baseline.steps] == ["python baseline.py", "validate", "submit"]
    assert baseline.exit_status == "submitted" and baseline.agent == "baseline" and baseline.model is None
    assert baseline.final["rmse"] == pytest.approx(env.unwrapped.task.baseline_score)
    assert baseline.scores[0].metrics["rmse"] == pytest.approx(baseline.baseline["validation"])


def test_a_successful_llm_episode(baseline, env):
    llm = ScriptedLLM([block("python baseline.py", "Run the baseline first."), block("validate"),
                       block("submit", "Good enough.")])
    trajectory = LLMAgent(llm).run(env, seed=0, run=2)
    assert [s.action for s in trajectory.steps] == ["python baseline.py", "validate", "submit"]
    assert trajectory.steps[0].thought == "DISCUSSION\nRun the baseline first."
    assert [r.split for r in trajectory.scores] == ["validation", "test"]
    assert trajectory.exit_status == "submitted" and trajectory.final == baseline.final
    assert (trajectory.agent, trajectory.model, trajectory.run, trajectory.agent_errors) == ("llm", "scripted", 2, 0)
    assert trajectory.usage.calls == 3 == len(llm.calls)
    assert trajectory.usage == sum(s.usage for s in trajectory.steps)
    assert trajectory.prompt == llm.calls[0] and "validate" in trajectory.prompt[0]["content"]
    assert "Predict a quantitative measure of diabetes" in trajectory.prompt[1]["content"]
    assert trajectory.config.agent.history_window == 5 and trajectory.config.llm.name == "scripted"
    assert "wrote validation_predictions.csv" in llm.calls[1][-1]["content"]


def test_replay_reproduces_the_baseline_agents_final_score(baseline, env):
    replayed = ReplayAgent(baseline).run(env, seed=0)
    assert [s.action for s in replayed.steps] == [s.action for s in baseline.steps]
    assert replayed.final == baseline.final and replayed.exit_status == "submitted"
    assert replayed.config.model_dump() == {"replays": baseline.trajectory_id}


def test_replay_refuses_another_task(baseline, runtime):
    other = gym.make("SynthML-v0", task=str(sample_bank() / CLASSIFICATION))
    with pytest.raises(SynthMLError, match="options=.*task"):
        ReplayAgent(baseline).run(other, seed=0)
    other.close()


def test_format_errors_are_answered_retried_then_end_the_episode(env):
    llm = ScriptedLLM(["I think I should look around first.", block("ls") + "\nand then\n```\npwd\n```"])
    trajectory = LLMAgent(llm, {"max_format_errors": 2}).run(env, seed=0)
    assert trajectory.agent_errors == 2 and [s.format_error is not None for s in trajectory.steps[:2]] == [True, True]
    assert "no command block" in trajectory.steps[0].format_error
    assert "2 command blocks" in trajectory.steps[1].format_error
    retry = llm.calls[1]
    assert retry[-2] == {"role": "assistant", "content": "I think I should look around first."}
    assert retry[-1]["role"] == "user" and "no command block" in retry[-1]["content"]
    assert trajectory.steps[-1].action == "submit"  # auto-submitted
    assert trajectory.exit_status == "submission_not_found (format_error_limit)"
    assert trajectory.infra_error is None


def test_a_good_reply_after_a_format_error_goes_on_and_forgets_the_bad_one(env):
    llm = ScriptedLLM(["no block", block("submit")])
    trajectory = LLMAgent(llm, {"max_format_errors": 2}).run(env, seed=0)
    assert trajectory.exit_status == "submission_not_found (submit)" and trajectory.agent_errors == 1
    assert [s.action for s in trajectory.steps] == ["", "submit"]


@pytest.mark.parametrize(("limits", "replies", "status"), [
    ({"max_steps": 2}, [block(SUBMISSION), block("ls")], "autosubmission (step_limit)"),
    ({"max_cost": 1.0}, [Reply(text=block(command), usage=Usage(prompt_tokens=9, completion_tokens=3, cost=0.6,
                                                                   calls=1)) for command in ("pwd", "ls")],
     "submission_not_found (cost_limit)"),
    ({"max_tokens_total": 100}, [block("ls")], "submission_not_found (token_limit)"),
    ({"max_context_chars": 6000}, [block("seq 1 3000")], "submission_not_found (context_limit)"),
])
def test_each_limit_auto_submits(env, limits, replies, status):
    llm = ScriptedLLM(replies)
    trajectory = LLMAgent(llm, limits).run(env, seed=0)
    assert len(llm.calls) == len(replies)  # the limit stopped the loop before another call
    assert trajectory.exit_status == status
    assert [s.action for s in trajectory.steps] == [*(parse_block(r if isinstance(r, str) else r.text).command
                                                      for r in replies), "submit"]
    assert (trajectory.final is not None) == status.startswith("autosubmission")
    if "max_context_chars" in limits:
        assert context_chars(llm.calls[0]) <= 6000 < context_chars(llm.calls[0]) + len(trajectory.steps[0].observation)


def test_native_tool_calling(env):
    llm = ToolRecordingLLM([
        Reply(text="Look around first.", tool_calls=[tool_call("ls data", "c1")]),
        Reply(text="Two at once.", tool_calls=[tool_call("ls", "c2"), tool_call("pwd", "c3")]),
        Reply(tool_calls=[tool_call("submit", "c4")]),
    ])
    trajectory = LLMAgent(llm, {"tool_calling": True}).run(env, seed=0)
    assert [s.action for s in trajectory.steps] == ["ls data", "", "submit"]
    assert trajectory.exit_status == "submission_not_found (submit)" and trajectory.agent_errors == 1
    assert "train.csv" in trajectory.steps[0].observation and "[tool call run_command" in trajectory.steps[1].thought
    assert [tools[0]["function"]["name"] for tools in llm.tools] == ["run_command"] * 3
    assert TOOL_FORMAT in llm.calls[0][0]["content"] and trajectory.steps[0].thought == "Look around first."
    answer = llm.calls[1][-1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == "c1" and "Current step: 1" in answer["content"]
    assert llm.calls[1][-2]["tool_calls"][0]["function"]["arguments"] == json.dumps({"command": "ls data"})
    retry = llm.calls[2]
    assert [(m["role"], m.get("tool_call_id")) for m in retry[-2:]] == [("tool", "c2"), ("tool", "c3")]
    assert "2 tool calls" in retry[-1]["content"]


def test_old_observations_are_elided_beyond_the_history_window(env):
    commands = [f"seq {n} {n + 4}" for n in (1, 11, 21, 31)]
    llm = ScriptedLLM([block(command) for command in commands])
    trajectory = LLMAgent(llm, {"history_window": 2, "max_steps": 4}).run(env, seed=0)
    assert trajectory.exit_status == "submission_not_found (step_limit)"
    last = llm.calls[3]
    assert last[:2] == llm.calls[0][:2]  # system and task messages whole
    observations = [m["content"] for m in last[2:] if m["role"] == "user"]
    full_first = llm.calls[1][-1]["content"]
    assert observations[0] == OLD_OUTPUT.format(lines=len(full_first.splitlines()))
    assert observations[1].startswith("11\n12\n13") and observations[2].startswith("21\n22\n23")
    assert [m["content"] for m in last if m["role"] == "assistant"] == [block(c) for c in commands[:3]]


def test_an_endpoint_failure_is_an_infra_error(env):
    llm = ScriptedLLM([block("ls")])  # its second call raises LLMError, like an endpoint that went down
    trajectory = LLMAgent(llm).run(env, seed=0)
    assert trajectory.exit_status == "infra_error" and "ran out of replies" in trajectory.infra_error
    assert [s.action for s in trajectory.steps] == ["ls"] and trajectory.final is None
    assert trajectory.agent_errors == 0 and trajectory.reward == 0.0


def test_a_sandbox_that_cannot_start_never_calls_the_model(runtime):
    env = gym.make("SynthML-v0", task=str(sample_bank() / REGRESSION), sandbox={"type": "bwrap", "bwrap": "no-bwrap"})
    llm = ScriptedLLM([block("submit")])
    trajectory = LLMAgent(llm).run(env, seed=0)
    assert llm.calls == [] and trajectory.exit_status == "infra_error" and trajectory.agent_errors == 0


def test_agent_config_rejects_unknown_fields_and_placeholders():
    with pytest.raises(ValidationError, match="max_stepz"):
        AgentConfig(max_stepz=3)
    with pytest.raises(ValidationError, match=r"system_template: placeholder 'tools'.*\{command_docs\}"):
        AgentConfig(system_template="Use {tools}.")
    assert AgentConfig(next_step_template="{observation}").next_step_template == "{observation}"


def test_parse_block_takes_the_discussion_and_the_one_command():
    edit = "edit 3:4\n    x = 1\nend_of_edit"
    parsed = parse_block(f"Fix line 3.\n```\n{edit}\n```\n")
    assert parsed == ("Fix line 3.", edit, None)
    assert "empty" in parse_block("```\n\n```").error


def test_every_agent_a_spec_names_is_an_agent():
    from synthml.agents.agent import Agent
    from synthml.agents.llm import OpenAIChatConfig
    from synthml.agents.spec import AGENT_NAMES, AgentSpec, build_agent

    endpoint = OpenAIChatConfig(model="m", base_url="http://127.0.0.1:9/v1")
    agents = [build_agent(AgentSpec(name=name, commands=["ls"] if name == "commands" else []), endpoint)
              for name in AGENT_NAMES]
    assert all(isinstance(agent, Agent) for agent in agents)
    assert [agent.name for agent in agents] == ["baseline", "expert", "llm", "commands"]
