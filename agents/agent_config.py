"""The LLM agent's config: its limits, its history window, its reply format and the templates of its messages."""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthml.agents import templates as t


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(50, ge=1, description="Most model replies in an episode (format errors count too).")
    max_tokens_total: int | None = Field(None, ge=1, description="Most prompt + completion tokens (None: no limit).")
    max_cost: float | None = Field(None, gt=0, description="Most US dollars spent on the model (None: no limit).")
    max_context_chars: int | None = Field(None, ge=1, description="Most characters in one request (~4 per token).")
    history_window: int = Field(5, ge=1, description="Latest observations kept in full; older ones shrink to a line.")
    max_format_errors: int = Field(3, ge=1, description="Unusable replies in a row that end the episode.")
    tool_calling: bool = Field(False, description="Commands come as native run_command tool calls, not fenced blocks.")
    system_template: str = Field(t.SYSTEM_TEMPLATE, description="The system message (see templates.TEMPLATE_FIELDS).")
    instance_template: str = Field(t.INSTANCE_TEMPLATE, description="The first user message, holding the task.")
    next_step_template: str = Field(t.NEXT_STEP_TEMPLATE, description="The message carrying each observation.")
    format_error_template: str = Field(t.FORMAT_ERROR_TEMPLATE, description="The answer to an unusable reply.")

    @model_validator(mode="after")
    def _templates_use_known_fields(self) -> "AgentConfig":
        for name, fields in t.TEMPLATE_FIELDS.items():
            try:
                getattr(self, name).format(**dict.fromkeys(fields, ""))
            except (KeyError, IndexError, ValueError) as e:
                allowed = ", ".join(f"{{{field}}}" for field in fields)
                raise ValueError(f"{name}: placeholder {e} is not one it may use ({allowed}); "
                                 "write a literal brace twice ({{ or }})") from None
        return self
