"""LLM usage: tokens, calls and cost, summed over calls; what a trajectory, a call log and a bank entry count."""

from pydantic import BaseModel, ConfigDict, Field


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = Field(0, ge=0, description="Tokens sent to the model, summed over calls.")
    completion_tokens: int = Field(0, ge=0, description="Tokens the model generated, summed over calls.")
    cost: float = Field(0.0, ge=0, description="US dollars at the config's prices (0 when unpriced).")
    calls: int = Field(0, ge=0, description="Completions returned; a request that needed retries counts once.")

    def __add__(self, other: "Usage") -> "Usage":
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(prompt_tokens=self.prompt_tokens + other.prompt_tokens,
                     completion_tokens=self.completion_tokens + other.completion_tokens,
                     cost=self.cost + other.cost, calls=self.calls + other.calls)

    def __radd__(self, other: object) -> "Usage":
        """Lets `sum(usages)` start from 0."""
        if other == 0:
            return self
        return NotImplemented

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
