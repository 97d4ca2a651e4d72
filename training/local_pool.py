"""`LocalPool`: worker threads in this process, no Ray: the pool of `synthml bench` and of `synthml rollout
--pool local`.

Each slot is a thread with its own `RolloutWorker` per agent (an env each, kept across episodes), so a run
may play several agents: an episode names its agent (a rollout's name none). An LLM agent talks to one
client config (a bench's) or to the endpoint routed to each episode (a rollout's `endpoints`). The schedule,
the retries and the store are `EpisodePool`'s. A second Ctrl-C closes the envs, so running episodes end at
once (as infrastructure failures: a rerun plays them).
"""

import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from synthml.agents.llm import OpenAIChatConfig
from synthml.agents.spec import AgentSpec
from synthml.envs.sandbox.config import SandboxConfig
from synthml.errors import SynthMLError
from synthml.training.episodes import Episode
from synthml.training.pool import EpisodePool, Event
from synthml.training.store import RolloutStore
from synthml.training.worker import Outcome, RolloutWorker


class LocalPool(EpisodePool):
    def __init__(self, store: RolloutStore, todo: list[Episode], agents: dict[str | None, AgentSpec], workers: int,
                 sandbox: SandboxConfig, max_steps: int, chat: OpenAIChatConfig | None = None, max_attempts: int = 1,
                 on_event: Callable[[Event], None] | None = None) -> None:
        """`agents`: every agent an episode may name (None: episodes that name none); `chat`: the LLM agent's whole
        client config, for one endpoint, else set `endpoints` and `model` to route each episode."""
        super().__init__(store, todo, max_attempts, on_event)
        unknown = sorted({episode.agent for episode in todo} - set(agents), key=str)
        if unknown:
            known = sorted(agents, key=str)
            raise SynthMLError(f"LocalPool: episodes name agent(s) {unknown} that are not among {known}")
        self.agents, self.sandbox, self.max_steps, self.chat = agents, sandbox, max_steps, chat
        self.model: str | None = None
        self.names = {slot: f"local-{slot}" for slot in range(workers)}
        self._workers: dict[tuple[int, str], RolloutWorker] = {}
        self._threads: ThreadPoolExecutor | None = None

    def __enter__(self) -> "LocalPool":
        self._threads = ThreadPoolExecutor(max_workers=len(self.names), thread_name_prefix="episode")
        return self

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        if exc_type is not None:  # interrupted: running episodes end as their sandboxes go
            self._close_workers()
        self._threads.shutdown(wait=True, cancel_futures=True)
        self._close_workers()

    def _submit(self, slot: int, episode: Episode, endpoint: str | None) -> Future:
        return self._threads.submit(self._worker(slot, episode.agent).play, episode, endpoint)

    def _wait(self, handles: list, timeout_s: float) -> list:
        return list(wait(handles, timeout=timeout_s, return_when=FIRST_COMPLETED).done)

    def _outcome(self, handle: Future, slot: int, seconds: float) -> Outcome:
        return handle.result()  # a worker reports every failure in its outcome

    def _worker(self, slot: int, agent: str | None) -> RolloutWorker:
        key = slot, agent
        if key not in self._workers:
            self._workers[key] = RolloutWorker(self.agents[agent], self.sandbox, self.max_steps, self.model,
                                               name=self.names[slot], chat=self.chat)
        return self._workers[key]

    def _close_workers(self) -> None:
        for worker in list(self._workers.values()):
            try:
                worker.close()
            except Exception:  # a failing close must not hide the run's results
                traceback.print_exc()

