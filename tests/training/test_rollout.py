"""Rollouts on a real local Ray (num_cpus=2) over a generated bank, in the bubblewrap sandbox: every episode
once, a worker killed mid-episode, the whole rollout killed and started again, endpoints that are down,
and the LLM agent through the real local model server, started by the launcher (llm_local)."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from synthml.agents.spec import AgentSpec
from synthml.errors import SynthMLError
from synthml.process import free_port
from synthml.task_bank.generate import generate
from synthml.tasks.selection import resolve_tasks
from synthml.training.episodes import plan_episodes
from synthml.training.rollout import run_rollout
from synthml.training.rollout_config import RolloutConfig
from synthml.training.store import RolloutStore
from tests.llm_local import llm_local

ray = pytest.importorskip("ray", reason="needs the ray extra: pip install -e '.[dev]' (or '.[ray]')")
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("runtime")]
SLOW_EPISODE = AgentSpec(name="commands", commands=["sleep 3", "validate", "submit"])


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray of two CPUs; rollouts in this process join it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def bank(runtime, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rollout-bank") / "bank"
    # Program families, whose candidates are accepted (CSV ones are now mostly rejected as saturated); the
    # scripted and LLM agents play any task.
    summary = generate(out, 3, seed=0, workers=1, families=["games", "heuristics", "training_program"])
    assert len(summary.accepted) == 3, [(e.task_id, e.report.rejections) for e in summary.rejected]
    return out


def config(bank: Path, agent: AgentSpec, k: int = 2, **fields) -> RolloutConfig:
    return RolloutConfig(**{"tasks": str(bank), "agent": agent, "episodes_per_task": k, "max_steps": 20, **fields})


def planned(rollout: RolloutConfig) -> set[str]:
    tasks = resolve_tasks(rollout.tasks).tasks
    return {e.episode_id for e in plan_episodes(tasks, rollout.episodes_per_task, rollout.seed)}


def recorded(out: Path) -> list[str]:
    return [t.episode_id for t in RolloutStore(out).trajectories()]


def test_scripted_rollout_records_every_episode_once(ray_cluster, bank, tmp_path):
    rollout = config(bank, AgentSpec(name="baseline"))
    events = []
    result = run_rollout(rollout, tmp_path, on_event=events.append)
    assert (result.total, result.before, result.finished, result.unfinished) == (6, 0, 6, 0)
    assert result.failures == {} and result.stopped is None
    assert sorted(recorded(tmp_path)) == sorted(planned(rollout))
    trajectories = list(RolloutStore(tmp_path).trajectories())
    assert {t.exit_status for t in trajectories} == {"submitted"}
    assert result.steps == sum(len(t.steps) for t in trajectories) == 18
    plan = {e.episode_id: e for e in plan_episodes(resolve_tasks(rollout.tasks).tasks, 2)}
    assert all((t.run, t.seed, t.task_id) == (plan[t.episode_id].sample, plan[t.episode_id].seed,
                                              plan[t.episode_id].task.id) for t in trajectories)
    assert len({e.worker for e in events}) == 2  # both workers played
    assert [e.kind for e in events].count("finished") == 6

    again = run_rollout(rollout, tmp_path)
    assert (again.before, again.finished) == (6, 0)
    assert len(recorded(tmp_path)) == 6

    more = run_rollout(rollout.model_copy(update={"episodes_per_task": 3}), tmp_path)
    assert (more.total, more.before, more.finished) == (9, 6, 3)  # the third sample of each task, nothing else
    assert sorted(recorded(tmp_path)) == sorted(planned(rollout.model_copy(update={"episodes_per_task": 3})))


def test_killed_worker_episode_is_retried_and_recorded_once(ray_cluster, bank, tmp_path):
    rollout = config(bank, SLOW_EPISODE, k=1)
    killed = []

    def kill_first_worker(event):
        if event.kind == "started" and not killed:
            killed.append(event.episode_id)
            threading.Timer(1.0, ray.kill, [ray.get_actor(event.worker)]).start()  # mid `sleep 3`

    result = run_rollout(rollout, tmp_path, on_event=kill_first_worker)
    assert result.failures == {"worker_died": 1}
    assert (result.finished, result.unfinished) == (3, 0)
    assert sorted(recorded(tmp_path)) == sorted(planned(rollout))  # nothing lost, nothing twice
    attempts = RolloutStore(tmp_path).attempts()
    assert [(a.episode_id, a.attempt, a.kind, a.final) for a in attempts] == [(killed[0], 1, "worker_died", False)]
    assert "died" in attempts[0].error
    retried = next(t for t in RolloutStore(tmp_path).trajectories() if t.episode_id == killed[0])
    # an agent outcome: played again to its end, it submits the task's starter program (a program task's
    # workspace holds its submission file from the start)
    assert retried.exit_status == "submitted" and retried.infra_error is None


def test_killed_rollout_restarted_plays_exactly_the_remainder(ray_cluster, bank, tmp_path):
    """The CLI joins the test's Ray (--address); SIGKILL once two episodes are on disk, then the same command."""
    out = tmp_path / "out"
    command = [str(Path(sys.executable).parent / "synthml"), "rollout", "--tasks", str(bank), "--agent", "baseline",
               "--episodes-per-task", "3", "--workers", "2", "--max-steps", "20", "--out", str(out),
               "--address", ray_cluster]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    shard = out / "trajectories" / "part-00000.jsonl"
    deadline = time.monotonic() + 120
    while not (shard.is_file() and len(shard.read_bytes().splitlines()) >= 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shard.is_file(), "no episode was recorded in 120 s"
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_before = len(recorded(out))
    assert 2 <= done_before < 9

    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{9 - done_before} episode(s) finished this run, {done_before} before, 0 unfinished, of 9" in \
        " ".join(second.stdout.split())
    ids = recorded(out)
    assert len(ids) == len(set(ids)) == 9


def test_ctrl_c_lets_running_episodes_finish_and_a_rerun_plays_the_rest(ray_cluster, bank, tmp_path):
    spec = tmp_path / "slow.yaml"
    spec.write_text(SLOW_EPISODE.model_dump_json())
    out = tmp_path / "out"
    command = [str(Path(sys.executable).parent / "synthml"), "rollout", "--tasks", str(bank), "--agent", str(spec),
               "--episodes-per-task", "2", "--workers", "2", "--out", str(out), "--address", ray_cluster]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    shard = out / "trajectories" / "part-00000.jsonl"
    deadline = time.monotonic() + 120
    while not (shard.is_file() and shard.read_bytes().count(b"\n") >= 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    done_before = len(recorded(out))
    assert done_before >= 2, "no two episodes were recorded in 120 s"
    os.killpg(first.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole foreground group
    output, _ = first.communicate(timeout=120)
    assert first.returncode == 1 and "interrupted (Ctrl-C)" in output, output
    # Those running finished and nothing new started: at most one more per worker. How many were running at the
    # Ctrl-C (none, if the driver had not handed out the next ones yet) is timing, so it is not asserted.
    assert done_before <= len(recorded(out)) <= done_before + 2 < 6
    assert RolloutStore(out).attempts() == []

    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert sorted(recorded(out)) == sorted(planned(config(bank, SLOW_EPISODE)))


def test_server_that_cannot_start_is_a_clear_error_and_leaves_nothing(ray_cluster):
    from synthml.training.vllm_server import ServerSpec, launch_servers

    spec = ServerSpec(model="m", gpus=0, cpus=0.5, command="sh -c 'echo no GPU here; exit 3' {port}", max_restarts=0)
    with pytest.raises(SynthMLError, match=r"(?s)a model server failed to start: model server .* exited with 3 .*"
                                           r"no GPU here"):
        launch_servers(spec, 2, "broken")
    deadline = time.monotonic() + 30
    while _alive(["broken-server-0", "broken-server-1"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(["broken-server-0", "broken-server-1"])


def _alive(names: list[str]) -> list[str]:
    alive = []
    for name in names:
        try:
            ray.get_actor(name)
        except ValueError:  # no live actor has that name
            continue
        alive.append(name)
    return alive


def test_endpoint_down_is_a_clear_error_before_any_episode(ray_cluster, bank, tmp_path):
    rollout = config(bank, AgentSpec(name="llm", model="m"), endpoints=["http://127.0.0.1:9/v1"])
    with pytest.raises(SynthMLError, match=r"http://127.0.0.1:9/v1: GET /models failed.*Start the server"):
        run_rollout(rollout, tmp_path)
    assert recorded(tmp_path) == [] and RolloutStore(tmp_path).attempts() == []


def test_more_workers_than_the_cluster_has_cpus_is_a_clear_error(ray_cluster, bank, tmp_path):
    with pytest.raises(SynthMLError, match=r"--workers 3 x --cpus-per-worker 1 need 3 CPUs; the Ray cluster has 2"):
        run_rollout(config(bank, AgentSpec(name="baseline"), workers=3), tmp_path)


LLM_AGENT = AgentSpec(name="llm", llm={"max_tokens": 32, "temperature": 0.0, "max_retries": 0, "timeout_s": 120},
                      loop={"max_steps": 1, "system_template": "Answer with one shell command in a fenced block."})
"""One short reply per episode: a 135M model on one CPU thread reads about 190 prompt tokens a second."""
SERVE_LLM = "synthml serve-llm --host {host} --port {port} --threads 2"


@llm_local
def test_llm_rollout_through_a_server_the_launcher_starts(ray_cluster, bank, tmp_path):
    from synthml.training.vllm_server import ServerSpec

    server = ServerSpec(model="smollm2", gpus=0, cpus=1, command=SERVE_LLM, ready_timeout_s=120)
    rollout = config(bank, LLM_AGENT, k=1, server=server, workers=1, max_steps=3,
                     tasks=f"{bank}:{resolve_tasks(bank).tasks[0].id}")
    result = run_rollout(rollout, tmp_path)
    assert (result.finished, result.failures) == (1, {}), RolloutStore(tmp_path).attempts()
    [trajectory] = RolloutStore(tmp_path).trajectories()
    assert trajectory.model == "SmolLM2-135M-Instruct.Q4_1" and trajectory.infra_error is None
    node = ray.nodes()[0]["NodeManagerAddress"]
    assert trajectory.usage.calls >= 1 and trajectory.config.llm.base_url.startswith(f"http://{node}:")


@llm_local
def test_launcher_restarts_a_server_that_dies(ray_cluster):
    from synthml.training.vllm_server import ServerSpec, launch_servers, stop_servers

    spec = ServerSpec(model="smollm2", gpus=0, cpus=1, command=SERVE_LLM, ready_timeout_s=120)
    [(url, server)] = launch_servers(spec, 1, "restart-test").items()
    try:
        pid = ray.get(server.pid.remote())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while ray.get(server.pid.remote()) in (pid, None) and time.monotonic() < deadline:
            time.sleep(0.5)
        while ray.get(server.health.remote()) is not True and time.monotonic() < deadline:
            time.sleep(0.5)
        assert ray.get(server.health.remote()) is True
        assert ray.get(server.pid.remote()) != pid and ray.get(server.base_url.remote()) == url
        assert ray.get(server.models.remote()) == ["SmolLM2-135M-Instruct.Q4_1"]
        assert "restart" not in ray.get(server.where.remote())  # up, not given up
    finally:
        stop_servers([server])


@llm_local
def test_endpoint_that_dies_mid_rollout_stops_it_and_a_rerun_finishes(ray_cluster, bank, tmp_path):
    from synthml.agents.serve import local_server

    port = free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}/v1"
    rollout = config(bank, LLM_AGENT, k=1, endpoints=[url], workers=1, max_steps=3,
                     tasks=f"{bank}:{','.join(t.id for t in resolve_tasks(bank).tasks[:2])}")
    with local_server(port=port, threads=2) as server:
        def stop_server(event):
            if event.kind == "started":
                server.stop()

        result = run_rollout(rollout, tmp_path, on_event=stop_server)
    assert result.stopped and "no endpoint is up" in result.stopped and url in result.stopped
    assert result.finished == 0 and result.unfinished == 2
    attempts = RolloutStore(tmp_path).attempts()
    assert attempts and {a.kind for a in attempts} == {"endpoint"} and attempts[0].endpoint == url
    assert recorded(tmp_path) == []  # marked as infrastructure failures, never as the agent's

    with local_server(port=port, threads=2):
        again = run_rollout(rollout, tmp_path)
    assert (again.before, again.finished, again.unfinished, again.stopped) == (0, 2, 0, None)
    assert sorted(recorded(tmp_path)) == sorted(planned(rollout))


