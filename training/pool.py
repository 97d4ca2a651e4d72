"""`EpisodePool`: plays planned episodes into a rollout store, with the one schedule and crash policy of every run.

Each idle worker slot gets the next pending episode, so a slow episode never holds the others back. An
attempt that fails on infrastructure (the worker died, the sandbox or endpoint failed, our code crashed) is
logged in the store's attempts log and retried, on another worker (and on another endpoint if the endpoint was
at fault), until `max_attempts`; only finished episodes are recorded, once each. The pool starts nothing new,
lets running episodes end and says why, after `STOP_AFTER` episodes in a row exhaust their attempts, when
every endpoint is down with no restart coming, on Ctrl-C, or when no worker is left.

Where the episodes run is the subclass's part: `LocalPool` (threads of this process: `synthml bench`) and
`RayPool` (Ray actors, model servers, endpoint routing: `synthml rollout`).
"""

import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from synthml.training.endpoints import EndpointPool
from synthml.training.episodes import Episode
from synthml.training.rollout_config import RolloutResult
from synthml.training.store import Attempt, RolloutStore
from synthml.training.worker import Outcome

STOP_AFTER = 8
"""Episodes in a row that exhaust their attempts before the run stops (something is broken for all)."""
RECHECK_S, RECHECK_ALL_DOWN_S = 30.0, 2.0
INTERRUPTED = "interrupted (Ctrl-C): running episodes were let finish; run the same command again to go on"


@dataclass(frozen=True)
class Event:
    kind: Literal["started", "finished", "failed"]
    episode_id: str
    worker: str
    result: RolloutResult
    """The run's live counters (the same object all along, updated as the run goes)."""
    failure: str | None = None
    outcome: Outcome | None = None
    """What the attempt came back with (None when it started); a failed one's `final` says whether it retries."""
    final: bool = False
    """A failed attempt that was the episode's last this run (it stays unfinished until a rerun)."""


@dataclass(frozen=True)
class _Running:
    episode: Episode
    attempt: int
    slot: int
    worker: str
    endpoint: str | None
    started: float


class EpisodePool:
    """The schedule over worker slots. A subclass fills `names` (slot -> worker name) as it starts its workers,
    and says how an episode is sent to a slot, how finished ones are awaited, and what one came back with."""

    def __init__(self, store: RolloutStore, todo: list[Episode], max_attempts: int,
                 on_event: Callable[[Event], None] | None = None) -> None:
        self.store, self.todo, self.max_attempts, self.on_event = store, todo, max_attempts, on_event
        self.names: dict[int, str] = {}
        self.endpoints: EndpointPool | None = None
        """The LLM endpoints episodes are routed to; None: every worker knows its own."""
        self.interrupted = False
        """Set by a Ctrl-C handler: start nothing new."""
        self._in_flight: dict[Any, _Running] = {}
        self._checked = 0.0

    def run(self, result: RolloutResult) -> None:
        """Plays the episodes to do, recording into the store and counting into `result`, until done or stopped."""
        self.result, self._in_a_row = result, 0
        pending: deque[tuple[Episode, int, str | None]] = deque((episode, 1, None) for episode in self.todo)
        idle = sorted(self.names, reverse=True)
        while self._in_flight or (pending and not result.stopped):
            if self.interrupted and not result.stopped:
                result.stopped = INTERRUPTED
            self._recheck_endpoints()
            while idle and pending and not result.stopped and self._dispatch(pending, idle):
                pass
            if self._in_flight:
                for handle in self._wait(list(self._in_flight), timeout_s=1.0):
                    self._collect(handle, pending, idle)
            elif pending and not result.stopped:
                time.sleep(1.0)  # every endpoint down, a restart coming
        result.unfinished = result.total - result.before - result.finished

    def _submit(self, slot: int, episode: Episode, endpoint: str | None) -> Any:
        """Starts the episode on the slot's worker; returns a handle `_wait` and `_outcome` take."""
        raise NotImplementedError

    def _wait(self, handles: list, timeout_s: float) -> list:
        """Those of `handles` that are done, after at most `timeout_s`."""
        raise NotImplementedError

    def _outcome(self, handle: Any, slot: int, seconds: float) -> Outcome:
        """What a done handle came back with; a worker lost on the way is an outcome too (and is replaced)."""
        raise NotImplementedError

    def _why_down(self) -> str:
        return self.endpoints.why_down()

    def _dispatch(self, pending: deque, idle: list[int]) -> bool:
        episode, attempt, avoid = pending[0]
        endpoint = self._endpoint(avoid)
        if self.endpoints and endpoint is None:
            return False
        pending.popleft()
        slot = idle.pop()
        handle = self._submit(slot, episode, endpoint)
        self._in_flight[handle] = _Running(episode, attempt, slot, self.names[slot], endpoint, time.monotonic())
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

    def _recheck_endpoints(self) -> None:
        if not self.endpoints or not self.endpoints.down:
            return
        every = RECHECK_ALL_DOWN_S if self.endpoints.all_down else RECHECK_S
        if time.monotonic() - self._checked >= every:
            self.endpoints.revive()
            self._checked = time.monotonic()

    def _collect(self, handle: Any, pending: deque, idle: list[int]) -> None:
        run = self._in_flight.pop(handle)
        if self.endpoints:
            self.endpoints.release(run.endpoint)
        outcome = self._outcome(handle, run.slot, time.monotonic() - run.started)
        if run.slot in self.names and outcome.failure:
            idle.insert(0, run.slot)  # last in line: the retry goes to another worker
        elif run.slot in self.names:
            idle.append(run.slot)
        if outcome.failure is None:
            if self.store.record(outcome.trajectory):
                self.result.finished += 1
                self.result.steps += len(outcome.trajectory.steps)
            self._in_a_row = 0
            self._emit("finished", run.episode, run.worker, outcome=outcome)
        else:
            self._failed(run, outcome, pending)

    def _failed(self, run: _Running, outcome: Outcome, pending: deque) -> None:
        self.result.failures = dict(Counter(self.result.failures) + Counter([outcome.failure]))
        final = run.attempt >= self.max_attempts
        self.store.log_attempt(Attempt(
            episode_id=run.episode.episode_id, attempt=run.attempt, kind=outcome.failure, error=outcome.error,
            final=final, worker=run.worker, endpoint=run.endpoint, seconds=outcome.seconds,
            trajectory=outcome.trajectory))
        endpoint_failed = outcome.failure == "endpoint" and run.endpoint is not None
        if endpoint_failed and self.endpoints:
            self.endpoints.failed(run.endpoint, first_line(outcome.error))
        if not final:
            pending.appendleft((run.episode, run.attempt + 1, run.endpoint if endpoint_failed else None))
        else:
            self._in_a_row += 1
            if self._in_a_row >= STOP_AFTER and not self.result.stopped:
                self.result.stopped = (f"{STOP_AFTER} episodes in a row failed {self.max_attempts} attempt(s) "
                                       f"each (last: {outcome.failure}: {first_line(outcome.error)}); see "
                                       f"{self.store.out}/attempts.jsonl, fix the cause and run the same command again")
        self._emit("failed", run.episode, run.worker, outcome.failure, outcome, final)

    def _emit(self, kind: str, episode: Episode, worker: str, failure: str | None = None,
              outcome: Outcome | None = None, final: bool = False) -> None:
        if self.on_event:
            self.on_event(Event(kind, episode.episode_id, worker, self.result, failure, outcome, final))


@contextmanager
def first_interrupt_stops(pool: EpisodePool) -> Iterator[None]:
    """The first Ctrl-C asks the pool to start nothing new (running episodes end and are recorded); a second
    one interrupts. Only the main thread receives signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        if pool.interrupted:
            raise KeyboardInterrupt
        pool.interrupted = True

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
