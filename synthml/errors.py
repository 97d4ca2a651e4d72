"""The error tree. Messages name the file, field or flag at fault and say the fix."""

import difflib
from collections.abc import Sequence


class SynthMLError(Exception):
    """Root of every error SynthML raises on purpose."""


class TaskError(SynthMLError, ValueError):
    """A task directory or YAML is malformed or incomplete."""


class ConfigError(SynthMLError, ValueError):
    """An argument, flag or config field has a value SynthML cannot use."""


class SandboxError(SynthMLError, RuntimeError):
    """A sandbox could not be started, reached or used (an infrastructure failure)."""


class SandboxUnavailableError(SandboxError):
    """The chosen sandbox backend cannot run on this machine (missing binary, engine or extra)."""


class CopyRefused(SynthMLError, ValueError):
    """Files a sandbox left are over a bound on what is copied out of it (size, count, depth, type): the
    failure of whoever wrote them (the agent, a candidate task's code), never the infrastructure's."""


class LLMError(SynthMLError, RuntimeError):
    """A language-model endpoint failed or answered garbage."""


class LLMRequestRejected(LLMError):
    """The endpoint refused this one request (HTTP 400, 413 or 422): the prompt is at fault, not the endpoint."""


def did_you_mean(name: str, known: Sequence[str], listed: str = "tasks") -> str:
    """The end of an unknown-name message: the closest known name, else every known one."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean '{close[0]}'?" if close else f"{listed}: {', '.join(known)}"


def remote_message(error: Exception) -> str:
    """Our message inside the wrapping a remote process adds (a Ray actor or task that raised SynthMLError)."""
    text, marker = str(error), f"{SynthMLError.__name__}: "
    return text[text.rindex(marker) + len(marker):].strip() if marker in text else text
