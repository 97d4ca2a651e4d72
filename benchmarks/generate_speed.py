"""Time `synthml generate --n 100` as a user runs it, then check the bank it made.

Run: `python -m synthml.benchmarks.generate_speed --n 100 --workers 2`. Targets on a 2-core machine:
at least 90% of candidates accepted, across at least 6 families and 30 datasets, in at most 10
minutes. The command runs in a subprocess with a fresh bank (the runtime and the dataset cache are
built beforehand, as after `make install`); the figures come from the bank's manifest.
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ACCEPTED_SHARE, FAMILIES, DATASETS, SECONDS = 0.9, 6, 30, 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--out", type=Path, default=None, help="Bank folder (default: a temporary one).")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="synthml-bench-")) / "bank"
    shutil.rmtree(out, ignore_errors=True)
    _warm_up()
    command = [str(Path(sys.executable).with_name("synthml")), "generate", "--out", str(out), "--n", str(args.n),
               "--seed", str(args.seed), "--workers", str(args.workers)]
    started = time.monotonic()
    subprocess.run(command, check=True)
    seconds = time.monotonic() - started
    _report(out, args, seconds)


def _warm_up() -> None:
    """What `make install` leaves built: the task runtime and the materialised catalog."""
    from synthml.envs.runtime import generic_runtime
    from synthml.task_bank.catalog import catalog, load_table

    generic_runtime()
    for entry in catalog():
        load_table(entry)


def _report(out: Path, args, seconds: float) -> None:
    from synthml.task_bank.bank import TaskBank

    entries = TaskBank(out).entries()
    accepted = [e for e in entries if e.status == "accepted"]
    families, datasets = {e.family for e in accepted}, {e.dataset for e in accepted}
    console = Console()
    console.print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
                  f"`synthml generate --n {args.n} --seed {args.seed} --workers {args.workers}`")
    table = Table("measurement", "value", "target", "pass")
    rows = [("accepted", f"{len(accepted)} of {len(entries)}", f">= {ACCEPTED_SHARE:.0%}",
             len(accepted) >= ACCEPTED_SHARE * args.n),
            ("families covered", str(len(families)), f">= {FAMILIES}", len(families) >= FAMILIES),
            ("datasets covered", str(len(datasets)), f">= {DATASETS}", len(datasets) >= DATASETS),
            ("wall time", f"{seconds:.0f} s ({seconds / max(1, len(entries)):.1f} s a task)", f"<= {SECONDS:.0f} s",
             seconds <= SECONDS)]
    for name, value, target, ok in rows:
        table.add_row(name, value, target, "yes" if ok else "NO")
    console.print(table)
    sys.exit(0 if all(ok for *_, ok in rows) else 1)


if __name__ == "__main__":
    main()
