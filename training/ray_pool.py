"""`RayPool`: the episode pool of `synthml rollout`: Ray worker actors, model servers, endpoint routing.

The schedule and crash policy are `EpisodePool`'s. Here: each worker is a Ray actor playing one episode at
a time (`ray.wait` on whatever is in flight); a worker that dies is killed for good and replaced, and its
episode goes back to the front of the queue, for another worker. Endpoints set aside are checked again every
`RECHECK_S`, every `RECHECK_ALL_DOWN_S` while all are down.
"""

import uuid
from collections.abc import Callable
from typing import Any

from synthml.errors import SynthMLError, remote_message
from synthml.training.endpoints import endpoint_pool
from synthml.training.episodes import Episode
from synthml.training.pool import EpisodePool, Event, first_line
from synthml.training.rollout_config import RolloutConfig
from synthml.training.store import RolloutStore
from synthml.training.vllm_server import launch_servers, stop_servers
from synthml.training.worker import Outcome, RolloutWorker

READY_TIMEOUT_S = 300.0
RESPAWN_TIMEOUT_S = 60.0
CHECK_TIMEOUT_S = 30.0


class RayPool(EpisodePool):
    def __init__(self, config: RolloutConfig, store: RolloutStore, todo: list[Episode],
                 on_event: Callable[[Event], None] | None = None) -> None:
        import ray

        super().__init__(store, todo, config.max_attempts, on_event)
        self.ray, self.config = ray, config
        self.prefix = f"synthml-rollout-{uuid.uuid4().hex[:8]}"
        self.model: str | None = config.model
        self.servers: dict[str, Any] = {}
        self.workers: dict[int, Any] = {}
        self._actor = ray.remote(num_cpus=config.cpus_per_worker, max_restarts=0, max_task_retries=0)(RolloutWorker)
        self._spawned = 0
        self._task_specs = sorted({episode.task.spec for episode in todo})

    def __enter__(self) -> "RayPool":
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
        self.workers, self.names, self.servers = {}, {}, {}

    def _submit(self, slot: int, episode: Episode, endpoint: str | None) -> Any:
        return self.workers[slot].play.remote(episode, endpoint)

    def _wait(self, handles: list, timeout_s: float) -> list:
        return self.ray.wait(handles, num_returns=1, timeout=timeout_s)[0]

    def _outcome(self, handle: Any, slot: int, seconds: float) -> Outcome:
        try:
            return self.ray.get(handle)
        except self.ray.exceptions.RayActorError as e:
            worker = self.names[slot]
            self._replace(slot)
            return Outcome(None, "worker_died", f"worker {worker} died: {first_line(e)}", seconds)
        except self.ray.exceptions.RayError as e:
            return Outcome(None, "crash", f"{type(e).__name__}: {e}", seconds)

    def _why_down(self) -> str:
        """What the endpoints' failures said, and for launched servers where their logs are."""
        where = []
        for server in self.servers.values():
            try:
                where.append(self.ray.get(server.where.remote(), timeout=CHECK_TIMEOUT_S))
            except self.ray.exceptions.RayError as e:
                where.append(f"a server actor is gone ({first_line(e)})")
        return "; ".join([self.endpoints.why_down(), *where])

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
            self.names.pop(slot)
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
        agent = self.config.agent
        self.endpoints, self.model = endpoint_pool(
            urls, agent.llm.get("api_key_env", "OPENAI_API_KEY"), agent.model or self.config.model,
            "--vllm" if self.servers else "--endpoints", self._server_health if self.servers else None)

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

