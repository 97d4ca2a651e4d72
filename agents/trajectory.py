"""Trajectories: the versioned record of one episode, the recorder that writes it, its JSONL store, exports.

`EpisodeRecorder` drives the env for an agent and is the one place infrastructure failures are caught
(a sandbox that died, an LLM endpoint that is down, reported with `fail`): the episode ends, the
trajectory says `infra_error`, and nothing is scored as the agent's fault. A stored trajectory is one
JSON line; `to_swe_agent_traj` and `results_json` write what SWE-agent/MLGym tools read.
"""

import json
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthml import ENV_ID
from synthml.agents.agent_record import AgentRecord
from synthml.envs.aci import command_name
from synthml.envs.exit_status import INFRA_STATUS, ExitStatus
from synthml.envs.info import task_info
from synthml.errors import SandboxError, SynthMLError
from synthml.io import append_line, read_lines
from synthml.tasks.task import Task, load_task
from synthml.usage import Usage

SCHEMA_VERSION = 1
INFRA_ERRORS = (SandboxError, OSError)
"""What env.reset/step may raise that is the infrastructure's fault, not the agent's."""
InfraKind = Literal["sandbox", "endpoint"]
SECRET_KEYS = {"api_key", "apikey", "secret", "password", "token", "access_token", "auth_token", "authorization"}


class ScoreRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    split: Literal["validation", "test"] = Field(description="validation: a `validate`; test: a (auto-)submission.")
    metrics: dict[str, float] = Field(description="Every metric the evaluator reported.")


class TrajectoryStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0, description="Position in the episode, from 0; format-error steps count too.")
    thought: str = Field("", description="The agent's discussion before its command (a format error: the reply).")
    action: str = Field("", description="The command sent to the env; empty for a format error.")
    observation: str = Field("", description="What the env answered (a format error: the message sent back).")
    reward: float = Field(0.0, description="The env's reward for this step (non-zero only when the episode ends).")
    terminated: bool = Field(False, description="The env ended the episode (a submission).")
    truncated: bool = Field(False, description="The episode was cut: the env's step limit, or an infra error.")
    score: dict[str, float] | None = Field(None, description="Metrics of this step's validate or submission.")
    exit_status: str | None = Field(None, description="The env's exit status after this step (None while running).")
    seconds: float = Field(0.0, ge=0, description="Wall-clock seconds of the env step (0 for a format error).")
    usage: Usage | None = Field(None, description="The LLM call that produced this step; None for scripted steps.")
    format_error: str | None = Field(None, description="Why the agent's reply could not be parsed (no env action).")
    messages: list[dict[str, Any]] = Field(
        default_factory=list, description="The chat messages this step added: the model's reply exactly as sent back "
        "(assistant, with any tool calls) and the answer to it (user or tool messages); empty for scripted steps.")
    auto: bool = Field(False, description="The recorder submitted for the agent when a limit ran out: the agent "
                       "never wrote this step.")


class Trajectory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = Field(SCHEMA_VERSION, description="Bumped when a field changes meaning.")
    trajectory_id: str = Field(default_factory=lambda: uuid.uuid4().hex, description="Unique id (uuid4 hex).")
    episode_id: str | None = Field(None, description="A rollout's deterministic id of this episode (task, version, "
                                   "sample, seed): one record per id; None outside rollouts.")
    env_id: str = Field(ENV_ID, description="The env id, whose version fixes observation/reward semantics.")
    task_id: str = Field("", description="The task's id (empty only when reset failed before a task was known).")
    task_version: str = Field("", description="The task's content hash (empty as task_id).")
    agent: str = Field(description="The agent's name, e.g. llm, baseline, replay.")
    model: str | None = Field(None, description="The model that chose the actions; None for scripted agents.")
    run: int = Field(0, ge=0, description="Which repeat of this (task, agent, model) this episode is.")
    seed: int | None = Field(None, description="The seed passed to env.reset.")
    task_description: str = Field("", description="The env's first observation: the task as the agent read it.")
    max_steps: int | None = Field(None, description="The env's step limit in this episode.")
    prompt: list[dict[str, Any]] = Field(default_factory=list,
                                         description="The opening messages (system, instance) an LLM agent sent.")
    steps: list[TrajectoryStep] = Field(default_factory=list, description="Every step, in order.")
    scores: list[ScoreRecord] = Field(default_factory=list,
                                      description="One per validate / submission that produced metrics, in order.")
    baseline: dict[str, float | None] = Field(default_factory=dict,
                                              description="Primary-metric baseline: {'validation': ..., 'test': ...}.")
    baseline_metrics: dict[str, float] | None = Field(None, description="All baseline metrics on the test split.")
    metric: str = Field("", description="The task's primary metric.")
    direction: Literal[1, -1] | None = Field(None, description="+1: higher is better; -1: lower is better.")
    exit_status: str = Field(description="submitted, autosubmission (<reason>), submission_not_found (<reason>), "
                             "evaluation_error (<reason>) or infra_error.")
    final: dict[str, float] | None = Field(None, description="Metrics of the final test evaluation, if it scored.")
    reward: float = Field(0.0, description="The episode's reward (the env's at the end; 0 after an infra error).")
    usage: Usage = Field(default_factory=Usage, description="LLM usage summed over the episode.")
    infra_error: str | None = Field(None, description="Sandbox or endpoint failure; never scored as the agent's.")
    infra_kind: InfraKind | None = Field(None, description="Whose failure `infra_error` is: the sandbox's (the env "
                                         "raised) or the endpoint's (the LLM did not answer).")
    agent_errors: int = Field(0, ge=0, description="Replies that could not be parsed (format errors).")
    started_at: datetime = Field(description="When reset was called (UTC).")
    seconds: float = Field(0.0, ge=0, description="Wall-clock seconds from reset to the end of the episode.")
    config: AgentRecord = Field(default_factory=AgentRecord,
                                description="The agent's resolved config (never a secret); unknown keys are kept.")


class EpisodeRecorder:
    """Plays one episode of `env` for an agent and records it as a `Trajectory`."""

    def __init__(self, env: gym.Env, agent: str, model: str | None = None, run: int = 0,
                 config: AgentRecord | dict | None = None) -> None:
        self.env, self.agent, self.model, self.run, self.config = env, agent, model, run, _agent_record(config)
        self.prompt: list[dict] = []
        """The opening messages of an LLM agent; it sets them after reset."""
        self.steps: list[TrajectoryStep] = []
        self.info: dict = {}
        self.infra_error: str | None = None
        self.infra_kind: InfraKind | None = None
        self.task_description = ""
        self._began: datetime | None = None
        self._seed: int | None = None
        self._clock = 0.0
        self._task: Task | None = None
        self._trajectory: Trajectory | None = None

    @property
    def done(self) -> bool:
        """The episode is over: submitted, cut by the env, or failed (infra)."""
        return self.infra_error is not None or bool(self.steps and _ended(self.steps[-1]))

    @property
    def usage(self) -> Usage:
        return sum((step.usage for step in self.steps if step.usage), Usage())

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        self.steps, self.info, self.infra_error, self.prompt, self._trajectory = [], {}, None, [], None
        self.infra_kind = None
        self._seed, self._began, self._clock, self._task = seed, datetime.now(UTC), time.perf_counter(), None
        self.task_description = ""
        try:
            observation, self.info = self.env.reset(seed=seed, options=options)
        except INFRA_ERRORS as e:
            self._task = _known_task(self.env, options)
            self.info = {**(task_info(self._task) if self._task else {}), "exit_status": INFRA_STATUS}
            return self.fail(f"reset failed: {type(e).__name__}: {e}"), self.info
        self._task, self.task_description = self.env.unwrapped.task, observation
        return observation, self.info

    def step(self, action: str, thought: str = "", usage: Usage | None = None) -> tuple[str, float, bool, bool, dict]:
        """env.step, recorded. After an infra failure it only repeats that the episode is over (nothing recorded)."""
        if self.infra_error is not None:
            return self._failure, 0.0, False, True, self.info
        if self._began is None or self.done:
            raise gym.error.ResetNeeded("call reset() before step() (the episode has ended)")
        start = time.perf_counter()
        observation, reward, terminated, truncated, info = self._env_step(action)
        self.info = info
        self.steps.append(TrajectoryStep(
            index=len(self.steps), thought=thought, action=action, observation=observation, reward=float(reward),
            terminated=terminated, truncated=truncated, score=_step_score(action, truncated, info),
            exit_status=info.get("exit_status"), seconds=time.perf_counter() - start, usage=usage))
        return observation, float(reward), terminated, truncated, info

    def _env_step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        """env.step; an infrastructure failure ends the episode as a cut step with no score."""
        try:
            return self.env.step(action)
        except INFRA_ERRORS as e:
            info = {key: value for key, value in self.info.items() if key != "score"}
            return self.fail(f"{type(e).__name__}: {e}"), 0.0, False, True, {**info, "exit_status": INFRA_STATUS}

    def format_error(self, reply_text: str, message: str, usage: Usage | None = None,
                     messages: list[dict] | None = None) -> None:
        """Records a reply that could not be parsed: a step with no env action."""
        self.steps.append(TrajectoryStep(index=len(self.steps), thought=reply_text, observation=message,
                                         usage=usage, format_error=message, messages=messages or []))

    def exchanged(self, messages: list[dict]) -> None:
        """Records the chat messages of the last step: the reply as sent back and the answer to it."""
        self.steps[-1].messages = messages

    def fail(self, message: str, kind: InfraKind = "sandbox") -> str:
        """Ends the episode as an infrastructure failure (e.g. the LLM endpoint is down); returns the observation."""
        self.infra_error, self.infra_kind = message, kind
        return self._failure

    @property
    def _failure(self) -> str:
        return f"Infrastructure error, the episode ends unscored: {self.infra_error}"

    def finish(self, exit_status: str | None = None) -> Trajectory:
        """The trajectory. An episode still running is auto-submitted first; `exit_status` is the agent's reason
        to stop (e.g. cost_limit), recorded as 'autosubmission (cost_limit)' (or 'submission_not_found (...)')."""
        if self._began is None:
            raise SynthMLError("EpisodeRecorder.finish() before reset(): call reset() to begin the episode")
        if self._trajectory is None:
            reason = exit_status or "stopped"
            if not self.done:
                self.step("submit", thought=f"(auto-submission: {reason})")
                self.steps[-1].auto = True
                self._trajectory = self._build(_auto_status(self.info.get("exit_status"), reason))
            else:
                self._trajectory = self._build(self.info.get("exit_status") or reason)
        return self._trajectory

    def _build(self, exit_status: str) -> Trajectory:
        scored = self.infra_error is None and bool(self.steps)  # an infra failure is never scored
        return Trajectory(
            **_task_fields(self._task), env_id=getattr(self.env.spec, "id", None) or ENV_ID, agent=self.agent,
            model=self.model, run=self.run, seed=self._seed, task_description=self.task_description,
            max_steps=getattr(self.env.unwrapped, "max_steps", None),
            prompt=self.prompt, steps=self.steps,
            scores=[ScoreRecord(split=_split(s), metrics=s.score) for s in self.steps if s.score is not None],
            exit_status=INFRA_STATUS if self.infra_error else exit_status,
            final=self.steps[-1].score if scored else None, reward=self.steps[-1].reward if scored else 0.0,
            usage=self.usage, infra_error=self.infra_error, infra_kind=self.infra_kind,
            agent_errors=sum(bool(s.format_error) for s in self.steps),
            started_at=self._began, seconds=time.perf_counter() - self._clock, config=self.config)


def _ended(step: TrajectoryStep) -> bool:
    return step.terminated or step.truncated


def _step_score(action: str, truncated: bool, info: dict) -> dict[str, float] | None:
    """The metrics this step's own evaluation produced (info keeps the last one's on later steps)."""
    evaluated = truncated or command_name(action) in ("validate", "submit")
    return dict(info["score"]) if evaluated and "score" in info else None


def _split(step: TrajectoryStep) -> Literal["validation", "test"]:
    return "validation" if command_name(step.action) == "validate" and not _ended(step) else "test"


def _auto_status(env_status: str | None, reason: str) -> str:
    """The env's status for a `submit`, reworded for a submission the agent's limit forced."""
    status = ExitStatus.parse(env_status)
    return status.forced_by(reason) if status else env_status or "unknown"


def _task_fields(task: Task | None) -> dict[str, Any]:
    if task is None:
        return {}
    scores = task.config.baseline_scores
    return {"task_id": task.id, "task_version": task.version, "metric": task.primary.name,
            "direction": task.primary.sign, "baseline_metrics": dict(scores[0]) if scores else None,
            "baseline": {"validation": task.baseline_validation_score, "test": task.baseline_score}}


def _known_task(env: gym.Env, options: dict | None) -> Task | None:
    """The task a failed reset was about, where that is clear without the env's help."""
    spec, tasks = (options or {}).get("task"), getattr(env.unwrapped, "tasks", [])
    if spec is None:
        return tasks[0] if len(tasks) == 1 else None
    try:
        return load_task(spec)
    except SynthMLError:
        return None


def _agent_record(config: AgentRecord | dict | None) -> AgentRecord:
    """The record of `config`, refused if it holds a secret anywhere (checked before validation, whose errors
    would echo the value)."""
    if isinstance(config, AgentRecord):
        _refuse_secrets(config.model_dump(), "config")
        return config
    _refuse_secrets(config or {}, "config")
    return AgentRecord.model_validate(config or {})


def _refuse_secrets(config: Any, where: str) -> None:
    if isinstance(config, dict):
        for key, value in config.items():
            if str(key).lower() in SECRET_KEYS:
                raise SynthMLError(f"{where}.{key}: trajectories record the agent's config and are shared; never "
                                   "put a secret there (keep keys in environment variables, e.g. api_key_env)")
            _refuse_secrets(value, f"{where}.{key}")
    elif isinstance(config, list | tuple):
        for n, value in enumerate(config):
            _refuse_secrets(value, f"{where}[{n}]")


# JSONL store ---------------------------------------------------------------------------------------------------


def append_trajectory(path: str | Path, trajectory: Trajectory) -> None:
    """Appends the trajectory as one line (see `synthml.io.append_line`: whole lines from concurrent writers)."""
    append_line(path, trajectory.model_dump_json())


def read_trajectories(path: str | Path, skip_torn: bool = False) -> list[Trajectory]:
    """Every trajectory in a JSONL file; a malformed line raises SynthMLError naming the file and line.
    `skip_torn`: leave out (with a warning) lines that are not JSON at all, as a writer killed mid-line leaves."""
    return [_parse_line(line, f"{path}:{number}") for number, line in read_lines(path, skip_torn=skip_torn)]


def _parse_line(line: str, where: str) -> Trajectory:
    try:
        return Trajectory.model_validate_json(line)
    except ValidationError as e:
        version = _schema_version(line)
        if version is not None and version != SCHEMA_VERSION:
            raise SynthMLError(f"{where}: trajectory schema_version {version}, but this SynthML reads version "
                               f"{SCHEMA_VERSION}; read it with the SynthML that wrote it") from None
        error = e.errors()[0]
        raise SynthMLError(f"{where}: not a trajectory ({'.'.join(map(str, error['loc'])) or 'line'}: {error['msg']}); "
                           "delete or repair this line (a writer that crashed can leave a partial last line)") from None


def _schema_version(line: str) -> object:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data.get("schema_version") if isinstance(data, dict) else None


# Exports -------------------------------------------------------------------------------------------------------


def to_swe_agent_traj(trajectory: Trajectory) -> dict[str, Any]:
    """The SWE-agent/MLGym `.traj` shape: environment, trajectory, history, info. Format-error replies are
    left out, as SWE-agent leaves out the requeries they caused."""
    acted = [step for step in trajectory.steps if step.format_error is None]
    return {
        "environment": trajectory.env_id,
        "trajectory": [{"action": s.action, "observation": s.observation, "response": block_reply(s),
                        "thought": s.thought, "execution_time": s.seconds, "state": ""} for s in acted],
        "history": [*({**m, "agent": trajectory.agent} for m in trajectory.prompt), *_history(acted, trajectory.agent)],
        "info": {"exit_status": trajectory.exit_status, "submission": None, "score": _agent_scores(trajectory),
                 "model_stats": _model_stats(trajectory.usage)},
    }


def results_json(trajectory: Trajectory) -> dict[str, Any]:
    """MLGym's results.json: every validate/submission's metrics in order, and the baseline's test metrics."""
    results: dict[str, Any] = {"agent": _agent_scores(trajectory)}
    if trajectory.baseline_metrics is not None:
        results["baseline"] = dict(trajectory.baseline_metrics)
    return results


def _agent_scores(trajectory: Trajectory) -> list[dict[str, float]]:
    return [dict(record.metrics) for record in trajectory.scores]


def block_reply(step: TrajectoryStep) -> str:
    """The reply in the fenced-block format (scripted and tool-calling steps have no reply text of their own)."""
    return f"{step.thought}\n```\n{step.action}\n```".lstrip("\n")


def _history(steps: Iterable[TrajectoryStep], agent: str) -> list[dict[str, Any]]:
    history = []
    for s in steps:
        history += [{"role": "assistant", "content": block_reply(s), "thought": s.thought, "action": s.action,
                     "agent": agent}, {"role": "user", "content": s.observation, "agent": agent}]
    return history


def _model_stats(usage: Usage) -> dict[str, float | int]:
    """MLGym's APIStats fields (task_cost; SWE-agent calls it instance_cost)."""
    return {"total_cost": usage.cost, "task_cost": usage.cost, "instance_cost": usage.cost,
            "tokens_sent": usage.prompt_tokens, "tokens_received": usage.completion_tokens, "api_calls": usage.calls}
