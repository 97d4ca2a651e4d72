"""Agent specs: what plays an episode, by name (`baseline`, `expert`, `llm`) or as a YAML/JSON file.

A spec file names the agent and, for the LLM agent, its loop limits and sampling; the endpoint and model
come from the run (a bench's flags, a rollout's endpoint router), so one spec serves any server:

    name: llm
    model: Qwen/Qwen3-8B          # optional: else the run's model (or the endpoint's only one)
    llm: {temperature: 0.7, max_tokens: 1024, max_retries: 2}
    loop: {max_steps: 30, history_window: 5}

`commands` plays a fixed list of actions (then auto-submits): cheap, deterministic episodes for load tests.
"""

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synthml.agents.agent import Agent
from synthml.agents.agent_config import AgentConfig
from synthml.agents.llm import OpenAIChatConfig
from synthml.errors import SynthMLError

AGENT_NAMES = ("baseline", "expert", "llm", "commands")
ENDPOINT_FIELDS = ("type", "model", "base_url")
"""OpenAIChatConfig fields the run fills in, not the spec."""


class AgentSpec(BaseModel):
    """An agent and its settings; the endpoint it talks to is the run's business."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["baseline", "expert", "llm", "commands"] = Field(
        description="baseline: the task's baseline, validate, submit; expert: the scripted researcher; "
                    "llm: the LLM agent; commands: the `commands` below, then an auto-submission.")
    model: str | None = Field(None, description="llm: the model as the endpoint names it (None: the run's).")
    llm: dict[str, Any] = Field(default_factory=dict,
                                description="llm: OpenAIChatConfig fields besides model and base_url "
                                            "(temperature, max_tokens, timeout_s, max_retries, api_key_env, ...).")
    loop: AgentConfig = Field(default_factory=AgentConfig, description="llm: the agent loop's limits and templates.")
    commands: list[str] = Field(default_factory=list, description="commands: the actions, in order.")

    @model_validator(mode="after")
    def _fits_the_agent(self) -> "AgentSpec":
        if self.name == "commands" and not self.commands:
            raise ValueError("commands: the `commands` agent needs a non-empty list of actions")
        if self.name != "llm" and (self.model or self.llm):
            raise ValueError(f"model/llm: only the llm agent talks to a model, not {self.name!r}")
        named = [key for key in self.llm if key in ENDPOINT_FIELDS]
        if named:
            raise ValueError(f"llm.{named[0]}: set by the run (--endpoints, --model), not in the spec")
        try:
            OpenAIChatConfig(model="check", **self.llm)
        except ValidationError as e:
            error = e.errors()[0]
            raise ValueError(f"llm.{'.'.join(map(str, error['loc']))}: {error['msg']}") from None
        return self

    @property
    def uses_llm(self) -> bool:
        return self.name == "llm"

    def chat_config(self, base_url: str | None, model: str | None = None) -> OpenAIChatConfig:
        """The LLM client's config for one endpoint; the spec's model wins over the run's."""
        chosen = self.model or model
        if not chosen:
            raise SynthMLError("--agent llm: no model; pass --model, or set `model:` in the agent spec file")
        return OpenAIChatConfig(model=chosen, base_url=base_url, **self.llm)


def agent_spec(text: str) -> AgentSpec:
    """`--agent`: an agent name, or a YAML/JSON spec file."""
    if text in AGENT_NAMES:
        return AgentSpec(name=text)
    path = Path(text)
    if not path.is_file():
        raise SynthMLError(f"--agent {text}: neither an agent ({', '.join(AGENT_NAMES)}) nor a spec file")
    try:
        data = yaml.safe_load(path.read_text())
        return AgentSpec.model_validate(data if data is not None else {})
    except yaml.YAMLError as e:
        raise SynthMLError(f"{path}: not YAML or JSON ({e}); fix the file's syntax") from None
    except ValidationError as e:
        error = e.errors()[0]
        where = "".join(f"{part}: " for part in [".".join(map(str, error["loc"]))] if part)
        raise SynthMLError(f"{path}: {where}{error['msg'].removeprefix('Value error, ')} (the fields: README, "
                           "'Rollouts on Ray')") from None


def build_agent(spec: AgentSpec, llm: OpenAIChatConfig | None = None) -> Agent:
    """The agent a spec describes; the llm agent talks to `llm`'s endpoint."""
    if spec.name == "baseline":
        from synthml.agents.scripted import BaselineAgent

        return BaselineAgent()
    if spec.name == "expert":
        from synthml.agents.expert import ExpertAgent

        return ExpertAgent()
    if spec.name == "commands":
        from synthml.agents.scripted import ReplayAgent

        return ReplayAgent(spec.commands, name="commands")
    if llm is None:
        raise SynthMLError("the llm agent needs an endpoint and a model (--llm-model, or --endpoints/--vllm)")
    from synthml.agents.llm import OpenAIChat
    from synthml.agents.loop import LLMAgent

    return LLMAgent(OpenAIChat(llm), spec.loop)


def spec_json(spec: AgentSpec) -> str:
    """The spec as one canonical line (a rollout compares it with the one it began with)."""
    return json.dumps(spec.model_dump(mode="json"), sort_keys=True)
