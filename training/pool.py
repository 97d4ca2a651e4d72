"""`WorkerPool`: the rollout driver's Ray side: worker actors, model servers, endpoint routing, the schedule.

Each idle worker gets the next pending episode (`ray.wait` on whatever is in flight), so a slow episode
never holds the others back. A worker that dies is killed for good and replaced; its episode goes back to
the front of the queue, for another worker. An attempt that fails on infrastructure is logged and retried
(on another endpoint if the endpoint was at fault) until `max_attempts`. Endpoints set aside are checked
again every `RECHECK_S`, every `RECHECK_ALL_DOWN_S` while all are down. The pool starts nothing new, lets
running episodes end and says why, after `STOP_AFTER` episodes in a row exhaust their attempts, when every
endpoint is down with no restart coming, on Ctrl-C, or when no worker is left.
"""

import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from synthml.errors import SynthMLError, remote_message
from synthml.training.endpoints import EndpointPool, check_endpoints, choose_model, is_up
from synthml.training.episodes import Episode
from synthml.training.rollout_config import RolloutConfig, RolloutResult
from synthml.training.store import Attempt, RolloutStore
from synthml.training.vllm_server import launch_servers, stop_servers
from synthml.training.worker import Outcome, RolloutWorker

STOP_AFTER = 8
"""Episodes in a row that exhaust their attempts before the run stops (something is broken for all)."""
READY_TIMEOUT_S = 300.0
RESPAWN_TIMEOUT_S = 60.0
RECHECK_S, RECHECK_ALL_DOWN_S = 30.0, 2.0
CHECK_TIMEOUT_S = 30.0
INTERRUPTED = "interrupted (Ctrl-C): running episodes were let finish; run the same command again to go on"


@dataclass(frozen=True)
class Event:
    kind: Literal["started", "finished", "failed"]
    episode_id: str
    worker: str
    result: RolloutResult
    """The run's live counters (the same object all along, updated as the run goes)."""
    failure: str | None = None


@dataclass(frozen=True)
class _Running:
    episode: Episode
    attempt: int
    slot: int
    worker: str
    endpoint: str | None
    started: float


class WorkerPool:
    def __init__(self, config: RolloutConfig, store: RolloutStore, todo: list[Episode],
                 on_event: Callable[[Event], None] | None = None) -> None:
        import ray

        self.ray, self.config, self.store, self.todo, self.on_event = ray, config, store, todo, on_event
        self.prefix = f"synthml-rollout-{uuid.uuid4().hex[:8]}"
        self.model: str | None = config.model
        self.servers: dict[str, Any] = {}
        self.endpoints: EndpointPool | None = None
        self.workers: dict[int, Any] = {}
        self.names: dict[int, str] = {}
        self.interrupted = False
        """Set by a Ctrl-C handler: start nothing new."""
        self._actor = ray.remote(num_cpus=config.cpus_per_worker, max_restarts=0, max_task_retries=0)(RolloutWorker)
        self._spawned, self._checked = 0, 0.0
        self._in_flight: dict[Any, _Running] = {}
        self._task_specs = sorted({episode.task.spec for episode in todo})

    def __enter__(self) -> "WorkerPool":
        try:
            self._check_resources()
            if self.config.server:
                self.servers = launch_servers(self.config.server, self._server_count(), self.prefix)
            if self.config.agent.uses_llm:
                self._set_up_endpoints(list(self.servers) or self.config.endpoints)
            for slot in range(self.config.workers):
                self._spawn(slot)
            self._await_ready(list(self.workers.values()), READY_TIMEOUT_S)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for worker in self.workers.values():
            self.ray.kill(worker)  # its sandbox dies with it
        stop_servers(list(self.servers.values()))
        self.workers, self.servers = {}, {}

    def run(self, result: RolloutResult) -> None:
        """Plays the episodes to do, recording into the store and counting into `result`, until done or stopped."""
        self.result, self._in_a_row = result, 0
        pending: deque[tuple[Episode, int, str | None]] = deque((episode, 1, None) for episode in self.todo)
        idle = sorted(self.workers, reverse=True)
        while self._in_flight or (pending and not result.stopped):
            if self.interrupted and not result.stopped:
                result.stopped = INTERRUPTED
            self._recheck_endpoints()
            while idle and pending and not result.stopped and self._dispatch(pending, idle):
                pass
            if self._in_flight:
                for ref in self.ray.wait(list(self._in_flight), num_returns=1, timeout=1.0)[0]:
                    self._collect(ref, pending, idle)
            elif pending and not result.stopped:
                time.sleep(1.0)  # every endpoint down, a restart coming
        result.unfinished = result.total - result.before - result.finished

    def _dispatch(self, pending: deque, idle: list[int]) -> bool:
        episode, attempt, avoid = pending[0]
        endpoint = self._endpoint(avoid)
        if self.endpoints and endpoint is None:
            return False
        pending.popleft()
        slot = idle.pop()
        ref = self.workers[slot].play.remote(episode, endpoint)
        self._in_flight[ref] = _Running(episode, attempt, slot, self.names[slot], endpoint, time.monotonic())
        self._emit("started", episode, self.names[slot])
        return True

    def _endpoint(self, avoid: str | None) -> str | None:
        """The episode's endpoint; None while all are down, and then, if no restart is coming, the run stops."""
        if self.endpoints is None:
            return None
        url = self.endpoints.acquire(avoid)
        if url is None and self.endpoints.hopeless:
            self.result.stopped = (f"no endpoint is up ({self._why_down()}); the episodes "
                                   f"that failed on them are logged in {self.store.out}/attempts.jsonl, none as an "
                                   "agent failure. Bring an endpoint back and run the same command again")
        return url

    def _why_down(self) -> str:
        """What the endpoints' failures said, and for launched servers where their logs are."""
        where = []
        for server in self.servers.values():
            try:
                where.append(self.ray.get(server.where.remote(), timeout=CHECK_TIMEOUT_S))
            except self.ray.exceptions.RayError as e:
                where.append(f"a server actor is gone ({_first_line(e)})")
        return "; ".join([self.endpoints.why_down(), *where])

    def _recheck_endpoints(self) -> None:
        if not self.endpoints or not self.endpoints.down:
            return
        every = RECHECK_ALL_DOWN_S if self.endpoints.all_down else RECHECK_S
        if time.monotonic() - self._checked >= every:
            self.endpoints.revive()
            self._checked = time.monotonic()

    def _collect(self, ref: Any, pending: deque, idle: list[int]) -> None:
        run = self._in_flight.pop(ref)
        if self.endpoints:
            self.endpoints.release(run.endpoint)
        outcome = self._outcome(ref, run)
        if run.slot in self.workers and outcome.failure:
            idle.insert(0, run.slot)  # last in line: the retry goes to another worker
        elif run.slot in self.workers:
            idle.append(run.slot)
        if outcome.failure is None:
            if self.store.record(outcome.trajectory):
                self.result.finished += 1
                self.result.steps += len(outcome.trajectory.steps)
            self._in_a_row = 0
            self._emit("finished", run.episode, run.worker)
        else:
            self._failed(run, outcome, pending)

    def _outcome(self, ref: Any, run: _Running) -> Outcome:
        """The worker's outcome; a dead worker (replaced here) or a Ray failure is an outcome too."""
        seconds = time.monotonic() - run.started
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayActorError as e:
            self._replace(run.slot)
            return Outcome(None, "worker_died", f"worker {run.worker} died: {_first_line(e)}", seconds)
        except self.ray.exceptions.RayError as e:
            return Outcome(None, "crash", f"{type(e).__name__}: {e}", seconds)

    def _failed(self, run: _Running, outcome: Outcome, pending: deque) -> None:
        self.result.failures = dict(Counter(self.result.failures) + Counter([outcome.failure]))
        final = run.attempt >= self.config.max_attempts
        self.store.log_attempt(Attempt(
            episode_id=run.episode.episode_id, attempt=run.attempt, kind=outcome.failure, error=outcome.error,
            final=final, worker=run.worker, endpoint=run.endpoint, seconds=outcome.seconds,
            trajectory=outcome.trajectory))
        endpoint_failed = outcome.failure == "endpoint" and run.endpoint is not None
        if endpoint_failed and self.endpoints:
            self.endpoints.failed(run.endpoint, _first_line(outcome.error))
        if not final:
            pending.appendleft((run.episode, run.attempt + 1, run.endpoint if endpoint_failed else None))
        else:
            self._in_a_row += 1
            if self._in_a_row >= STOP_AFTER and not self.result.stopped:
                self.result.stopped = (f"{STOP_AFTER} episodes in a row failed {self.config.max_attempts} attempts "
                                       f"each (last: {outcome.failure}: {_first_line(outcome.error)}); see "
                                       f"{self.store.out}/attempts.jsonl, fix the cause and run the same command again")
        self._emit("failed", run.episode, run.worker, outcome.failure)

    def _emit(self, kind: str, episode: Episode, worker: str, failure: str | None = None) -> None:
        if self.on_event:
            self.on_event(Event(kind, episode.episode_id, worker, self.result, failure))

    def _spawn(self, slot: int) -> None:
        config = self.config
        self._spawned += 1
        self.names[slot] = f"{self.prefix}-worker-{self._spawned}"
        self.workers[slot] = self._actor.options(name=self.names[slot]).remote(
            config.agent, config.sandbox, config.max_steps, self.model, self.names[slot])

    def _replace(self, slot: int) -> None:
        """Kills the worker for good (it may only be unreachable) and spawns another; if that one does not come
        up, the slot is dropped, and with no worker left the run stops."""
        self.ray.kill(self.workers[slot])
        self._spawn(slot)
        try:
            self._await_ready([self.workers[slot]], RESPAWN_TIMEOUT_S)
        except SynthMLError as e:
            self.ray.kill(self.workers.pop(slot))
            if not self.workers and not self.result.stopped:
                self.result.stopped = f"no worker left: the last replacement did not start ({e})"

    def _await_ready(self, workers: list, timeout_s: float) -> None:
        try:
            self.ray.get([worker.ready.remote(self._task_specs) for worker in workers], timeout=timeout_s)
        except self.ray.exceptions.GetTimeoutError:
            raise SynthMLError(f"--workers: {len(workers)} worker(s) not placed in {timeout_s:g} s; see `ray status` "
                               "for the cluster's free CPUs") from None
        except self.ray.exceptions.RayError as e:
            raise SynthMLError(remote_message(e)) from None

    def _set_up_endpoints(self, urls: list[str]) -> None:
        key_env = self.config.agent.llm.get("api_key_env", "OPENAI_API_KEY")
        models = check_endpoints(urls, key_env, flag="--vllm" if self.servers else "--endpoints")
        self.model = choose_model(models, self.config.agent.model or self.config.model)
        self.endpoints = EndpointPool(urls, self._server_health if self.servers else lambda url: is_up(url, key_env))

    def _server_health(self, url: str) -> bool | None:
        try:
            return self.ray.get(self.servers[url].health.remote(), timeout=CHECK_TIMEOUT_S)
        except self.ray.exceptions.GetTimeoutError:
            return None
        except self.ray.exceptions.RayError:
            return False

    def _check_resources(self) -> None:
        config, cpus = self.config, self.ray.cluster_resources().get("CPU", 0)
        need = config.workers * config.cpus_per_worker
        if config.server:
            need += self._server_count() * config.server.cpus
        if need > cpus:
            raise SynthMLError(f"--workers {config.workers} x --cpus-per-worker {config.cpus_per_worker:g}"
                               f"{' and the model servers' if config.server else ''} need {need:g} CPUs; the Ray "
                               f"cluster has {cpus:g}: lower --workers or --cpus-per-worker")

    def _server_count(self) -> int:
        server = self.config.server
        if self.config.servers or not server.gpus:
            return self.config.servers or 1
        gpus = self.ray.cluster_resources().get("GPU", 0)
        if gpus < server.gpus:
            raise SynthMLError(f"--gpus-per-server {server.gpus}: the Ray cluster has {gpus:g} GPU(s); join GPU "
                               "nodes (`ray start --address ...`), or pass --gpus-per-server 0 with a "
                               "--server-command that runs on CPU")
        return int(gpus // server.gpus)


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
