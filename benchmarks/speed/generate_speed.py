"""Time `synthml generate --n 100` as a user runs it, then check the bank it made.

Run from a checkout's root: `python -m benchmarks.speed.generate_speed --n 100 --workers 2`. Targets on a
2-core machine: at least 80 of 100 candidates accepted (each past the whole ladder: the reference beats the cheap
default on both splits with 95% confidence), across at least 11 families, 3 submission kinds and 20
datasets, no dataset over 10% of the bank, in at most 10 minutes. The command runs in a subprocess with
a fresh bank (the runtime and the dataset cache are built beforehand, as after `make install`); the
figures come from the bank's manifest. The machine's 1-minute load before the run (other work) and its mean
through the run (the run's own workers included) are printed beside each figure: a figure taken on a machine
busy before the run (load over half the cores) is labelled so.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

ACCEPTED_SHARE, FAMILIES, SUBMISSIONS, DATASETS, SECONDS = 0.8, 11, 3, 20, 600.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--out", type=Path, default=None, help="Bank folder (default: a temporary one).")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="synthml-bench-")) / "bank"
    shutil.rmtree(out, ignore_errors=True)
    before = os.getloadavg()[0]
    _warm_up()
    command = [str(Path(sys.executable).with_name("synthml")), "generate", "--out", str(out), "--n", str(args.n),
               "--seed", str(args.seed), "--workers", str(args.workers)]
    started, load = time.monotonic(), []
    with subprocess.Popen(command) as run:
        while run.poll() is None:
            load.append(os.getloadavg()[0])
            time.sleep(5)
    if run.returncode:
        sys.exit(f"`{' '.join(command)}` failed with exit code {run.returncode}")
    _report(out, args, time.monotonic() - started, before, load)


def _warm_up() -> None:
    """What `make install` leaves built: the task runtime and the materialised catalog."""
    from synthml.envs.runtime import generic_runtime
    from synthml.task_bank.catalog import catalog, load_table

    generic_runtime()
    for entry in catalog():
        load_table(entry)


def _report(out: Path, args, seconds: float, before: float, load: list[float]) -> None:
    from synthml.task_bank.coverage import MAX_DATASET_SHARE, coverage, of_entry
    from synthml.tasks.bank import TaskBank

    entries = TaskBank(out).entries()
    accepted = [e for e in entries if e.status == "accepted"]
    bank = coverage([of_entry(e) for e in accepted])
    mean_load = statistics.mean(load or [os.getloadavg()[0]])
    cores = os.cpu_count() or 1
    note = (f"{cores} cores; load {before:.2f} before, {mean_load:.2f} during (its own {args.workers} workers)"
            + (" (UNDER LOAD)" if before > 0.5 * cores else ""))
    console = Console()
    console.print(f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}; "
                  f"`synthml generate --n {args.n} --seed {args.seed} --workers {args.workers}`")
    table = Table("measurement", "value", "target", "pass", "machine load")
    rows = [("accepted", f"{len(accepted)} of {len(entries)}", f">= {ACCEPTED_SHARE:.0%}",
             len(accepted) >= ACCEPTED_SHARE * args.n),
            ("families covered", str(len(bank.families)), f">= {FAMILIES}", len(bank.families) >= FAMILIES),
            ("submission kinds", str(len(bank.submissions)), f">= {SUBMISSIONS}", len(bank.submissions) >= SUBMISSIONS),
            ("datasets covered", str(len(bank.datasets)), f">= {DATASETS}", len(bank.datasets) >= DATASETS),
            ("largest dataset share", f"{bank.largest_dataset_share:.1%}", f"<= {MAX_DATASET_SHARE:.0%}",
             bank.balanced),
            ("wall time", f"{seconds:.0f} s ({seconds / max(1, len(entries)):.1f} s a task)", f"<= {SECONDS:.0f} s",
             seconds <= SECONDS)]
    for name, value, target, ok in rows:
        table.add_row(name, value, target, "yes" if ok else "NO", note)
    console.print(table)
    for line in bank.lines():
        console.print(f"  {line}", highlight=False)
    rejected = Counter(e.report.rejections[0].reason for e in entries if e.status == "rejected" and e.report.rejections)
    console.print("  rejected: " + (", ".join(f"{reason} {n}" for reason, n in rejected.most_common()) or "none"))
    sys.exit(0 if all(ok for *_, ok in rows) else 1)


if __name__ == "__main__":
    main()
