"""The rollout worker: plays one episode at a time in its own env (one sandbox at a time).

In a `RayPool` it is a Ray actor; in a `LocalPool` (a bench, `rollout --pool local`) it runs in a thread of
this process, and the rollout benchmark plays with one directly, to measure what Ray adds. It never raises
for an episode: what went wrong comes back as an `Outcome` with the failure's kind, so the pool can retry
infrastructure failures and record only finished episodes.
"""

import platform
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthml import ENV_ID
from synthml.agents.llm import OpenAIChatConfig
from synthml.agents.spec import AgentSpec, build_agent
from synthml.agents.trajectory import Trajectory
from synthml.envs.sandbox.config import DEFAULT_SANDBOX, SandboxConfig
from synthml.errors import SynthMLError
from synthml.training.episodes import Episode
from synthml.training.store import FailureKind


@dataclass(frozen=True)
class Outcome:
    trajectory: Trajectory | None
    """The episode's record (with its episode_id); None when the worker crashed before the agent returned."""
    failure: FailureKind | None = None
    """None: the episode finished (whatever the agent scored)."""
    error: str = ""
    seconds: float = 0.0


class RolloutWorker:
    def __init__(self, agent: AgentSpec, sandbox: SandboxConfig = DEFAULT_SANDBOX, max_steps: int = 50,
                 model: str | None = None, name: str = "worker", chat: OpenAIChatConfig | None = None) -> None:
        """`chat`: the LLM agent's whole client config, for a run with one endpoint (a bench); else each episode
        gets its endpoint from the driver and the model from `model` or the spec."""
        self.agent, self.max_steps, self.model, self.name, self.chat = agent, max_steps, model, name, chat
        self.sandbox = sandbox
        self._env: Any = None

    def play(self, episode: Episode, endpoint: str | None = None) -> Outcome:
        """One episode; the LLM agent talks only to `endpoint` (sticky routing)."""
        started = time.monotonic()
        try:
            trajectory = self._run(episode, endpoint)
        except Exception as e:  # the one place a worker's crash is caught: it is reported, never raised
            self.close()
            error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=8)}"
            return Outcome(None, "crash", error, time.monotonic() - started)
        trajectory = trajectory.model_copy(update={"episode_id": episode.episode_id})
        failure = trajectory.infra_kind if trajectory.infra_error else None
        return Outcome(trajectory, failure, trajectory.infra_error or "", time.monotonic() - started)

    def ready(self, task_specs: list[str]) -> str:
        """The worker's name, once its process is up and sees every task (the driver waits on it)."""
        missing = [spec for spec in task_specs if not Path(spec).exists()]
        if missing:
            raise SynthMLError(f"worker {self.name} on {platform.node()}: no {missing[0]} (and {len(missing) - 1} "
                               "more); every node must see the tasks at the same path (a shared filesystem, or "
                               "copy the bank there)")
        return self.name

    def close(self) -> None:
        if self._env is not None:
            env, self._env = self._env, None
            env.close()

    def _run(self, episode: Episode, endpoint: str | None) -> Trajectory:
        chat = (self.chat or self.agent.chat_config(endpoint, self.model)) if self.agent.uses_llm else None
        agent = build_agent(self.agent, chat)
        return agent.run(self._env_for(episode), seed=episode.seed, options={"task": episode.task.spec},
                         run=episode.sample)

    def _env_for(self, episode: Episode) -> Any:
        """One env for the worker's life; each reset loads the episode's task (and reuses its runtime)."""
        if self._env is None:
            import gymnasium as gym

            self._env = gym.make(ENV_ID, task=episode.task.spec, sandbox=self.sandbox, max_steps=self.max_steps)
        return self._env
