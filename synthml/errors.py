"""The error tree. Messages name the file, field or flag at fault and say the fix."""


class SynthMLError(Exception):
    """Root of every error SynthML raises on purpose."""


class TaskError(SynthMLError, ValueError):
    """A task directory or YAML is malformed or incomplete."""


class SandboxError(SynthMLError, RuntimeError):
    """A sandbox could not be started, reached or used (an infrastructure failure)."""


class SandboxUnavailableError(SandboxError):
    """The chosen sandbox backend cannot run on this machine (missing binary, engine or extra)."""


class LLMError(SynthMLError, RuntimeError):
    """A language-model endpoint failed or answered garbage."""
