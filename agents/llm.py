"""LLM clients: the `LLM` protocol, `OpenAIChat` over any OpenAI-compatible endpoint, `ScriptedLLM` for tests.

`OpenAIChat` talks to OpenAI, vLLM or a llama.cpp server through the official `openai` SDK. Its config
holds no secret: the API key is read from the environment variable the config names, once, when the
client is built, and lives only inside the SDK client (never in the config, `repr`, logs or errors).
Transient failures (connection, timeout, 408, 429, 5xx) are retried here with exponential backoff;
anything else raises `LLMError` at once. A well-formed reply with no text and no tool calls is returned
as is: a bad reply is the agent's problem (a format error), an unreachable endpoint is an infrastructure one.
"""

import copy
import json
import logging
import math
import os
import random
import time
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthml.errors import LLMError, LLMRequestRejected
from synthml.usage import Usage

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "EMPTY"
"""Sent to a local server (base_url set) when the key variable is unset: the SDK refuses an empty key."""
MAX_BACKOFF_S = 60.0
RETRY_STATUS = (408, 429)
"""HTTP statuses worth retrying besides 5xx: the server was busy or slow, not wrong."""
REQUEST_FAULTS = (400, 413, 422)
"""HTTP statuses that blame the request (e.g. a prompt past the context window), not the endpoint."""


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The call's id, echoed back in the tool message that answers it.")
    name: str = Field(description="The tool (function) the model chose.")
    arguments: str = Field(description="The arguments as the model wrote them (JSON text, unparsed: may be invalid).")


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field("", description="The message content; empty when the model only called tools.")
    usage: Usage = Field(default_factory=Usage, description="Tokens and cost of this one completion.")
    tool_calls: list[ToolCall] = Field(default_factory=list, description="Native tool calls, in order.")
    finish_reason: str | None = Field(None, description="Why generation stopped (stop, length, tool_calls).")
    model: str = Field("", description="The model that answered, as the endpoint names it.")


@runtime_checkable
class LLM(Protocol):
    name: str
    """The model name recorded in trajectories."""

    def complete(self, messages: list[dict], tools: list[dict] | None = None, *,
                 response_format: dict | None = None) -> Reply:
        """One completion; `response_format` (OpenAI's field) asks for JSON where the endpoint supports it."""
        ...


class OpenAIChatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["openai"] = "openai"
    model: str = Field(min_length=1, description="Model name as the endpoint knows it, e.g. gpt-4o-mini.")
    base_url: str | None = Field(None, description="Endpoint, e.g. http://127.0.0.1:8000/v1 (None: OpenAI's).")
    api_key_env: str = Field("OPENAI_API_KEY", min_length=1,
                             description="Environment variable holding the API key (the key is never stored).")
    temperature: float | None = Field(None, ge=0, description="Sampling temperature (None: the server's default).")
    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling mass (None: the server's default).")
    max_tokens: int | None = Field(None, gt=0, description="Cap on generated tokens (None: the server's default).")
    timeout_s: float = Field(120.0, gt=0, description="Seconds one request may take (connect, and each read).")
    max_retries: int = Field(5, ge=0, description="Retries after the first attempt on transient failures.")
    retry_backoff_s: float = Field(1.0, ge=0, description="First retry's wait; doubles per retry, capped at 60 s.")
    price_per_million_input: float = Field(0.0, ge=0, description="USD per million prompt tokens.")
    price_per_million_output: float = Field(0.0, ge=0, description="USD per million completion tokens.")
    extra_body: dict[str, Any] = Field(default_factory=dict,
                                       description="Extra request fields passed through (e.g. vLLM's top_k).")


class OpenAIChat:
    """Chat completions from any OpenAI-compatible endpoint, with our retries and cost accounting."""

    def __init__(self, config: OpenAIChatConfig) -> None:
        self.config = config
        self.name = config.model
        self._client = _client(config, _api_key(config))

    def __repr__(self) -> str:
        return f"OpenAIChat(model={self.config.model!r}, base_url={_url(self.config)!r})"

    def complete(self, messages: list[dict], tools: list[dict] | None = None, *,
                 response_format: dict | None = None) -> Reply:
        return _reply(self._request(_params(self.config, messages, tools, response_format)), self.config)

    def close(self) -> None:
        """Closes the connection pool (it is also closed when the object is collected)."""
        self._client.close()

    def _request(self, params: dict) -> object:
        """One completion; retries transient failures, raises LLMError on the rest or when retries run out."""
        import openai

        attempts, last = self.config.max_retries + 1, None
        for attempt in range(attempts):
            try:
                return self._client.chat.completions.create(**params)
            except openai.APIError as e:
                if not _retryable(e):
                    refused = LLMRequestRejected if getattr(e, "status_code", None) in REQUEST_FAULTS else LLMError
                    raise refused(self._scrub(_rejected(e, self.config))) from e
                last = e
            except ValueError as e:  # the SDK's JSON decoding of a body that claims to be JSON
                raise LLMError(f"{_where(self.config)} answered something that is not JSON ({e}); "
                               "check that base_url points at an OpenAI-compatible /v1 endpoint") from e
            if attempt + 1 < attempts:
                _wait(self.config, attempt, last)
        raise LLMError(self._scrub(f"LLM endpoint {_url(self.config)} is unreachable: {attempts} attempts failed, "
                                   f"last with {type(last).__name__}: {_message(last)}; check that the server "
                                   "is up and base_url is right, or raise timeout_s / max_retries")) from last

    def _scrub(self, text: str) -> str:
        """Masks the key in a message built from the server's words: some proxies echo the key they got."""
        key = self._client.api_key
        return text.replace(key, "***") if key and key != PLACEHOLDER_KEY else text


def _api_key(config: OpenAIChatConfig) -> str:
    """The key from the environment; a placeholder for local servers, which often need none."""
    key = os.environ.get(config.api_key_env)
    if key:
        return key
    if config.base_url:
        return PLACEHOLDER_KEY
    raise LLMError(f"environment variable {config.api_key_env} is not set, and the OpenAI API needs a key: "
                   f"export {config.api_key_env}=<your key>, set api_key_env to the variable that holds it, "
                   "or set base_url for a local server (vLLM, llama.cpp) that needs none")


def _client(config: OpenAIChatConfig, key: str) -> Any:
    """The SDK client, with its own retries off.

    The SDK retries twice by default with its own backoff (also on 409); left on, each of our attempts
    would hide up to three HTTP requests, making the retry count, the time to give up and the one place
    that decides what is transient all unpredictable. base_url is always passed, so the SDK does not
    silently read OPENAI_BASE_URL: the saved config says where the requests went.
    """
    import openai

    return openai.OpenAI(api_key=key, base_url=_url(config), timeout=config.timeout_s, max_retries=0)


def _params(config: OpenAIChatConfig, messages: list[dict], tools: list[dict] | None,
            response_format: dict | None = None) -> dict:
    """The request: only the knobs the config sets, so each server keeps its own defaults."""
    params: dict[str, Any] = {"model": config.model, "messages": messages}
    knobs = {"temperature": config.temperature, "top_p": config.top_p, "max_tokens": config.max_tokens}
    params.update({name: value for name, value in knobs.items() if value is not None})
    if tools:
        params["tools"] = tools
    if response_format:
        params["response_format"] = response_format
    if config.extra_body:
        params["extra_body"] = dict(config.extra_body)
    return params


def _retryable(error: Exception) -> bool:
    """Connection errors, timeouts (an APIConnectionError), 408, 429 and 5xx: the request may succeed later."""
    import openai

    if isinstance(error, openai.APIConnectionError):
        return True
    status = getattr(error, "status_code", None)
    return isinstance(status, int) and (status in RETRY_STATUS or status >= 500)


def _wait(config: OpenAIChatConfig, attempt: int, error: Exception) -> None:
    """Exponential backoff with jitter, so many rollout workers hitting one rate limit spread out."""
    delay = min(config.retry_backoff_s * 2**attempt, MAX_BACKOFF_S) * random.uniform(0.75, 1.0)
    log.warning("%s: %s; retry %d/%d in %.2f s", _where(config), type(error).__name__, attempt + 1,
                config.max_retries, delay)
    time.sleep(delay)


def _rejected(error: Exception, config: OpenAIChatConfig) -> str:
    """The message for an error retrying cannot fix, with the fix."""
    status = getattr(error, "status_code", None)
    fixes = {401: f"set {config.api_key_env} to a valid key for this endpoint",
             403: f"the key in {config.api_key_env} lacks access to this model; use another key or model",
             404: "check the model name (the server's /v1/models lists them) and that base_url ends in /v1",
             400: "check the messages (one longer than the model's context window is refused too), tools and "
                  "the config's temperature, top_p, max_tokens and extra_body"}
    fix = fixes.get(status, "check the endpoint's logs") if status else "check base_url and the server"
    what = f"HTTP {status}" if status else type(error).__name__
    return f"{_where(config)} rejected the request ({what}: {_message(error)}); {fix}"


def _reply(completion: object, config: OpenAIChatConfig) -> Reply:
    """Our Reply from the SDK's object; raises LLMError when the body is no chat completion at all."""
    from openai.types.chat import ChatCompletion

    choices = getattr(completion, "choices", None) if isinstance(completion, ChatCompletion) else None
    if not isinstance(choices, list):
        raise LLMError(f"{_where(config)} answered something that is not a chat completion: "
                       f"{str(completion)[:200]!r}; check that base_url points at an OpenAI-compatible /v1 endpoint")
    model = getattr(completion, "model", None)
    reply = Reply(usage=_usage(getattr(completion, "usage", None), config),
                  model=model if isinstance(model, str) and model else config.model)
    if not choices:
        return reply
    message = getattr(choices[0], "message", None)
    if message is None:
        raise LLMError(f"{_where(config)} answered a choice with no message: {str(choices[0])[:200]!r}")
    calls = [_tool_call(call, config) for call in getattr(message, "tool_calls", None) or []]
    text = getattr(message, "content", None)
    return reply.model_copy(update={"text": text if isinstance(text, str) else "", "tool_calls": calls,
                                    "finish_reason": getattr(choices[0], "finish_reason", None)})


def _tool_call(call: object, config: OpenAIChatConfig) -> ToolCall:
    """A function or custom tool call; arguments kept as text (some servers send a dict: re-encoded)."""
    function = getattr(call, "function", None) or getattr(call, "custom", None)
    if function is None:
        raise LLMError(f"{_where(config)} answered a tool call with no function: {str(call)[:200]!r}")
    arguments = getattr(function, "arguments", None)
    if arguments is None:
        arguments = getattr(function, "input", None) or ""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return ToolCall(id=getattr(call, "id", None) or "", name=getattr(function, "name", None) or "",
                    arguments=arguments)


def _usage(usage: object, config: OpenAIChatConfig) -> Usage:
    """Tokens as the server counted them (0 when it sent none) and their cost at the config's prices."""
    prompt = getattr(usage, "prompt_tokens", None) or 0
    completion = getattr(usage, "completion_tokens", None) or 0
    cost = (prompt * config.price_per_million_input + completion * config.price_per_million_output) / 1e6
    return Usage(prompt_tokens=prompt, completion_tokens=completion, cost=cost, calls=1)


def _url(config: OpenAIChatConfig) -> str:
    return config.base_url or OPENAI_URL


def _where(config: OpenAIChatConfig) -> str:
    return f"LLM endpoint {_url(config)} (model {config.model!r})"


def _message(error: Exception) -> str:
    return str(getattr(error, "message", None) or error)[:300]


class ScriptedLLM:
    """Canned replies in order, for tests and demos; records every messages list it was given.

    A str becomes a Reply with pseudo-usage (characters / 4 tokens, no cost), so step and token limits
    can be tested; a Reply keeps its usage unless it has none.
    """

    def __init__(self, replies: Sequence[str | Reply], name: str = "scripted") -> None:
        self.name = name
        self.replies = list(replies)
        self.calls: list[list[dict]] = []
        self.response_formats: list[dict | None] = []

    def __repr__(self) -> str:
        return f"ScriptedLLM(name={self.name!r}, replies={len(self.replies)}, calls={len(self.calls)})"

    def complete(self, messages: list[dict], tools: list[dict] | None = None, *,
                 response_format: dict | None = None) -> Reply:
        self.calls.append(copy.deepcopy(messages))  # a copy: the agent loop goes on appending to its list
        self.response_formats.append(response_format)
        if len(self.calls) > len(self.replies):
            raise LLMError(f"ScriptedLLM {self.name!r} ran out of replies: it had {len(self.replies)} and was "
                           f"asked for reply {len(self.calls)}; give it more replies or end the episode sooner")
        reply = self.replies[len(self.calls) - 1]
        if isinstance(reply, str):
            reply = Reply(text=reply, finish_reason="stop")
        usage = reply.usage if reply.usage != Usage() else _pseudo_usage(messages, reply.text)
        return reply.model_copy(update={"usage": usage, "model": reply.model or self.name})


def _pseudo_usage(messages: list[dict], text: str) -> Usage:
    """About four characters a token, like English text under common tokenizers."""
    chars = sum(len(str(message.get("content") or "")) for message in messages)
    return Usage(prompt_tokens=math.ceil(chars / 4), completion_tokens=math.ceil(len(text) / 4), calls=1)


def make_llm(spec: "str | dict | OpenAIChatConfig | LLM") -> LLM:
    """An LLM from a model name (OpenAI API), a config dict, a config, or a ready LLM (returned as is)."""
    if isinstance(spec, str):
        spec = {"model": spec}
    if isinstance(spec, dict):
        spec = llm_config(spec)
    if isinstance(spec, OpenAIChatConfig):
        return OpenAIChat(spec)
    if isinstance(spec, LLM):
        return spec
    raise LLMError(f"llm={type(spec).__name__} is not an LLM spec; pass a model name, a config dict "
                   "({'model': ..., 'base_url': ...}), an OpenAIChatConfig or an LLM")


def llm_config(spec: dict) -> OpenAIChatConfig:
    """The config from a dict; the error names the field but never echoes values (one might be a key)."""
    if "api_key" in spec:
        raise LLMError("llm config has an 'api_key' field: keys never go in configs (they are saved beside "
                       "runs); put it in an environment variable and name that in api_key_env")
    try:
        return OpenAIChatConfig.model_validate(spec)
    except ValidationError as e:
        error = e.errors()[0]
        raise LLMError(f"llm config field '{'.'.join(map(str, error['loc']))}': {error['msg']}; "
                       f"fields are {', '.join(OpenAIChatConfig.model_fields)}") from None
