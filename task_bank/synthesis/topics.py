"""Topic sampling: a taxonomy of ML research areas, expanded by the LLM into specific research
questions, deduplicated, interleaved across areas, with diversity statistics.

The topics of a bank are asked for once per seed and kept in `synthesis/topics-<seed>.json`; a resumed run, or a
longer one, reads them (and asks only for what is missing), so candidate i keeps its topic.
"""

import json
import math
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from synthml.io import write_atomic
from synthml.task_bank.synthesis import prompts
from synthml.task_bank.synthesis.calls import Recorder
from synthml.task_bank.synthesis.replies import Structured, Unparsed, ask
from synthml.task_bank.synthesis.spec import TopicList, topics_schema
from synthml.task_bank.synthesis.taxonomy import TAXONOMY, Topic

TOPICS = "synthesis/topics-{seed}.json"
SIMILAR = 0.7
"""Word-set Jaccard similarity from which two topics are one."""
EXPANSIONS = 3
"""Topic requests per run at most; the taxonomy's own examples fill any gap after them."""


def sample_topics(bank_root: Path, n: int, seed: int, recorder: Recorder, mode: Structured) -> list[Topic]:
    """The run's first n topics: those the bank keeps for the seed, then new ones from the LLM (taxonomy
    examples where it gives too few). Kept topics never move, so candidate i keeps its topic."""
    path = Path(bank_root) / TOPICS.format(seed=seed)
    kept = _read(path)
    fresh: list[Topic] = []
    for attempt in range(EXPANSIONS):
        if len(kept) + len(fresh) >= n:
            break
        asked = _expand(recorder, mode, seed, n - len(kept) - len(fresh), kept + fresh, attempt)
        fresh = dedupe(kept + fresh + asked)[len(kept):]
    topics = kept + interleave(fresh, seed)
    if len(topics) < n:
        topics += dedupe(topics + interleave(_examples(), seed))[len(topics):]
    if len(topics) > len(kept):
        _write(path, seed, topics)
    return topics[:n]


def _expand(recorder: Recorder, mode: Structured, seed: int, wanted: int, known: list[Topic],
            attempt: int) -> list[Topic]:
    order = random.Random(f"{seed}:areas").sample(TAXONOMY, len(TAXONOMY))
    messages = prompts.topics(order, math.ceil(wanted / len(TAXONOMY)), [t.topic for t in known])
    try:
        reply = ask(recorder, messages, TopicList, topics_schema([a.name for a in order]), mode=mode,
                    task_id=f"topics-{seed}", purpose="topics", round=attempt)
    except Unparsed:
        return []
    ideas = [(_area(idea.area, idea.topic), " ".join(idea.topic.split())) for idea in reply.topics if idea.usable()]
    return [Topic(area, topic, "llm") for area, topic in ideas if area]


def _area(name: str, topic: str) -> str | None:
    """The taxonomy area the LLM named, else the one whose words the area or topic share most; None: none."""
    exact = {a.name.lower(): a.name for a in TAXONOMY}
    if name.strip().lower() in exact:
        return exact[name.strip().lower()]
    words = _words(f"{name} {topic}")
    best = max(TAXONOMY, key=lambda a: len(words & _words(a.name)))
    return best.name if words & _words(best.name) else None


def dedupe(topics: list[Topic]) -> list[Topic]:
    """The first of each group of near-identical topics."""
    kept: list[Topic] = []
    for topic in topics:
        words = _words(topic.topic)
        if all(_jaccard(words, _words(k.topic)) < SIMILAR for k in kept):
            kept.append(topic)
    return kept


def interleave(topics: list[Topic], seed: int) -> list[Topic]:
    """Areas in a seeded order, one topic of each in turn: the first n topics span as many areas as they can."""
    by_area: dict[str, list[Topic]] = {}
    for topic in topics:
        by_area.setdefault(topic.area, []).append(topic)
    order = random.Random(f"{seed}:interleave").sample(sorted(by_area), len(by_area))
    queues = [by_area[a] for a in order]
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


@dataclass(frozen=True)
class Diversity:
    """Areas a run's topics cover, and how evenly."""

    topics: int
    areas: int
    of_areas: int
    """Areas in the taxonomy."""
    evenness: float
    """Normalised entropy of the area counts: 1 is perfectly even."""
    from_llm: int
    by_area: dict[str, int]


def diversity(topics: list[Topic]) -> Diversity:
    counts = Counter(t.area for t in topics)
    total = sum(counts.values())
    entropy = -sum(c / total * math.log(c / total) for c in counts.values()) if total else 0.0
    return Diversity(topics=total, areas=len(counts), of_areas=len(TAXONOMY),
                     evenness=round(entropy / math.log(len(TAXONOMY)), 3) + 0.0,
                     from_llm=sum(t.source == "llm" for t in topics), by_area=dict(sorted(counts.items())))


def _examples() -> list[Topic]:
    return [Topic(a.name, example, "taxonomy") for a in TAXONOMY for example in a.examples]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _read(path: Path) -> list[Topic]:
    return [Topic(**t) for t in json.loads(path.read_text())["topics"]] if path.is_file() else []


def _write(path: Path, seed: int, topics: list[Topic]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"seed": seed, "diversity": asdict(diversity(topics)), "topics": [t.__dict__ for t in topics]}
    write_atomic(path, json.dumps(data, indent=1) + "\n")
