"""`run_rollout`: many episodes over a task bank, played by a pool of Ray actors (or, with `pool: local`, of
threads in this process), kept in a lossless store.

The driver plans every task x sample (`episodes`), skips those the store has, and keeps each free worker
busy; an LLM episode keeps the endpoint it was given (`endpoints`), the least loaded one. A worker that
dies, a sandbox or endpoint that fails: the attempt goes to OUT/attempts.jsonl and the episode is tried
again, up to `max_attempts`; only finished episodes are recorded, once each (`store`). A run stopped by
anything (Ctrl-C, kill, all endpoints down) is started again with the same command and plays the rest.
"""

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synthml.agents.spec import spec_json
from synthml.errors import SynthMLError
from synthml.io import write_atomic
from synthml.tasks.selection import resolve_tasks
from synthml.training.endpoints import endpoint_pool
from synthml.training.episodes import Episode, plan_episodes
from synthml.training.local_pool import LocalPool
from synthml.training.pool import EpisodePool, Event, first_interrupt_stops
from synthml.training.ray_pool import RayPool
from synthml.training.rollout_config import IDENTITY, RolloutConfig, RolloutResult
from synthml.training.store import CONFIG, RolloutStore


def run_rollout(config: RolloutConfig, out: str | Path, on_event: Callable[[Event], None] | None = None,
                ) -> RolloutResult:
    """Plays every planned episode that OUT does not hold yet; returns what this run did."""
    _check(config)
    store = RolloutStore(out)
    with store.exclusive():
        config = _same_episodes(store, config)
        tasks = resolve_tasks(config.tasks).tasks
        episodes = plan_episodes(tasks, config.episodes_per_task, config.seed)
        done = store.finished()
        todo = [episode for episode in episodes if episode.episode_id not in done]
        result = RolloutResult(Path(out), len(episodes), len(episodes) - len(todo))
        if not todo:
            return result
        with _pool(config, store, todo, on_event) as pool, first_interrupt_stops(pool):
            _save_config(store, _same_episodes(store, config.model_copy(update={"model": pool.model})))
            started = time.monotonic()
            pool.run(result)
            result.seconds = time.monotonic() - started
    return result


def _check(config: RolloutConfig) -> None:
    """Flag mistakes that would otherwise fail every episode."""
    if config.agent.uses_llm and not (config.endpoints or config.server):
        raise SynthMLError("--agent llm: give --endpoints URL,... or --vllm MODEL (servers the rollout launches)")
    if not config.agent.uses_llm and (config.endpoints or config.server):
        raise SynthMLError(f"--endpoints/--vllm: the {config.agent.name} agent uses no model; drop them, "
                           "or pass --agent llm (or an llm spec file)")
    if config.endpoints and config.server:
        raise SynthMLError("--endpoints and --vllm: choose one (running servers, or servers to launch)")
    if config.pool == "local" and (config.server or config.address):
        raise SynthMLError(f"{'--vllm' if config.server else '--address'}: servers and clusters are Ray's; pass "
                           "--pool ray, or drop it (--pool local plays in this process, with --endpoints)")


@contextmanager
def _pool(config: RolloutConfig, store: RolloutStore, todo: list[Episode],
          on_event: Callable[[Event], None] | None) -> Iterator[EpisodePool]:
    """The pool the config names, started, with its model chosen (the endpoints'); stopped on the way out."""
    if config.pool == "ray":
        with _ray_session(config.address), RayPool(config, store, todo, on_event) as pool:
            yield pool
        return
    pool = LocalPool(store, todo, {None: config.agent}, config.workers, config.sandbox, config.max_steps,
                     max_attempts=config.max_attempts, on_event=on_event)
    pool.model = config.model
    if config.agent.uses_llm:
        pool.endpoints, pool.model = endpoint_pool(config.endpoints, config.agent.llm.get("api_key_env",
                                                   "OPENAI_API_KEY"), config.agent.model or config.model)
    with pool:
        yield pool


def _same_episodes(store: RolloutStore, config: RolloutConfig) -> RolloutConfig:
    """Refuses a run whose episodes would mean something else than those OUT holds; a model left open takes
    the one OUT was made with."""
    path = store.out / CONFIG
    if not path.is_file():
        return config
    before = RolloutConfig.model_validate_json(path.read_text())
    if config.model is None:
        config = config.model_copy(update={"model": before.model})
    for name in IDENTITY:
        old, new = getattr(before, name), getattr(config, name)
        if name == "agent" and spec_json(old) != spec_json(new):
            differ = "; ".join(f"{key} {a}, not {b}" for key, a, b in _differences(old.model_dump(mode="json"),
                                                                                 new.model_dump(mode="json")))
            raise SynthMLError(f"{store.out} holds a rollout with agent {differ}: its episodes would mix; pass the "
                               "same agent to go on, or another --out")
        if name != "agent" and old != new:
            raise SynthMLError(f"{store.out} holds a rollout with {name} {old}, not {new}: its episodes would mix; "
                               "pass the same flags to go on, or another --out")
    return config


def _differences(old: Any, new: Any, key: str = "") -> list[tuple[str, Any, Any]]:
    """The dotted keys where two JSON values differ, with both values (only those: a spec is long)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [difference for name in sorted(old.keys() | new.keys())
                for difference in _differences(old.get(name), new.get(name), f"{key}.{name}".lstrip("."))]
    return [] if old == new else [(key, json.dumps(old), json.dumps(new))]


def _save_config(store: RolloutStore, config: RolloutConfig) -> None:
    write_atomic(store.out / CONFIG, config.model_dump_json(indent=2) + "\n")


class _ray_session:
    """Joins `address` (or RAY_ADDRESS), else starts a local Ray; shuts down only what it started."""

    def __init__(self, address: str | None) -> None:
        self.address, self.started = address or os.environ.get("RAY_ADDRESS"), False

    def __enter__(self) -> None:
        try:
            import ray
        except ImportError:
            raise SynthMLError("rollouts need Ray: pip install 'synthml[ray]'") from None
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
            except (ConnectionError, ValueError) as e:
                raise SynthMLError(f"--address {self.address}: cannot join the Ray cluster ({e}); start it with "
                                   "`ray start --head` or drop --address to run locally") from None
            self.started = True

    def __exit__(self, *exc: object) -> None:
        if self.started:
            import ray

            ray.shutdown()
