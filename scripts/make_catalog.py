"""Fills in the measured fields of task_bank/catalog.yaml: `rows`, `n_columns` and `sha256`.

Run from the repository root after adding or editing an entry, changing its cleaning or upgrading a
source package (pandas, pyarrow, datasets ...): `.venv/bin/python scripts/make_catalog.py`.
`--only ID [ID ...]` refreshes some entries; `--check` reports stale entries without writing (exit 1).

Each table is built from its source package and written as parquet by `datasets` into the cache (so
the next `load_table` is warm); its hash is written back. Only those three lines of each entry change:
comments, order and hand-written fields stay as they are, so the diff shows exactly what moved.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

import yaml

from synthml.task_bank.catalog import DatasetEntry, build_table, catalog, catalog_path, parquet_path, write_parquet

MEASURED = ("rows", "n_columns", "sha256")
_ENTRY_START = re.compile(r"^- id: *(\S+) *$", re.M)


def split_entries(text: str) -> list[str]:
    """The file as [preamble, entry, entry, ...]; each entry starts at its `- id:` line."""
    starts = [m.start() for m in _ENTRY_START.finditer(text)]
    return [text[a:b] for a, b in zip([0, *starts], [*starts, len(text)], strict=True)]


def spec_entry(block: str) -> DatasetEntry:
    """An entry as written by hand: measured fields may still be missing."""
    (raw,) = yaml.safe_load(block)
    return DatasetEntry.model_validate({"rows": 0, "n_columns": 0, "sha256": "", **raw})


def measure(entry: DatasetEntry) -> dict[str, object]:
    """Build the table, write it into the cache under its new hash, and return the measured fields."""
    frame = build_table(entry)
    scratch = parquet_path(entry).with_name(f".{os.getpid()}.make_catalog.parquet")
    sha = write_parquet(frame, scratch)
    os.replace(scratch, parquet_path(entry.model_copy(update={"sha256": sha})))
    return {"rows": len(frame), "n_columns": frame.shape[1], "sha256": sha}


def with_measured(block: str, measured: dict[str, object]) -> str:
    """`block` with its measured lines replaced (or added before `columns:`), all else untouched."""
    for key, value in measured.items():
        line = f"  {key}: '{value}'" if key == "sha256" else f"  {key}: {value}"
        pattern = re.compile(rf"^  {key}:.*$", re.M)
        if pattern.search(block):
            block = pattern.sub(line, block, count=1)
        else:
            block = re.sub(r"^  columns:", f"{line}\n  columns:", block, count=1, flags=re.M)
    return block


def refresh(block: str, *, check: bool) -> tuple[str, bool]:
    entry = spec_entry(block)
    started = time.perf_counter()
    measured = measure(entry)
    stale = any(getattr(entry, key) != measured[key] for key in MEASURED)
    mark = "STALE" if stale and check else "updated" if stale else "ok"
    print(
        f"{entry.id:44} {measured['rows']:>6} x {measured['n_columns']:<3} {str(measured['sha256'])[:12]}  "
        f"{mark} ({time.perf_counter() - started:.2f} s)"
    )
    return (block if check else with_measured(block, measured)), stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="refresh only these dataset ids")
    parser.add_argument("--check", action="store_true", help="report stale entries, write nothing (exit 1 if any)")
    parser.add_argument("--catalog", type=Path, default=catalog_path(), help="the YAML to refresh")
    args = parser.parse_args(argv)
    preamble, *blocks = split_entries(args.catalog.read_text())
    ids = [_ENTRY_START.match(block).group(1) for block in blocks]
    unknown = sorted(set(args.only or ()) - set(ids))
    if unknown:
        parser.error(f"no entries {unknown} in {args.catalog}")
    started, stale = time.perf_counter(), []
    for i, (dataset_id, block) in enumerate(zip(ids, blocks, strict=True)):
        if args.only is None or dataset_id in args.only:
            blocks[i], changed = refresh(block, check=args.check)
            stale += [dataset_id] * changed
    print(f"{len(blocks)} entries, {len(stale)} stale, {time.perf_counter() - started:.1f} s")
    if args.check:
        return 1 if stale else 0
    args.catalog.write_text(preamble + "".join(blocks))
    if args.catalog == catalog_path():
        catalog.cache_clear()
        catalog()  # the rewritten file must still parse and validate
    return 0


if __name__ == "__main__":
    sys.exit(main())
