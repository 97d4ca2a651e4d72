"""Which trajectories a student learns from, and why the others are left out.

In order: a trajectory must not have failed on infrastructure (`infra_error`), must hold the task it was
given (`no_task_description`: recorded by an older SynthML), must end in a scored submission
(`no_submission`) against a known baseline (`no_baseline`), beat the task's baseline on the
test split by `min_improvement` (relative, in the metric's own direction: `no_improvement`), fit
`max_tokens` with the student's tokenizer, each turn of it when `per_turn` (`too_long`), and not repeat
another's commands on the same task (`duplicate`); then at most `per_task` of each task are kept, the most
improved first (`task_cap`).
"""

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from synthml.agents.trajectory import Trajectory
from synthml.envs.exit_status import ExitStatus
from synthml.envs.reward import RewardConfig
from synthml.tasks.improvement import relative_improvement
from synthml.training.chat import chat_of, turns_of

CHARS_PER_TOKEN = 4
REASONS = ("infra_error", "no_task_description", "no_submission", "no_baseline", "no_improvement", "too_long",
           "duplicate", "task_cap")
NEAR_ZERO = RewardConfig().epsilon
"""Below this |baseline| the improvement is absolute: the env's reward's threshold, so both measure alike."""


class FilterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_improvement: float = Field(0.0, description="Least relative gain over the baseline's test score, in the "
                                   "metric's direction (0: any gain; 0.05: 5% better).")
    max_tokens: int = Field(32768, ge=1, description="Most tokens in the chat (the paper kept <= 48K, trained at 32K).")
    dedupe: bool = Field(True, description="Keep one of the trajectories that ran the same commands on a task.")
    per_task: int | None = Field(None, ge=1, description="Most trajectories kept per task (None: no cap).")
    per_turn: bool = Field(False, description="One example per played reply, its context the request the agent "
                           "sent then (loss on that reply only), each within max_tokens; else one whole chat.")

    def chats(self, trajectory: Trajectory) -> list[list[dict[str, Any]]]:
        """The examples a kept trajectory becomes."""
        return turns_of(trajectory) if self.per_turn else [chat_of(trajectory)]


@dataclass
class Selection:
    kept: list[Trajectory]
    dropped: Counter = field(default_factory=Counter)
    """Trajectories left out, by reason."""
    tokens: dict[str, int] = field(default_factory=dict)
    """Tokens of each kept trajectory's examples, summed, by trajectory id."""
    lengths: dict[str, list[int]] = field(default_factory=dict)
    """Each kept trajectory's examples' lengths (one per turn, or the whole chat's), by trajectory id."""
    counted_with: str = ""
    """What measured the length: the tokenizer, or the estimate used without one."""


def select(trajectories: Iterable[Trajectory], config: FilterConfig,
           count_tokens: Callable[[list[dict]], int] | None = None, counted_with: str = "") -> Selection:
    """The trajectories to learn from, in input order."""
    count = count_tokens or _estimate
    selection = Selection([], counted_with=counted_with if count_tokens else
                          f"no tokenizer: characters / {CHARS_PER_TOKEN} (pass --tokenizer for exact counts)")
    seen: set[tuple[str, str]] = set()
    candidates: dict[str, list[tuple[float, int, Trajectory]]] = defaultdict(list)
    for order, trajectory in enumerate(trajectories):
        gain = improvement(trajectory)
        reason = _reason(trajectory, gain, config, seen, count, selection.lengths)
        if reason:
            selection.dropped[reason] += 1
        else:
            candidates[trajectory.task_id].append((gain, order, trajectory))
    chosen = []
    for group in candidates.values():
        ranked = sorted(group, key=lambda item: (-item[0], item[1]))
        cut = config.per_task or len(ranked)
        chosen += ranked[:cut]
        selection.dropped["task_cap"] += len(ranked[cut:])
    selection.kept = [trajectory for _, _, trajectory in sorted(chosen, key=lambda item: item[1])]
    kept_ids = {t.trajectory_id for t in selection.kept}
    selection.lengths = {key: value for key, value in selection.lengths.items() if key in kept_ids}
    selection.tokens = {key: sum(value) for key, value in selection.lengths.items()}
    selection.dropped = +selection.dropped
    return selection


def improvement(trajectory: Trajectory) -> float | None:
    """The final test score's gain over the baseline's, in the metric's direction, as the env's reward
    measures it with `relative` (absolute when the baseline is about 0), unbounded; None if unscored or with no
    baseline."""
    final, baseline = (trajectory.final or {}).get(trajectory.metric), trajectory.baseline.get("test")
    if final is None or baseline is None or trajectory.direction is None:
        return None
    return relative_improvement(final, baseline, trajectory.direction, epsilon=NEAR_ZERO)


def _reason(trajectory: Trajectory, gain: float | None, config: FilterConfig, seen: set,
            count: Callable[[list[dict]], int], lengths: dict[str, list[int]]) -> str | None:
    if trajectory.infra_error:
        return "infra_error"
    if not trajectory.task_description:
        return "no_task_description"  # recorded before trajectories kept it: its chat would miss the task
    if not _submitted(trajectory) or (trajectory.final or {}).get(trajectory.metric) is None:
        return "no_submission"
    if gain is None:
        return "no_baseline"
    if gain <= config.min_improvement:
        return "no_improvement"
    counted = [count(chat) for chat in config.chats(trajectory)]
    if max(counted, default=0) > config.max_tokens:
        return "too_long"
    lengths[trajectory.trajectory_id] = counted
    key = (trajectory.task_id, _commands_digest(trajectory))
    if config.dedupe and key in seen:
        return "duplicate"
    seen.add(key)
    return None


def _submitted(trajectory: Trajectory) -> bool:
    status = ExitStatus.parse(trajectory.exit_status)
    return status is not None and status.scored


def _commands_digest(trajectory: Trajectory) -> str:
    commands = [step.action for step in trajectory.steps if step.format_error is None]
    return hashlib.sha256(json.dumps(commands).encode()).hexdigest()


def _estimate(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content") or "")) for m in messages) // CHARS_PER_TOKEN
