"""Structured replies: JSON asked for the way the endpoint supports it, parsed tolerantly, re-asked when
malformed.

`json_schema` is OpenAI's and vLLM's constrained form; `json_object` with a `schema` is llama.cpp's
(its server answers the other with HTTP 500); `off` relies on the prompt and the tolerant parser, which
takes the JSON from a bare reply, a fenced block or the first object in the text, and code files from
fenced blocks named by file.
"""

import json
import re
from collections.abc import Callable
from typing import Literal, TypeVar, get_args

from pydantic import ValidationError

from synthml.agents.llm import LLM, OpenAIChat
from synthml.errors import LLMError, SynthMLError
from synthml.task_bank.synthesis.calls import Recorder
from synthml.task_bank.synthesis.spec import FILES, Reply

Structured = Literal["auto", "json_schema", "json_object", "off"]
MODES: tuple[str, ...] = get_args(Structured)
R = TypeVar("R", bound=Reply)
REASKS = 2
FENCE = re.compile(r"```([^\n`]*)\n(.*?)```", re.S)
REASK = ("Your reply could not be used: {error}. Reply again with one JSON object that follows the schema "
         "asked for, and nothing else.")
_PROBE_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


class Unparsed(SynthMLError):
    """Replies that never parsed, after the re-asks."""


def response_format(mode: Structured, name: str, schema: dict) -> dict | None:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def structured_mode(llm: LLM, requested: Structured) -> Structured:
    """`auto`: the first form the endpoint accepts for a tiny probe (no retries), else `off`; the summary
    names the form chosen."""
    if requested != "auto":
        return requested
    if not isinstance(llm, OpenAIChat):
        return "json_schema"
    probe = OpenAIChat(llm.config.model_copy(update={"max_retries": 0}))  # llama.cpp answers json_schema with a 500
    try:
        for mode in ("json_schema", "json_object"):
            try:
                probe.complete([{"role": "user", "content": 'Answer {"ok": true}.'}],
                               response_format=response_format(mode, "probe", _PROBE_SCHEMA))
            except LLMError:
                continue
            return mode
    finally:
        probe.close()
    return "off"


def ask(recorder: Recorder, messages: list[dict], model: type[R], schema: dict, *, mode: Structured,
        task_id: str, purpose: str, round: int = 0, check: Callable[[R], list[str]] | None = None) -> R:
    """The step's reply as `model`; a malformed reply is shown back with what is wrong, up to REASKS times."""
    error = ""
    for attempt in range(REASKS + 1):
        name = purpose if attempt == 0 else f"{purpose}-reask{attempt}"
        record = recorder.complete(messages, task_id=task_id, purpose=name, round=round,
                                   response_format=response_format(mode, purpose, schema))
        try:
            return parse_reply(record.reply, model, check)
        except ValueError as e:
            error = str(e)
        messages = [*messages, {"role": "assistant", "content": record.reply},
                    {"role": "user", "content": REASK.format(error=error)}]
    raise Unparsed(f"{purpose}: {REASKS + 1} replies in a row could not be used; the last: {error}")


def parse_reply(text: str, model: type[R], check: Callable[[R], list[str]] | None = None) -> R:
    """The reply as `model`; ValueError saying what is wrong, in words the LLM can act on."""
    data = _json_object(text)
    files = fenced_files(text)
    if files and isinstance(data.get("files", {}), dict) and "files" in model.model_fields:
        written = {k: v for k, v in data.get("files", {}).items() if isinstance(v, str) and v.strip()}
        data["files"] = {**files, **written}
    try:
        reply = model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(map(str, first["loc"])) or "the object"
        raise ValueError(f"field '{where}': {first['msg']}") from None
    if check and (missing := check(reply)):
        raise ValueError(f"missing or empty: {', '.join(missing)}")
    return reply


def _json_object(text: str) -> dict:
    """The reply's JSON object: all of it, a fenced block that is one object, or the first object in the
    prose around the fences (never one inside a code block). A reply of named code blocks only is {}."""
    decoder, error = json.JSONDecoder(strict=False), None  # strict=False: raw newlines inside strings
    whole = [text.strip()] + [body.strip() for _, body in FENCE.findall(text)]
    for candidate in [c for c in whole if c.startswith("{")]:
        try:
            value, _ = decoder.raw_decode(candidate)
        except json.JSONDecodeError as e:
            error = error or e
            continue
        if isinstance(value, dict):
            return value
    prose = FENCE.sub("", text)
    for start in [m.start() for m in re.finditer(r"\{", prose)][:20]:
        try:
            value, _ = decoder.raw_decode(prose, start)
        except json.JSONDecodeError as e:
            error = error or e
            continue
        if isinstance(value, dict):
            return value
    if fenced_files(text):
        return {}
    raise ValueError(f"no JSON object in the reply ({error.msg} at character {error.pos})" if error
                     else "no JSON object in the reply")


def fenced_files(text: str) -> dict[str, str]:
    """Code blocks named by file: in the fence's info string, in a first-line comment, or on the line before."""
    files = {}
    for match in FENCE.finditer(text):
        info, body = match.groups()
        before = text[:match.start()].rstrip().rsplit("\n", 1)[-1]
        first_line = body.split("\n", 1)[0] if body.lstrip().startswith("#") else ""
        for place in (info, first_line, before):
            name = next((f for f in FILES if re.search(rf"(?<![\w.]){re.escape(f)}\b", place)), None)
            if name:
                files.setdefault(name, body)
                break
    return files
