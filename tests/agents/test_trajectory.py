"""Trajectories: the recorder on the real env (bwrap sandbox, sample task), the JSONL store, the exports."""

import json
from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import pytest

import synthml  # noqa: F401  (registers SynthML-v0)
from synthml.agents.agent_record import AgentRecord
from synthml.agents.scripted import BaselineAgent
from synthml.agents.trajectory import (
    EpisodeRecorder,
    Trajectory,
    append_trajectory,
    read_trajectories,
    results_json,
    to_swe_agent_traj,
)
from synthml.envs.env import sample_bank
from synthml.errors import SynthMLError
from tests.conftest import REGRESSION

CONSTANT_SUBMISSION = """awk -F, 'NR==1{print "id,progression"} NR>1{print $1",150"}' data/test.csv > submission.csv"""
CONSTANT_VALIDATION = ("awk -F, 'NR==1{print \"id,progression\"} NR>1{print $1\",150\"}' data/validation.csv "
                       "> validation_predictions.csv")


@pytest.fixture(scope="module")
def env(runtime):
    env = gym.make("SynthML-v0", task=str(sample_bank() / REGRESSION), max_steps=10, command_timeout=10)
    yield env
    env.close()


@pytest.fixture(scope="module")
def recorded(env) -> Trajectory:
    """A real episode: constant predictions written, validated, submitted."""
    recorder = EpisodeRecorder(env, "scripted-test", run=3, config={"note": "constant predictions"})
    recorder.reset(seed=7)
    for action in (CONSTANT_SUBMISSION, CONSTANT_VALIDATION, "validate", "submit"):
        recorder.step(action, thought=f"thinking about {action.split()[0]}")
    return recorder.finish()


def test_recorder_records_steps_scores_and_the_final_evaluation(recorded, env):
    task = env.unwrapped.task
    assert [s.action.split()[0] for s in recorded.steps] == ["awk", "awk", "validate", "submit"]
    assert [s.index for s in recorded.steps] == [0, 1, 2, 3]
    assert [s.score is not None for s in recorded.steps] == [False, False, True, True]
    assert [r.split for r in recorded.scores] == ["validation", "test"]
    assert recorded.scores[1].metrics == recorded.final and recorded.final["rmse"] > task.baseline_score
    assert recorded.exit_status == "submitted" and recorded.steps[-1].exit_status == "submitted"
    assert recorded.reward == recorded.steps[-1].reward < 0  # constant predictions are worse than the baseline
    assert (recorded.task_id, recorded.task_version, recorded.metric, recorded.direction) == (
        REGRESSION, task.version, "rmse", -1)
    assert recorded.baseline == {"validation": task.baseline_validation_score, "test": task.baseline_score}
    assert (recorded.run, recorded.seed, recorded.agent, recorded.model) == (3, 7, "scripted-test", None)
    assert recorded.infra_error is None and recorded.agent_errors == 0 and recorded.usage.calls == 0
    assert recorded.seconds >= sum(s.seconds for s in recorded.steps) > 0
    assert recorded.steps[2].thought == "thinking about validate"


def test_finish_auto_submits_and_keeps_the_agents_reason(env):
    recorder = EpisodeRecorder(env, "quitter")
    recorder.reset(seed=0)
    recorder.step("ls")
    assert not recorder.done
    trajectory = recorder.finish("cost_limit")
    assert recorder.done and [s.action for s in trajectory.steps] == ["ls", "submit"]
    assert trajectory.exit_status == "submission_not_found (cost_limit)" and trajectory.final is None
    assert trajectory.reward == -1.0 and recorder.finish("other") is trajectory
    with pytest.raises(gym.error.ResetNeeded):
        recorder.step("ls")


def test_format_errors_are_steps_without_an_env_action(env):
    recorder = EpisodeRecorder(env, "sloppy")
    recorder.reset(seed=0)
    recorder.format_error("no command here", "your reply has no command block")
    recorder.step("submit")
    trajectory = recorder.finish()
    assert trajectory.agent_errors == 1 and trajectory.steps[0].format_error == "your reply has no command block"
    assert trajectory.steps[0].action == "" and trajectory.steps[0].thought == "no command here"
    assert trajectory.exit_status == "submission_not_found (submit)"


def test_a_sandbox_that_cannot_start_is_an_infra_error(runtime):
    env = gym.make("SynthML-v0", task=str(sample_bank() / REGRESSION), sandbox={"type": "bwrap", "bwrap": "no-bwrap"})
    trajectory = BaselineAgent().run(env, seed=0)
    assert trajectory.exit_status == "infra_error" and "bubblewrap" in trajectory.infra_error
    recorder = EpisodeRecorder(env, "careless")  # an agent that steps without checking `done` is told, not crashed
    _, info = recorder.reset(seed=0)
    assert recorder.done and (info["task_id"], info["exit_status"]) == (REGRESSION, "infra_error")
    assert "Infrastructure error" in recorder.step("ls")[0] and recorder.steps == []
    assert trajectory.steps == [] and trajectory.final is None and trajectory.agent_errors == 0
    assert trajectory.task_id == REGRESSION and trajectory.reward == 0.0


def test_a_sandbox_that_dies_mid_episode_ends_it_unscored(env):
    recorder = EpisodeRecorder(env, "victim")
    recorder.reset(seed=0)
    recorder.step(CONSTANT_SUBMISSION)
    env.unwrapped._session.box.close()  # the infrastructure fails under the agent
    observation, _, _, truncated, _ = recorder.step("ls")
    assert recorder.done and truncated and "Infrastructure error" in observation
    trajectory = recorder.finish("step_limit")
    assert trajectory.exit_status == "infra_error" and "sandbox is closed" in trajectory.infra_error
    assert [s.action for s in trajectory.steps] == [CONSTANT_SUBMISSION, "ls"]  # no auto-submission after it
    assert trajectory.final is None and trajectory.agent_errors == 0 and trajectory.steps[-1].score is None


def test_the_recorder_refuses_a_secret_in_the_config(env):
    with pytest.raises(SynthMLError, match=r"config\.llm\.api_key"):
        EpisodeRecorder(env, "leaky", config={"llm": {"model": "m", "api_key": "sk-123"}})
    with pytest.raises(SynthMLError, match=r"config\.agent\.token") as refused:  # AgentConfig would refuse it too,
        EpisodeRecorder(env, "leaky", config={"agent": {"token": "sk-123"}})  # echoing the value
    assert "sk-123" not in str(refused.value)


def test_the_recorder_refuses_a_secret_anywhere_in_a_typed_record(env):
    chat = {"name": "m", "type": "openai", "model": "m", "extra_body": {"Authorization": "Bearer sk-123"}}
    with pytest.raises(SynthMLError, match=r"config\.llm\.extra_body\.Authorization"):
        EpisodeRecorder(env, "leaky", config=AgentRecord(llm=chat))
    with pytest.raises(SynthMLError, match=r"config\.notes\[1\]\.password"):
        EpisodeRecorder(env, "leaky", config=AgentRecord(notes=["fine", {"password": "hunter2"}]))


def test_jsonl_round_trip(recorded, tmp_path):
    path = tmp_path / "runs" / "trajectories.jsonl"
    other = recorded.model_copy(update={"trajectory_id": "b" * 32, "run": 4})
    append_trajectory(path, recorded)
    append_trajectory(path, other)
    assert path.read_text().count("\n") == 2
    assert read_trajectories(path) == [recorded, other]


def test_concurrent_appends_keep_every_line_whole(recorded, tmp_path):
    path = tmp_path / "trajectories.jsonl"
    copies = [recorded.model_copy(update={"run": n}) for n in range(40)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: append_trajectory(path, t), copies))
    assert sorted(t.run for t in read_trajectories(path)) == list(range(40))


def test_a_malformed_line_names_the_file_the_line_and_the_fix(recorded, tmp_path):
    path = tmp_path / "trajectories.jsonl"
    append_trajectory(path, recorded)
    with open(path, "a") as f:
        f.write('{"schema_version": 1, "agent": "x"')  # a writer died mid-line
    append_trajectory(path, recorded)  # starts a new line: the crash costs only its own line
    with pytest.raises(SynthMLError, match=rf"{path}:2: not a trajectory .*delete or repair this line"):
        read_trajectories(path)
    lines = path.read_text().splitlines()
    assert Trajectory.model_validate_json(lines[2]) == recorded


def test_another_schema_version_is_named(recorded, tmp_path):
    path = tmp_path / "future.jsonl"
    path.write_text(json.dumps({**json.loads(recorded.model_dump_json()), "schema_version": 2}) + "\n")
    with pytest.raises(SynthMLError, match=r"future\.jsonl:1: trajectory schema_version 2.*reads version 1"):
        read_trajectories(path)


def test_swe_agent_traj_export(recorded):
    traj = json.loads(json.dumps(to_swe_agent_traj(recorded)))  # plain JSON
    assert set(traj) == {"environment", "trajectory", "history", "info"} and traj["environment"] == "SynthML-v0"
    first = traj["trajectory"][0]
    assert set(first) == {"action", "observation", "response", "thought", "execution_time", "state"}
    assert [s["action"] for s in traj["trajectory"]] == [s.action for s in recorded.steps]
    assert first["response"] == f"thinking about awk\n```\n{CONSTANT_SUBMISSION}\n```"
    assert [m["role"] for m in traj["history"]] == ["assistant", "user"] * 4
    assert traj["history"][-1]["content"] == recorded.steps[-1].observation
    info = traj["info"]
    assert info["exit_status"] == "submitted" and info["score"] == [r.metrics for r in recorded.scores]
    assert info["model_stats"] == {"total_cost": 0.0, "task_cost": 0.0, "instance_cost": 0.0, "tokens_sent": 0,
                                   "tokens_received": 0, "api_calls": 0}


def test_results_json_export(recorded, env):
    results = results_json(recorded)
    assert results == {"agent": [recorded.scores[0].metrics, recorded.final],
                       "baseline": env.unwrapped.task.config.baseline_scores[0]}
    assert results["baseline"]["rmse"] == pytest.approx(recorded.baseline["test"])

