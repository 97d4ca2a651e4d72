"""Endpoint routing: each episode keeps one OpenAI-compatible endpoint (sticky: its prefix cache stays warm),
chosen as the least loaded of those that are up.

An endpoint an episode failed on is set aside until it answers `GET /v1/models` again; the rollout checks
those set aside from time to time (a launched server is meanwhile restarted by its launcher, `vllm_server`).
"""

import os
from collections.abc import Callable

from synthml.agents.llm import PLACEHOLDER_KEY
from synthml.errors import LLMError, SynthMLError

PROBE_TIMEOUT_S = 10.0


def served_models(base_url: str, api_key_env: str = "OPENAI_API_KEY", timeout_s: float = PROBE_TIMEOUT_S) -> list[str]:
    """The model ids an endpoint serves (`GET /v1/models`); LLMError if it does not answer."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=os.environ.get(api_key_env) or PLACEHOLDER_KEY,
                           timeout=timeout_s, max_retries=0)
    try:
        return [model.id for model in client.models.list()]
    except openai.OpenAIError as e:
        raise LLMError(f"{base_url}: GET /models failed: {type(e).__name__}: {e}") from None


class EndpointPool:
    """Least-loaded, sticky choice among endpoints. `check(url)` says how one set aside is doing: True, up
    again; None, not yet (a launched server restarting); False, down with no restart coming."""

    def __init__(self, urls: list[str], check: Callable[[str], bool | None]) -> None:
        if not urls:
            raise SynthMLError("--endpoints: give at least one OpenAI-compatible base URL")
        self.load = dict.fromkeys(urls, 0)
        self.down: dict[str, str] = {}
        """Endpoints set aside, with why."""
        self.gone: set[str] = set()
        """Those of them that the last check found down with no restart coming."""
        self._check = check

    def acquire(self, avoid: str | None = None) -> str | None:
        """The least-loaded endpoint that is up (another than `avoid` if there is one); None if all are down."""
        up = [url for url in self.load if url not in self.down]
        if not up:
            return None
        preferred = [url for url in up if url != avoid] or up
        url = min(preferred, key=lambda u: self.load[u])
        self.load[url] += 1
        return url

    def release(self, url: str | None) -> None:
        if url in self.load:
            self.load[url] -= 1

    def failed(self, url: str, why: str) -> None:
        self.down[url] = why

    def revive(self) -> None:
        """Checks every endpoint set aside; those up again are back in the choice."""
        for url in list(self.down):
            state = self._check(url)
            if state:
                del self.down[url]
            if state is False:
                self.gone.add(url)
            else:
                self.gone.discard(url)

    @property
    def all_down(self) -> bool:
        return len(self.down) == len(self.load)

    @property
    def hopeless(self) -> bool:
        """Every endpoint is down, and none is being restarted."""
        return self.all_down and self.gone >= set(self.down)

    def why_down(self) -> str:
        return "; ".join(f"{url}: {why}" for url, why in self.down.items())


def is_up(url: str, api_key_env: str = "OPENAI_API_KEY") -> bool:
    """Whether an endpoint lists its models."""
    try:
        served_models(url, api_key_env)
    except LLMError:
        return False
    return True


def check_endpoints(urls: list[str], api_key_env: str = "OPENAI_API_KEY", flag: str = "--endpoints",
                    ) -> dict[str, list[str]]:
    """Every endpoint's models; a SynthMLError naming each one that does not answer, and the fix."""
    models, errors = {}, []
    for url in urls:
        try:
            models[url] = served_models(url, api_key_env)
        except LLMError as e:
            errors.append(str(e))
    if errors:
        raise SynthMLError(f"{flag}: {len(errors)} of {len(urls)} endpoint(s) do not answer: {'; '.join(errors)}. "
                           "Start the server (e.g. `synthml serve-llm`, `vllm serve MODEL`) or drop it from "
                           f"{flag}")
    return models


def endpoint_pool(urls: list[str], api_key_env: str, wanted: str | None, flag: str = "--endpoints",
                  check: Callable[[str], bool | None] | None = None) -> tuple[EndpointPool, str]:
    """The endpoints, once each answers, as a pool (checked again by `check`, else by listing their models), and
    the model they all serve."""
    models = check_endpoints(urls, api_key_env, flag=flag)
    return EndpointPool(urls, check or (lambda url: is_up(url, api_key_env))), choose_model(models, wanted)


def choose_model(models: dict[str, list[str]], wanted: str | None) -> str:
    """The model every endpoint serves: `wanted`, or the only one they all list."""
    common = set.intersection(*(set(ids) for ids in models.values())) if models else set()
    if wanted:
        missing = [url for url, ids in models.items() if wanted not in ids]
        if missing:
            raise SynthMLError(f"--model {wanted}: not served by {', '.join(missing)} (it serves "
                               f"{', '.join(models[missing[0]]) or 'nothing'}); pass a model it lists")
        return wanted
    if len(common) != 1:
        listed = ", ".join(sorted(common)) or "none in common"
        raise SynthMLError(f"--model: the endpoints serve {listed}; pass --model (or `model:` in the agent spec)")
    return common.pop()
