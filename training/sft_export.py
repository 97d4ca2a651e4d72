"""`export_sft`: trajectories found under a folder -> filtered chats, as verl SFT parquet and TRL-style JSONL.

    DATA/train.parquet    messages and tools as JSON strings (pyarrow would merge the nested message
                          types across rows), with the trajectory's id, task, agent, model, gain and length,
                          and with `per_turn` the turn's index (one row per turn, loss on its last message);
                          verl reads it through `data.custom_cls` (see `verl_dataset`)
    DATA/train.jsonl      {"messages": [...], "tools": [...]} per line (TRL's conversational format)
    DATA/export.json      the filter config, what measured lengths, counts kept and dropped by reason
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthml.agents.trajectory import Trajectory, read_trajectories
from synthml.errors import SynthMLError
from synthml.io import atomic_path, write_atomic
from synthml.training.chat import tools_of
from synthml.training.filters import FilterConfig, Selection, improvement, select

PARQUET, JSONL, SUMMARY = "train.parquet", "train.jsonl", "export.json"
TRAJECTORY_KEYS = {"schema_version", "steps", "exit_status", "trajectory_id"}


@dataclass
class ExportSummary:
    out: Path
    files: int
    """JSONL files that held trajectories."""
    read: int
    selection: Selection


def export_sft(source: str | Path, out: str | Path, config: FilterConfig | None = None,
               tokenizer: str | Path | None = None) -> ExportSummary:
    """Every trajectory under `source` (searched recursively), filtered, written to `out`."""
    config, out = config or FilterConfig(), Path(out)
    if tokenizer:
        check_context(tokenizer, config.max_tokens, "--max-tokens")
    files = trajectory_files(Path(source))
    if not files:
        raise SynthMLError(f"{source}: no trajectory JSONL under it; point at a rollout store (--out of `synthml "
                           "rollout`), a bench output or any folder holding trajectories")
    trajectories = list(_unique(t for path in files for t in read_trajectories(path, skip_torn=True)))
    count, counted_with = token_counter(tokenizer) if tokenizer else (None, "")
    selection = select(trajectories, config, count, counted_with)
    if not selection.kept:
        dropped = ", ".join(f"{reason} {n}" for reason, n in selection.dropped.most_common())
        raise SynthMLError(f"{source}: none of {len(trajectories)} trajectories passed the filters ({dropped}); "
                           "loosen them (--min-improvement -1 keeps any scored submission, --max-tokens)")
    out.mkdir(parents=True, exist_ok=True)
    rows = [row for t in selection.kept for row in _rows(t, config, selection.lengths[t.trajectory_id])]
    _write_parquet(out / PARQUET, rows, per_turn=config.per_turn)
    _write_lines(out / JSONL, (json.dumps({"messages": r["chat"], "tools": r["tool_list"]}) for r in rows))
    summary = ExportSummary(out, len(files), len(trajectories), selection)
    write_atomic(out / SUMMARY, json.dumps(_summary_json(summary, config, source), indent=2) + "\n")
    return summary


def trajectory_files(root: Path) -> list[Path]:
    """JSONL files under `root` whose first record is a trajectory (attempt and call logs are not)."""
    if not root.exists():
        raise SynthMLError(f"{root}: no such file or folder")
    paths = [root] if root.is_file() else sorted(root.rglob("*.jsonl"))
    return [path for path in paths if _holds_trajectories(path)]


def token_counter(tokenizer: str | Path) -> tuple[Any, str]:
    """Counts a chat's tokens with the student's tokenizer and chat template."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise SynthMLError("--tokenizer needs transformers: pip install transformers (or leave --tokenizer out "
                           "to estimate lengths)") from None
    try:
        loaded = AutoTokenizer.from_pretrained(str(tokenizer))
    except (OSError, ValueError) as e:
        raise SynthMLError(f"--tokenizer {tokenizer}: cannot load a tokenizer there ({e}); pass a local folder "
                           "with tokenizer files") from None

    def count(messages: list[dict]) -> int:
        return len(loaded.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])

    return count, f"the tokenizer at {tokenizer}"


def _holds_trajectories(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as f:
        first = next((line for line in f if line.strip()), "")
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and record.keys() >= TRAJECTORY_KEYS


def _unique(trajectories: Iterator[Trajectory]) -> Iterator[Trajectory]:
    """Each trajectory once, though a folder may hold copies (a bench's JSONL and a rollout store of it)."""
    seen = set()
    for trajectory in trajectories:
        if trajectory.trajectory_id not in seen:
            seen.add(trajectory.trajectory_id)
            yield trajectory


def check_context(model: str | Path, length: int, flag: str) -> None:
    """Refuses examples longer than the student can read: its config.json's positions, where the folder has one."""
    config = Path(model) / "config.json"
    try:
        context = json.loads(config.read_text()).get("max_position_embeddings") if config.is_file() else None
    except (ValueError, AttributeError):
        raise SynthMLError(f"{config}: not a model config (a JSON object); fix or remove it") from None
    if isinstance(context, int) and length > context:
        raise SynthMLError(f"{flag} {length}: longer than the student's context ({context} positions, {config}); "
                           f"pass {flag} {context} or less")


def _rows(trajectory: Trajectory, config: FilterConfig, lengths: list[int]) -> list[dict[str, Any]]:
    tools, gain = tools_of(trajectory), improvement(trajectory)
    return [{"messages": json.dumps(chat), "tools": json.dumps(tools), "chat": chat, "tool_list": tools,
             "trajectory_id": trajectory.trajectory_id, "task_id": trajectory.task_id, "agent": trajectory.agent,
             "model": trajectory.model or "", "improvement": gain, "tokens": tokens, "turn": turn}
            for turn, (chat, tokens) in enumerate(zip(config.chats(trajectory), lengths, strict=True))]


def _write_parquet(path: Path, rows: list[dict[str, Any]], per_turn: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = ["messages", "tools", "trajectory_id", "task_id", "agent", "model", "improvement", "tokens",
               *(["turn"] if per_turn else [])]
    table = pa.table({name: [row[name] for row in rows] for name in columns},
                     schema=pa.schema([(name, pa.float64() if name == "improvement" else
                                        pa.int64() if name in ("tokens", "turn") else pa.string())
                                       for name in columns]))
    with atomic_path(path) as staged:
        pq.write_table(table, staged)


def _write_lines(path: Path, lines: Iterator[str]) -> None:
    write_atomic(path, "".join(f"{line}\n" for line in lines))


def _summary_json(summary: ExportSummary, config: FilterConfig, source: str | Path) -> dict[str, Any]:
    selection = summary.selection
    return {"source": str(source), "files": summary.files, "read": summary.read, "kept": len(selection.kept),
            "dropped": dict(selection.dropped), "filters": config.model_dump(), "lengths": selection.counted_with,
            "examples": sum(map(len, selection.lengths.values())), "tokens": sum(selection.tokens.values())}
