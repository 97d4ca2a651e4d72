"""What every agent is: a name, and `run`, which plays one episode of an env and returns its trajectory."""

from typing import Any, Protocol, runtime_checkable

from synthml.agents.trajectory import Trajectory


@runtime_checkable
class Agent(Protocol):
    name: str
    """How trajectories, tables and stores name the agent."""

    def run(self, env: Any, seed: int | None = None, options: dict | None = None, run: int = 0) -> Trajectory:
        """Reset `env` (with `seed` and `options`), play until the episode ends, and return its record; an
        infrastructure failure is recorded on the trajectory, never raised."""
        ...
