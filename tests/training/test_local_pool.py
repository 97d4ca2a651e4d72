"""The local episode pool (threads, no Ray) under the shared schedule: several agents into one store, retries
and the attempts log, the stop after a run of failures, Ctrl-C's start-nothing-new, and a whole rollout
without Ray; real sandboxes."""

import json
import subprocess
import sys

import pytest

from synthml.agents.llm import OpenAIChatConfig
from synthml.agents.spec import AgentSpec
from synthml.envs.env import sample_bank
from synthml.envs.sandbox.config import sandbox_config
from synthml.errors import SynthMLError
from synthml.tasks.selection import resolve_tasks
from synthml.training.episodes import Episode, plan_episodes
from synthml.training.local_pool import LocalPool
from synthml.training.pool import INTERRUPTED, STOP_AFTER, Event
from synthml.training.rollout import run_rollout
from synthml.training.rollout_config import RolloutConfig, RolloutResult
from synthml.training.store import RolloutStore
from tests.conftest import REGRESSION

pytestmark = pytest.mark.usefixtures("runtime")
AGENTS = {"baseline": AgentSpec(name="baseline"), "quick": AgentSpec(name="commands", commands=["submit"])}
"""quick submits nothing: its episodes end at once, as `submission_not_found`."""
UNREACHABLE = OpenAIChatConfig(model="nobody", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout_s=5)


def episodes(agent: str, per_task: int) -> list[Episode]:
    [task] = resolve_tasks(f"{sample_bank()}:{REGRESSION}").tasks
    return [e.model_copy(update={"agent": agent, "episode_id": f"{agent}/{e.episode_id}"})
            for e in plan_episodes([task], per_task)]


def play(tmp_path, todo: list[Episode], agents: dict, workers: int = 2, max_attempts: int = 1,
         chat: OpenAIChatConfig | None = None, on_event=None) -> tuple[RolloutResult, RolloutStore]:
    store, result = RolloutStore(tmp_path), RolloutResult(tmp_path, len(todo), 0)
    with store.exclusive(), LocalPool(store, todo, agents, workers, sandbox_config("bwrap"), max_steps=10, chat=chat,
                                      max_attempts=max_attempts) as pool:
        if on_event:  # it may act on the pool (an interrupt)
            pool.on_event = lambda event: on_event(pool, event)
        pool.run(result)
    return result, store


def test_two_agents_play_into_one_store_each_episode_once(tmp_path):
    todo = episodes("baseline", 2) + episodes("quick", 2)
    events: list[Event] = []
    result, store = play(tmp_path, todo, AGENTS, on_event=lambda pool, event: events.append(event))
    assert (result.finished, result.unfinished, result.failures, result.stopped) == (4, 0, {}, None)
    recorded = {t.episode_id: t for t in store.trajectories()}
    assert sorted(recorded) == sorted(e.episode_id for e in todo)
    assert {t.agent for t in recorded.values()} == {"baseline", "commands"}
    assert sorted(t.exit_status.split(" ")[0] for t in recorded.values()) == [
        "submission_not_found", "submission_not_found", "submitted", "submitted"]
    assert {e.worker for e in events} == {"local-0", "local-1"}
    assert [e.kind for e in events].count("finished") == 4


def test_an_endpoint_failure_is_retried_then_logged_never_recorded(tmp_path):
    todo = episodes("llm", 1)
    result, store = play(tmp_path, todo, {"llm": AgentSpec(name="llm")}, workers=1, max_attempts=2,
                         chat=UNREACHABLE)
    assert (result.finished, result.unfinished, result.failures) == (0, 1, {"endpoint": 2})
    assert list(store.trajectories()) == []
    first, second = store.attempts()
    assert (first.attempt, first.final, second.attempt, second.final) == (1, False, 2, True)
    assert first.kind == "endpoint" and "unreachable" in first.error and first.trajectory.infra_error


@pytest.mark.slow
def test_a_run_of_failed_episodes_stops_the_pool_with_the_fix(tmp_path):
    todo = episodes("llm", STOP_AFTER + 2)
    result, store = play(tmp_path, todo, {"llm": AgentSpec(name="llm")}, workers=1, chat=UNREACHABLE)
    assert f"{STOP_AFTER} episodes in a row failed" in result.stopped and "attempts.jsonl" in result.stopped
    assert len(store.attempts()) == STOP_AFTER and result.unfinished == STOP_AFTER + 2


def test_ctrl_c_starts_nothing_new_and_records_what_was_running(tmp_path):
    def interrupt_at_first_start(pool, event: Event) -> None:
        if event.kind == "started":
            pool.interrupted = True

    result, store = play(tmp_path, episodes("quick", 3), AGENTS, workers=1, on_event=interrupt_at_first_start)
    assert (result.finished, result.unfinished, result.stopped) == (1, 2, INTERRUPTED)
    assert len(list(store.trajectories())) == 1


def test_an_episode_of_an_unknown_agent_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(SynthMLError, match=r"agent\(s\) \['expert'\]"):
        LocalPool(RolloutStore(tmp_path), episodes("expert", 1), AGENTS, 1, sandbox_config("bwrap"), 10)


def test_a_rollout_on_the_local_pool_plays_its_plan_without_ray(tmp_path):
    config = RolloutConfig(tasks=f"{sample_bank()}:{REGRESSION}", agent=AGENTS["quick"], episodes_per_task=3,
                           pool="local", workers=2, max_steps=5)
    code = ("import json, sys; from synthml.training.rollout import run_rollout; "
            "from synthml.training.rollout_config import RolloutConfig; "
            f"r = run_rollout(RolloutConfig.model_validate_json({config.model_dump_json()!r}), {str(tmp_path)!r}); "
            "print(json.dumps([r.total, r.finished, r.unfinished, 'ray' in sys.modules]))")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(ran.stdout.splitlines()[-1]) == [3, 3, 0, False]
    planned = {e.episode_id for e in plan_episodes(resolve_tasks(config.tasks).tasks, 3)}
    assert {t.episode_id for t in RolloutStore(tmp_path).trajectories()} == planned  # the ids a Ray rollout uses
    again = run_rollout(config, tmp_path)
    assert (again.before, again.finished) == (3, 0)


@pytest.mark.parametrize(("fields", "error"), [
    ({"server": {"model": "m"}}, "--vllm: servers and clusters are Ray's"),
    ({"address": "auto"}, "--address: servers and clusters are Ray's"),
])
def test_a_local_rollout_refuses_what_only_ray_does(tmp_path, fields, error):
    agent = AgentSpec(name="llm") if "server" in fields else AGENTS["baseline"]
    config = RolloutConfig(tasks=str(sample_bank()), agent=agent, episodes_per_task=1, pool="local", **fields)
    with pytest.raises(SynthMLError, match=error):
        run_rollout(config, tmp_path)


def test_a_local_llm_rollout_checks_its_endpoints_before_any_episode(tmp_path):
    config = RolloutConfig(tasks=str(sample_bank()), agent=AgentSpec(name="llm"), episodes_per_task=1, pool="local",
                           endpoints=[UNREACHABLE.base_url])
    with pytest.raises(SynthMLError, match="--endpoints: 1 of 1 endpoint"):
        run_rollout(config, tmp_path)
    assert list(RolloutStore(tmp_path).trajectories()) == []
