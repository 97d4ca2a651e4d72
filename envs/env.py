"""`SynthML-v0`: one ML research task per episode, in a sandbox, driven by text actions.

Observation: text. Action: one ACI command (open, goto, scroll_up, scroll_down, create, edit, insert,
search_dir, search_file, find_file, validate, submit) or any shell command. `validate` scores on the
validation split; `submit` scores on the hidden test split and ends the episode. Reward is 0 until
the end, then the improvement over the baseline (see `reward.py`). Running out of steps truncates and
auto-submits what the workspace holds.
"""

from importlib.resources import files
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
from gymnasium import spaces
from pydantic import ValidationError

from synthml.envs.aci import COMMANDS, Aci, command_name
from synthml.envs.commands import runs_training
from synthml.envs.evaluation import Evaluation, Split
from synthml.envs.exit_status import ExitStatus
from synthml.envs.info import StepInfo, task_info
from synthml.envs.reward import RewardConfig, episode_reward
from synthml.envs.sandbox.config import SandboxSpec, sandbox_config
from synthml.envs.session import Session, runtime_for
from synthml.errors import ConfigError, TaskError
from synthml.tasks.task import Task, bank_task_dirs, load_task

MAX_TEXT = 1_000_000


def sample_bank() -> Path:
    """The small bank that ships in the package; `gym.make("SynthML-v0")` draws from it."""
    return Path(str(files("synthml.task_bank") / "samples"))


class AnyText(spaces.Text):
    """Any string up to `max_length` characters (Gymnasium's Text restricts the charset)."""

    def __init__(self, max_length: int = MAX_TEXT) -> None:
        super().__init__(max_length=max_length, min_length=0)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length


class SynthMLEnv(gym.Env[str, str]):
    metadata: ClassVar[dict] = {"render_modes": ["ansi"]}

    def __init__(self, task: str | Path | None = None, bank: str | Path | None = None, sandbox: SandboxSpec = "bwrap",
                 max_steps: int = 50, render_mode: str | None = None, reward: RewardConfig | dict | None = None,
                 command_timeout: float = 30.0, max_observation_chars: int = 20_000) -> None:
        """`task`: a task dir, task YAML or BANK:ID; else `bank` (default: the sample bank), from which
        reset draws a task with the env's seeded RNG."""
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode={render_mode!r}: SynthML-v0 renders only 'ansi'")
        _check_limits(max_steps, command_timeout)
        self.tasks: list[Task] = [load_task(task)] if task else _load_bank(Path(bank or sample_bank()))
        self.sandbox, self.max_steps, self.render_mode = sandbox_config(sandbox), max_steps, render_mode
        self.reward_config = _reward_config(reward)
        self.command_timeout, self.max_observation_chars = command_timeout, max_observation_chars
        self.observation_space, self.action_space = AnyText(), AnyText()
        self._session: Session | None = None
        self._runtimes: dict[str, Path | None] = {}
        self._last = ""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        self._end_session()
        task = self._pick((options or {}).get("task"))
        if task.version not in self._runtimes:
            self._runtimes[task.version] = runtime_for(task, self.sandbox)
        self._session = Session(task, self.sandbox, self._runtimes[task.version])
        self._aci = Aci(self._session.box, self.command_timeout)
        self._steps, self._score, self._final, self._exit_status, self._done = 0, None, None, None, False
        self._last = task.description
        return task.description, self._info()

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        if self._session is None or self._done:
            raise gym.error.ResetNeeded("call reset() before step() (the episode has ended)")
        if not isinstance(action, str):
            raise TypeError(f"action {action!r} is a {type(action).__name__}; an action is a str command, e.g. "
                            "env.step('ls') or env.step('validate')" + (" (decode bytes first)"
                                                                       if isinstance(action, bytes) else ""))
        self._steps += 1
        problem = _unusable(action)
        if problem:
            return self._respond(action, problem, terminated=False)
        name = command_name(action)
        terminated = name == "submit"
        if terminated:
            observation = self._finish("submit")
        elif name == "validate":
            observation = self._validate()
        elif name in COMMANDS:
            observation = self._aci(action)
        else:
            observation = self._shell(action)
        return self._respond(action, observation, terminated)

    def _respond(self, action: str, observation: str, terminated: bool) -> tuple[str, float, bool, bool, dict]:
        truncated = not terminated and self._steps >= self.max_steps
        if truncated:
            observation += "\n" + self._finish("max_steps")
        self._done = terminated or truncated
        reward = self._reward() if self._done else 0.0
        self._last = f"$ {action}\n{observation}"
        return self._cut(observation), reward, terminated, truncated, self._info()

    def render(self) -> str | None:
        return self._last if self.render_mode == "ansi" else None

    def close(self) -> None:
        self._end_session()
        super().close()

    @property
    def task(self) -> Task:
        if self._session is None:
            raise gym.error.ResetNeeded("no task before reset()")
        return self._session.task

    def _pick(self, spec: str | Path | None) -> Task:
        if spec is not None:
            return load_task(spec)
        return self.tasks[int(self.np_random.integers(len(self.tasks)))]

    def _shell(self, action: str) -> str:
        timeout = self.task.training_timeout if runs_training(action) else self.command_timeout
        out = self._session.box.run(action, timeout)
        if out.timed_out:
            return f"{out.output}\nEXECUTION TIMED OUT BECAUSE THE COMMAND RAN FOR MORE THAN {timeout:g} SECONDS."
        return out.output

    def _validate(self) -> str:
        result = self._evaluate("validation")
        if result.metrics is None:
            return result.observation
        config = self.task.config
        baseline = (config.baseline_validation_scores if config.validation_split else config.baseline_scores)
        return (f"Your code produced a valid submission artefact at {result.submission}.\n"
                f"Baseline Score: {baseline[0] if baseline else 'NA (no baseline was there)'}\n"
                f"Evaluation Score: {result.metrics}")

    def _finish(self, reason: str) -> str:
        result = self._evaluate("test")
        kind = result.status if result.status != "ok" else "submitted" if reason == "submit" else "autosubmission"
        self._exit_status = ExitStatus.of(kind, None if kind == "submitted" else reason)
        self._final = result.metrics
        return f"Exited ({reason})" + (f"\n{result.observation}" if result.metrics is None else "")

    def _evaluate(self, split: Split) -> Evaluation:
        result = self._session.evaluate(split)
        self._score = result.metrics  # info["score"] is the last evaluation's, absent if it failed
        return result

    def _reward(self) -> float:
        final = self._final.get(self.task.primary.name) if self._final else None
        return episode_reward(final, self.task.baseline_score, self.task.primary.sign, self.reward_config,
                              self.task.reference_score)

    def _info(self) -> StepInfo:
        info = StepInfo(**task_info(self.task), exit_status=self._exit_status)
        if self._score is not None:
            info["score"] = dict(self._score)
        return info

    def _cut(self, text: str) -> str:
        limit = self.max_observation_chars
        if len(text) <= limit:
            return text
        half = limit // 2
        return (f"{text[:half]}\n[... observation cut: {len(text) - 2 * half} of {len(text)} characters not "
                f"shown; redirect long output to a file and read it with head, tail or grep ...]\n{text[-half:]}")

    def _end_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _load_bank(bank: Path) -> list[Task]:
    tasks = [load_task(d) for d in bank_task_dirs(bank)]
    if not tasks:
        raise TaskError(f"{bank}: no task dirs (folders with task.yaml) in this bank")
    return tasks


def _check_limits(max_steps: Any, command_timeout: Any) -> None:
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ConfigError(f"max_steps={max_steps!r}: give a whole number of steps >= 1 (default 50)")
    if isinstance(command_timeout, bool) or not isinstance(command_timeout, int | float) \
            or not 0 < command_timeout < float("inf"):
        raise ConfigError(f"command_timeout={command_timeout!r}: give the seconds a command may run, a number > 0 "
                          "(default 30)")


def _reward_config(reward: RewardConfig | dict | None) -> RewardConfig:
    try:
        return RewardConfig.model_validate(reward or {})
    except ValidationError as e:
        error = e.errors()[0]
        where = ".".join(map(str, error["loc"])) or "reward"
        raise ConfigError(f"reward={reward!r}: {where}: {error['msg'].removeprefix('Value error, ')}; fields: "
                          "kind (normalized, relative or absolute), bounds [low, high] or None, failure") from None


def _unusable(action: str) -> str | None:
    """Why an action cannot reach a shell at all (it would raise in the host instead)."""
    if "\0" in action:
        return "Error: the action contains a NUL byte, which no shell command can hold; remove it."
    try:
        action.encode()
    except UnicodeEncodeError:
        return "Error: the action is not valid Unicode text (it holds a lone surrogate); send UTF-8 text."
    return None
