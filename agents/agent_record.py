"""What a trajectory records of the agent that played it (`Trajectory.config`): its resolved config, never a secret.

Each agent fills the fields that describe it: the LLM agent its `AgentConfig` and its LLM client, verl's RL loop
its `AgentConfig`, the expert its knobs, the replay agent the trajectory it replays; the baseline none. Records
are written back as they were given: a field left unset stays out of the JSON, and keys this SynthML does not
know (older or third-party agents', test notes) are kept, so a stored line reads and writes back unchanged.
"""

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    TypeAdapter,
    model_serializer,
    model_validator,
)

from synthml.agents.agent_config import AgentConfig
from synthml.agents.llm import LLM, OpenAIChatConfig


class Record(BaseModel):
    """A model that keeps unknown keys and writes only the fields it was given (None included), in field order."""

    model_config = ConfigDict(extra="allow")

    @model_serializer(mode="wrap")
    def _given_fields_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        unset = type(self).model_fields.keys() - self.model_fields_set
        return {key: value for key, value in handler(self).items() if key not in unset}


class LLMRecord(Record):
    """An LLM client's record: its name and whatever its config holds (`OpenAIChatRecord` is OpenAIChat's)."""

    name: str = Field(description="The model name the client reports (`LLM.name`), as in the trajectory's model.")
    type: str | None = Field(None, description="The client's config type, or its class name when it has no config.")


class OpenAIChatRecord(OpenAIChatConfig, LLMRecord):
    """An `OpenAIChat` client: its name and every field of its config (which names the key's variable, never a key).
    The bases' order puts `name` first, as the trajectories written before this record existed have it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="after")
    def _type_is_always_written(self) -> "OpenAIChatRecord":
        self.model_fields_set.add("type")  # a stored record is read back as this class by its type
        return self


def _llm_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "openai" if kind == "openai" else "other"


LLMClientRecord = Annotated[
    Annotated[OpenAIChatRecord, Tag("openai")] | Annotated[LLMRecord, Tag("other")], Discriminator(_llm_kind)]
"""The record of any LLM client: `OpenAIChatRecord` for type openai, else `LLMRecord`."""
_LLM_CLIENT_RECORD: TypeAdapter[LLMRecord] = TypeAdapter(LLMClientRecord)


class AgentRecord(Record):
    """The agent's resolved config as a trajectory keeps it; every field is optional and set by the agent it fits."""

    agent: AgentConfig | None = Field(None, description="The LLM agent's turn config (the llm agent, verl's RL loop).")
    llm: LLMClientRecord | None = Field(None, description="The LLM client that chose the actions (the llm agent).")
    max_candidates: int | None = Field(None, description="The expert's most candidate solutions per episode.")
    seed: int | None = Field(None, description="The expert's own seed (its candidates' order), not the env's.")
    replays: str | None = Field(
        None, description="The trajectory id a replay agent replays (None: it replays a list of actions).")


def llm_record(llm: LLM) -> LLMRecord:
    """The record of an LLM client: its config's fields where it has a pydantic config, else its class name."""
    config = getattr(llm, "config", None)
    fields = config.model_dump() if isinstance(config, BaseModel) else {"type": type(llm).__name__}
    return _LLM_CLIENT_RECORD.validate_python({"name": llm.name, **fields})
