"""Dataset proposal: the LLM proposes a dataset for the topic; the proposal stands only if the Hub
(when reachable) or the offline catalog vouches for it, and the data can be read without network."""

import difflib
import random
import re
from dataclasses import dataclass
from functools import lru_cache

from synthml.errors import SynthMLError
from synthml.task_bank.catalog import DatasetEntry, HubCheck, catalog, hub_unavailable, verify_hub_dataset
from synthml.task_bank.synthesis import prompts
from synthml.task_bank.synthesis.calls import Recorder
from synthml.task_bank.synthesis.replies import Structured, ask
from synthml.task_bank.synthesis.spec import HUB_ID, Proposal, proposal_schema
from synthml.task_bank.synthesis.taxonomy import Topic

OFFERED = 10
"""Offline datasets listed in the proposal prompt."""
PROPOSALS = 2
"""Proposals asked for per task, each after the last one failed verification."""


class Unverified(SynthMLError):
    """A proposed dataset nobody could vouch for, or whose data cannot be read offline."""


@dataclass(frozen=True)
class Verified:
    entry: DatasetEntry
    proposed: str
    """The id as the LLM wrote it."""
    hub: HubCheck | None
    """What the Hub said of the entry's Hub twin (None: it has none)."""

    @property
    def verified_by(self) -> str:
        return "hub" if self.hub and self.hub.status == "verified" else "catalog"


def propose_dataset(recorder: Recorder, mode: Structured, topic: Topic, task_id: str, seed: int) -> Verified:
    """A verified proposal; an unverifiable one is answered with the reason, up to PROPOSALS in all."""
    offered, hub = offered_datasets(topic, f"{seed}:{task_id}"), hub_reachable()
    messages, schema = prompts.proposal(topic, offered, hub=hub), proposal_schema([e.id for e in offered], hub=hub)
    for attempt in range(PROPOSALS):
        purpose = "proposal" if attempt == 0 else f"proposal-retry{attempt}"
        reply = ask(recorder, messages, Proposal, schema, mode=mode, task_id=task_id, purpose=purpose)
        try:
            return verify_proposal(reply.dataset_id)
        except Unverified as e:
            if attempt + 1 == PROPOSALS:
                raise Unverified(f"{PROPOSALS} proposals, none verified; the last: {e}") from None
            messages = [*messages, {"role": "assistant", "content": reply.model_dump_json()},
                        {"role": "user", "content": f"{e} Propose another dataset, as JSON."}]
    raise AssertionError("unreachable: the last proposal returns or raises")


def offered_datasets(topic: Topic, seed: str) -> list[DatasetEntry]:
    """Catalog datasets of the task types the topic's area suits, in a seeded order."""
    types = topic.area_spec().task_types
    eligible = sorted((e for e in catalog() if e.task_type in types), key=lambda e: e.id) or sorted(
        catalog(), key=lambda e: e.id)
    return random.Random(seed).sample(eligible, min(OFFERED, len(eligible)))


def verify_proposal(dataset_id: str) -> Verified:
    """The catalog entry the proposal names (by catalog or Hub id), checked on the Hub when it is reachable."""
    proposed = dataset_id.strip()
    entry = next((e for e in catalog() if proposed.lower() in {e.id.lower(), (e.hub_id or "").lower()}), None)
    if entry is not None:
        return Verified(entry, proposed, hub_check(entry.hub_id) if entry.hub_id else None)
    hub = hub_check(proposed) if re.fullmatch(HUB_ID, proposed) else None
    if hub is not None and hub.status == "verified":
        raise Unverified(f"{hub.detail} It is not in the offline catalog, the only data this run reads without "
                         f"network; {_closest(proposed)}")
    why = hub.detail if hub is not None else f"'{proposed[:80]}' is not a Hub id (owner/name)."
    raise Unverified(f"dataset '{proposed[:80]}' could not be verified: it is not in the offline catalog, and "
                     f"{why[0].lower() + why[1:]} {_closest(proposed)}")


def _closest(proposed: str) -> str:
    known = [e.id for e in catalog()] + [e.hub_id for e in catalog() if e.hub_id]
    close = difflib.get_close_matches(proposed, known, n=1)
    return f"Did you mean '{close[0]}'?" if close else "Propose one of the offline datasets the prompt lists."


@lru_cache(maxsize=1)
def hub_reachable() -> bool:
    """Asked once a process: offline, only catalog datasets can be verified, so only they are offered."""
    return hub_unavailable() is None


@lru_cache(maxsize=1024)
def hub_check(repo_id: str) -> HubCheck:
    """One Hub question per dataset and process: offline, each would wait out a connect timeout."""
    return verify_hub_dataset(repo_id)
