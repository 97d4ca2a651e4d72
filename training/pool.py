"""`WorkerPool`: the rollout driver's Ray side: worker actors, model servers, endpoint routing, the schedule.

Each free worker gets the next pending episode (`ray.wait` on whatever is in flight), so a slow episode
never holds the others back. A worker that dies is replaced; its episode goes back to the front of the
queue. An attempt that fails on infrastructure is logged and retried (on another endpoint if it was the
endpoint's fault) until `max_attempts`; after `STOP_AFTER` episodes in a row give up, or when no
endpoint is up, the pool starts nothing new, lets running episodes end, and says why.
"""

import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from synthml.errors import SynthMLError, remote_message
from synthml.training.endpoints import EndpointPool, answers, check_endpoints, choose_model
from synthml.training.episodes import Episode
from synthml.training.store import Attempt, RolloutStore
from synthml.training.vllm_server import launch_servers
from synthml.training.worker import Outcome, RolloutWorker

if TYPE_CHECKING:
    from synthml.training.rollout import RolloutConfig, RolloutResult

STOP_AFTER = 8
"""Episodes in a row that exhaust their attempts before the run stops (something is broken for all)."""
READY_TIMEOUT_S = 300.0
INTERRUPTED = "interrupted (Ctrl-C): running episodes were let finish; run the same command again to go on"


@dataclass(frozen=True)
class Event:
    kind: Literal["started", "finished", "failed"]
    episode_id: str
    worker: str
    result: "RolloutResult"
    """The run's counters so far."""
    failure: str | None = None


@dataclass(frozen=True)
class _Running:
    episode: Episode
    attempt: int
    slot: int
    endpoint: str | None
    started: float


class WorkerPool:
    def __init__(self, config: "RolloutConfig", store: RolloutStore, todo: list[Episode],
                 on_event: Callable[[Event], None] | None = None) -> None:
        import ray

        self.ray, self.config, self.store, self.todo, self.on_event = ray, config, store, todo, on_event
        self.prefix = f"synthml-rollout-{uuid.uuid4().hex[:8]}"
        self.servers: dict[str, Any] = {}
        self.endpoints: EndpointPool | None = None
        self.model: str | None = config.model
        self.workers: dict[int, Any] = {}
        self.names: dict[int, str] = {}
        self._spawned = 0
        self._in_flight: dict[Any, _Running] = {}

    def __enter__(self) -> "WorkerPool":
        try:
            self._check_resources()
            if self.config.server:
                self.servers = launch_servers(self.config.server, self._server_count(), self.prefix)
            if self.config.agent.uses_llm:
                self._route(list(self.servers) or self.config.endpoints)
            for slot in range(self.config.workers):
                self._spawn(slot)
            self._await_workers(sorted({episode.task.spec for episode in self.todo}))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in [*self.workers.values(), *self.servers.values()]:
            self.ray.kill(handle)  # a server dies with its actor; a sandbox with its worker
        self.workers, self.servers = {}, {}

    def run(self, result: "RolloutResult") -> None:
        """Plays the episodes to do, recording into the store and counting into `result`, until done or stopped."""
        self.result, self._in_a_row = result, 0
        pending: deque[tuple[Episode, int, str | None]] = deque((episode, 1, None) for episode in self.todo)
        free = sorted(self.workers, reverse=True)
        while self._in_flight or (pending and not result.stopped):
            try:
                while free and pending and not result.stopped and self._dispatch(pending, free):
                    pass
                ready = self.ray.wait(list(self._in_flight), num_returns=1, timeout=1.0)[0] if self._in_flight else []
                for ref in ready:
                    self._collect(ref, pending, free)
            except KeyboardInterrupt:
                if result.stopped == INTERRUPTED:
                    raise
                result.stopped = INTERRUPTED
        result.unfinished = result.total - result.before - result.finished

    def _dispatch(self, pending: deque, free: list[int]) -> bool:
        episode, attempt, avoid = pending[0]
        endpoint = self._endpoint(avoid)
        if self.endpoints and endpoint is None:
            return False
        pending.popleft()
        slot = free.pop()
        ref = self.workers[slot].play.remote(episode, endpoint)
        self._in_flight[ref] = _Running(episode, attempt, slot, endpoint, time.monotonic())
        self._emit("started", episode, slot)
        return True

    def _endpoint(self, avoid: str | None) -> str | None:
        """The episode's endpoint; when none is up, asks them again, then stops the run if still none."""
        if self.endpoints is None:
            return None
        url = self.endpoints.acquire(avoid)
        if url is None and self.endpoints.revive():
            url = self.endpoints.acquire(avoid)
        if url is None:
            self.result.stopped = (f"no endpoint is up ({self.endpoints.why_down()}); the episodes that failed on "
                                   f"them are logged in {self.store.out}/attempts.jsonl, none as an agent failure. "
                                   "Bring an endpoint back and run the same command again")
        return url

    def _collect(self, ref: Any, pending: deque, free: list[int]) -> None:
        run = self._in_flight.pop(ref)
        if self.endpoints:
            self.endpoints.release(run.endpoint)
        outcome = self._outcome(ref, run)
        free.append(run.slot)
        if outcome.failure is None:
            if self.store.record(outcome.trajectory):
                self.result.finished += 1
                self.result.steps += len(outcome.trajectory.steps)
            self._in_a_row = 0
            self._emit("finished", run.episode, run.slot)
        else:
            self._failed(run, outcome, pending)

    def _outcome(self, ref: Any, run: _Running) -> Outcome:
        """The worker's outcome; a dead worker (replaced here) or a Ray failure is an outcome too."""
        seconds = time.monotonic() - run.started
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayActorError as e:
            name = self.names[run.slot]
            self._spawn(run.slot)
            return Outcome(None, "worker_died", f"worker {name} died: {_first_line(e)}", seconds)
        except self.ray.exceptions.RayError as e:
            return Outcome(None, "crash", f"{type(e).__name__}: {e}", seconds)

    def _failed(self, run: _Running, outcome: Outcome, pending: deque) -> None:
        failures = Counter(self.result.failures)
        failures[outcome.failure] += 1
        self.result.failures = dict(failures)
        final = run.attempt >= self.config.max_attempts
        self.store.log_attempt(Attempt(
            episode_id=run.episode.episode_id, attempt=run.attempt, kind=outcome.failure, error=outcome.error,
            final=final, worker=self.names.get(run.slot, "?"), endpoint=run.endpoint, seconds=outcome.seconds,
            trajectory=outcome.trajectory))
        if outcome.failure == "endpoint" and self.endpoints and run.endpoint:
            self.endpoints.failed(run.endpoint, _first_line(outcome.error))
        if not final:
            pending.appendleft((run.episode, run.attempt + 1, run.endpoint))
        else:
            self._in_a_row += 1
            if self._in_a_row >= STOP_AFTER and not self.result.stopped:
                self.result.stopped = (f"{STOP_AFTER} episodes in a row failed {self.config.max_attempts} attempts "
                                       f"each (last: {outcome.failure}: {_first_line(outcome.error)}); see "
                                       f"{self.store.out}/attempts.jsonl, fix the cause and run the same command again")
        self._emit("failed", run.episode, run.slot, outcome.failure)

    def _emit(self, kind: str, episode: Episode, slot: int, failure: str | None = None) -> None:
        if self.on_event:
            self.on_event(Event(kind, episode.episode_id, self.names.get(slot, "?"), self.result, failure))

    def _spawn(self, slot: int) -> None:
        config = self.config
        actor = self.ray.remote(num_cpus=config.cpus_per_worker, max_restarts=0, max_task_retries=0)(RolloutWorker)
        self._spawned += 1
        name = f"{self.prefix}-worker-{self._spawned}"
        self.names[slot] = name
        self.workers[slot] = actor.options(name=name).remote(config.agent, config.sandbox, config.max_steps,
                                                             self.model, name)

    def _await_workers(self, task_specs: list[str]) -> None:
        ready = [worker.ready.remote(task_specs) for worker in self.workers.values()]
        try:
            self.ray.get(ready, timeout=READY_TIMEOUT_S)
        except self.ray.exceptions.GetTimeoutError:
            raise SynthMLError(f"--workers: {self.config.workers} workers not placed in {READY_TIMEOUT_S:g} s; "
                               "see `ray status` for the cluster's free CPUs") from None
        except self.ray.exceptions.RayTaskError as e:
            raise SynthMLError(remote_message(e)) from None

    def _route(self, urls: list[str]) -> None:
        key_env = self.config.agent.llm.get("api_key_env", "OPENAI_API_KEY")
        models = check_endpoints(urls, key_env)
        self.model = choose_model(models, self.config.agent.model or self.config.model)
        if self.servers:
            revive = self._revive_server
        else:
            def revive(url: str) -> bool:
                return answers(url, key_env)
        self.endpoints = EndpointPool(urls, revive)

    def _revive_server(self, url: str) -> bool:
        spec = self.config.server
        try:
            return self.ray.get(self.servers[url].ensure_ready.remote(), timeout=spec.ready_timeout_s + 60)
        except self.ray.exceptions.RayError:
            return False

    def _check_resources(self) -> None:
        config, have = self.config, self.ray.cluster_resources()
        need = config.workers * config.cpus_per_worker
        if config.server:
            need += self._server_count() * config.server.cpus
        if need > have.get("CPU", 0):
            raise SynthMLError(f"--workers {config.workers} x --cpus-per-worker {config.cpus_per_worker:g}"
                               f"{' and the model servers' if config.server else ''} need {need:g} CPUs; the Ray "
                               f"cluster has {have.get('CPU', 0):g}: lower --workers or --cpus-per-worker")

    def _server_count(self) -> int:
        server = self.config.server
        if self.config.servers or not server.gpus:
            return self.config.servers or 1
        count = int(self.ray.cluster_resources().get("GPU", 0) // server.gpus)
        if count < 1:
            raise SynthMLError(f"--gpus-per-server {server.gpus}: the Ray cluster has "
                               f"{self.ray.cluster_resources().get('GPU', 0):g} GPU(s); join GPU nodes "
                               "(`ray start --address ...`) or pass --gpus-per-server 0 for a CPU server")
        return count


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
