"""The rollout's parts that need no Ray: episode ids, the store, endpoint routing, agent specs, config checks."""

import pytest

from synthml.agents.spec import AgentSpec, agent_spec, build_agent
from synthml.agents.trajectory import Trajectory
from synthml.envs.env import sample_bank
from synthml.errors import SynthMLError
from synthml.tasks.selection import resolve_tasks
from synthml.training.endpoints import EndpointPool, check_endpoints, choose_model
from synthml.training.episodes import plan_episodes
from synthml.training.rollout import _same_episodes, _save_config
from synthml.training.rollout_config import RolloutConfig
from synthml.training.store import ATTEMPTS, Attempt, RolloutStore


def record(episode_id: str, task_id: str = "t") -> Trajectory:
    return Trajectory(episode_id=episode_id, task_id=task_id, agent="baseline", exit_status="submitted",
                      started_at="2026-11-27T00:00:00Z")


def test_episode_ids_and_seeds_are_deterministic_and_grouped_by_task():
    tasks = resolve_tasks(sample_bank()).tasks
    first, again = plan_episodes(tasks, 3, seed=7), plan_episodes(tasks, 3, seed=7)
    assert first == again
    assert len({e.episode_id for e in first}) == len(first) == 3 * len(tasks)
    assert [e.task.id for e in first[:3]] == [tasks[0].id] * 3  # a task's samples are neighbours (GRPO groups)
    assert [e.sample for e in first[:3]] == [0, 1, 2]
    assert len({e.seed for e in first}) == len(first)
    other = plan_episodes(tasks, 3, seed=8)
    assert {e.episode_id for e in other}.isdisjoint(e.episode_id for e in first)
    assert plan_episodes(tasks, 4, seed=7)[:3] == first[:3]  # more samples later: the first ones keep their ids


def test_store_records_each_episode_once_across_shards(tmp_path):
    store = RolloutStore(tmp_path, shard_records=2)
    with store.exclusive():
        assert [store.record(record(f"e{n}")) for n in range(5)] == [True] * 5
        assert store.record(record("e3")) is False
    shards = sorted((tmp_path / "trajectories").glob("part-*.jsonl"))
    assert [len(p.read_text().splitlines()) for p in shards] == [2, 2, 1]
    again = RolloutStore(tmp_path, shard_records=2)
    with again.exclusive():
        assert again.finished() == {f"e{n}" for n in range(5)}
        again.record(record("e5"))
    assert len(shards[-1].read_text().splitlines()) == 2  # the last shard filled up before a new one began


def test_store_cuts_a_line_torn_by_a_kill(tmp_path):
    with RolloutStore(tmp_path).exclusive() as store:
        store.record(record("done"))
    shard = tmp_path / "trajectories" / "part-00000.jsonl"
    shard.write_bytes(shard.read_bytes() + record("torn").model_dump_json()[:40].encode())
    (tmp_path / ATTEMPTS).write_text('{"episode_id": "to')
    with RolloutStore(tmp_path).exclusive() as store:
        assert store.finished() == {"done"}  # the torn episode was never recorded: it runs again
        assert store.attempts() == []
        store.record(record("torn"))
        store.log_attempt(Attempt(episode_id="x", attempt=1, kind="sandbox", error="e", final=False, worker="w",
                                  seconds=0.1))
    assert [t.episode_id for t in RolloutStore(tmp_path).trajectories()] == ["done", "torn"]
    assert [a.episode_id for a in RolloutStore(tmp_path).attempts()] == ["x"]


def test_second_rollout_on_a_store_is_refused(tmp_path):
    second = RolloutStore(tmp_path)
    with RolloutStore(tmp_path).exclusive(), pytest.raises(SynthMLError, match="another rollout is writing"), \
            second.exclusive():
        pass


def test_rollout_refuses_a_store_of_other_episodes(tmp_path):
    config = RolloutConfig(tasks="bank", agent=AgentSpec(name="llm"), model="m", episodes_per_task=2)
    store = RolloutStore(tmp_path)
    assert _same_episodes(store, config) == config  # a new store takes any run
    _save_config(store, config)
    more = config.model_copy(update={"episodes_per_task": 4, "workers": 8, "tasks": "./bank:a,b"})
    assert _same_episodes(store, more) == more  # more samples, other tasks, other workers: the same episodes
    assert _same_episodes(store, config.model_copy(update={"model": None})).model == "m"  # left open: OUT's model
    with pytest.raises(SynthMLError, match=r"holds a rollout with seed 0, not 1.*another --out"):
        _same_episodes(store, config.model_copy(update={"seed": 1}))
    with pytest.raises(SynthMLError, match="holds a rollout with model m, not n"):
        _same_episodes(store, config.model_copy(update={"model": "n"}))
    with pytest.raises(SynthMLError, match="holds a rollout with agent"):
        _same_episodes(store, config.model_copy(update={"agent": AgentSpec(name="llm", loop={"max_steps": 3})}))
    other = AgentSpec(name="llm", llm={"temperature": 0.5}, loop={"max_steps": 3})
    with pytest.raises(SynthMLError) as refused:
        _same_episodes(store, config.model_copy(update={"agent": other}))
    differ = str(refused.value).split("holds a rollout with agent ")[1].split(": its episodes would mix")[0]
    assert differ == "llm.temperature null, not 0.5; loop.max_steps 50, not 3"  # only what differs


def test_endpoint_pool_is_least_loaded_and_sticky_until_released():
    pool = EndpointPool(["a", "b"], check=lambda url: False)
    assert [pool.acquire(), pool.acquire(), pool.acquire()] == ["a", "b", "a"]
    pool.release("a")
    pool.release("a")
    assert pool.acquire() == "a"
    assert pool.acquire(avoid="a") == "b"  # a retry goes elsewhere when it can
    pool.failed("b", "connection refused")
    assert pool.acquire(avoid="a") == "a"
    pool.failed("a", "timeout")
    assert pool.acquire() is None and pool.all_down
    assert not pool.hopeless  # not checked yet
    pool.revive()
    assert pool.hopeless
    assert pool.why_down() == "b: connection refused; a: timeout"


def test_endpoint_pool_waits_for_a_restart_and_takes_back_what_answers():
    state = {"a": None}
    pool = EndpointPool(["a"], check=lambda url: state[url])
    pool.failed("a", "down")
    pool.revive()
    assert pool.all_down and not pool.hopeless  # a launched server restarting: wait
    state["a"] = True
    pool.revive()
    assert pool.acquire() == "a" and not pool.down


def test_dead_endpoint_and_model_choice_errors_say_the_fix():
    with pytest.raises(SynthMLError, match=r"1 of 1 endpoint\(s\) do not answer: http://127.0.0.1:9/v1.*serve-llm"):
        check_endpoints(["http://127.0.0.1:9/v1"])
    assert choose_model({"a": ["m"], "b": ["m", "n"]}, None) == "m"
    with pytest.raises(SynthMLError, match="--model x: not served by a"):
        choose_model({"a": ["m"]}, "x")
    with pytest.raises(SynthMLError, match="serve m, n; pass --model"):
        choose_model({"a": ["m", "n"]}, None)


def test_agent_spec_files(tmp_path):
    path = tmp_path / "agent.yaml"
    path.write_text("name: llm\nmodel: m\nllm: {temperature: 0.5, max_retries: 0}\nloop: {max_steps: 7}\n")
    spec = agent_spec(str(path))
    assert spec.loop.max_steps == 7
    chat = spec.chat_config("http://h/v1", model="ignored")
    assert (chat.model, chat.base_url, chat.temperature, chat.max_retries) == ("m", "http://h/v1", 0.5, 0)
    assert build_agent(agent_spec("baseline")).name == "baseline"
    commands = AgentSpec(name="commands", commands=["ls", "validate"])
    assert build_agent(commands).name == "commands"


@pytest.mark.parametrize(("text", "error"), [
    ("name: llm\nllm: {temprature: 1}\n", r"agent.yaml: llm.*temprature"),
    ("name: llm\nllm: {base_url: http://x}\n", r"llm.base_url: set by the run"),
    ("name: baseline\nmodel: m\n", r"only the llm agent talks to a model"),
    ("name: commands\n", r"needs a non-empty list"),
    ("name: llm\nloop: {max_step: 3}\n", r"loop.max_step"),
    ("name: [llm\n", r"not YAML or JSON"),
])
def test_bad_agent_spec_names_the_file_and_field(tmp_path, text, error):
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    with pytest.raises(SynthMLError, match=error):
        agent_spec(str(path))


def test_unknown_agent_names_the_choices():
    with pytest.raises(SynthMLError, match=r"--agent nope: neither an agent \(baseline, expert, llm, commands\)"):
        agent_spec("nope")


def test_worker_that_cannot_see_a_task_says_so():
    from synthml.training.worker import RolloutWorker

    with pytest.raises(SynthMLError, match=r"worker w on .*: no /nowhere/task .*same path"):
        RolloutWorker(AgentSpec(name="baseline"), name="w").ready([str(sample_bank()), "/nowhere/task"])


@pytest.mark.parametrize(("flags", "error"), [
    (["--agent", "llm"], "--agent llm: give --endpoints URL,... or --vllm MODEL"),
    (["--agent", "baseline", "--endpoints", "http://h/v1"], "the baseline agent uses no model"),
    (["--agent", "llm", "--endpoints", "http://h/v1", "--vllm", "m"], "choose one"),
    (["--agent", "llm", "--server-command", "x {port}"], "--server-command: it starts the servers of --vllm"),
    (["--agent", "llm", "--vllm", "m", "--server-command", "serve {modle} {port}"],
     "--server-command: placeholder 'modle'"),
    (["--agent", "llm", "--vllm", "m", "--server-command", "serve {model}"], "--server-command: the command must"),
])
def test_rollout_flag_mistakes_fail_before_any_work(tmp_path, flags, error):
    from typer.testing import CliRunner

    from synthml.cli import app

    result = CliRunner().invoke(app, ["rollout", "--tasks", str(sample_bank()), "--out", str(tmp_path / "out"),
                                      *flags])
    assert result.exit_code == 1, result.output
    assert error in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
