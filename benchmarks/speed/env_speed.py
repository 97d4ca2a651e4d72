"""Speed of SynthML-v0 beside a raw bubblewrap spawn and a SWE-ReX local bash session.

Run from a checkout's root: `python -m benchmarks.speed.env_speed --n 30`. The measurements run interleaved, round by
round, in one process, so load on the machine hits them alike; each row shows the machine's mean
1-minute load while it was measured, and rows taken under load (over half a core busy per core) say so.
Targets: reset median <= 100 ms, an env step (seccomp filter, session keyring and, as root, cgroups on)
<= 2x a raw bwrap spawn, and a SWE-ReX session command >= 3x an env step. The raw spawn is also timed
with each sealing part alone, which gives the added cost of each.
"""

import argparse
import asyncio
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

RESET_TARGET_MS = 100.0
BWRAP_RATIO_TARGET = 2.0
SWEREX_RATIO_TARGET = 3.0
RAW_BWRAP_FLAGS = ["--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev",
                   "--proc", "/proc", "--tmpfs", "/tmp"]
SWEREX_HINT = "pip install 'synthml[swerex]'"
ROWS = {"reset": "env.reset() (diabetes-progression)", "step": 'env.step("true")',
        "bwrap": "raw bwrap spawn, bash -c true", "bwrap_seccomp": "  + seccomp filter",
        "bwrap_keyring": "  + fresh session keyring", "bwrap_cgroup": "  + memory cgroup",
        "swerex": "SWE-ReX run_in_session(true)",
        "swerex_fast": "  same, delaybeforesend=None", "swerex_start": "SWE-ReX start + session",
        "swerex_fast_start": "  same, delaybeforesend=None"}


@dataclass
class Series:
    name: str
    ms: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    """The machine's 1-minute load average after each measurement."""
    skipped: str | None = None
    """Why the row has no numbers, if it has none."""

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def under_load(self) -> bool:
        return statistics.mean(self.load) > 0.5 * (os.cpu_count() or 1)

    def add(self, ms: float) -> None:
        self.ms.append(ms)
        self.load.append(os.getloadavg()[0])

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.ms, n=10, method="inclusive")[-1] if len(self.ms) > 1 else self.ms[0]


def timed(function: Callable[[], Any]) -> float:
    """Wall-clock milliseconds of one call."""
    start = time.perf_counter()
    function()
    return (time.perf_counter() - start) * 1000


class SwerexProbe:
    """A SWE-ReX LocalDeployment with one bash session; `step` runs `true` in it."""

    def __init__(self, fast: bool) -> None:
        from swerex.deployment.local import LocalDeployment
        from swerex.runtime.abstract import BashAction, CreateBashSessionRequest

        self.loop = asyncio.new_event_loop()
        logger = logging.getLogger("synthml.benchmarks.swerex")  # SWE-ReX's own logs DEBUG to the terminal
        logger.setLevel(logging.WARNING)
        self.deployment = LocalDeployment(logger=logger)
        self.action = BashAction(command="true", check="silent")
        self.start_ms = timed(lambda: self._start(CreateBashSessionRequest(), fast))

    def _start(self, request: Any, fast: bool) -> None:
        self.loop.run_until_complete(self.deployment.start())
        self.loop.run_until_complete(self.deployment.runtime.create_session(request))
        if fast:  # what envs/sandbox/swerex.py does: pexpect's 50 ms delay before each send, gone
            self.deployment.runtime.sessions[request.session].shell.delaybeforesend = None

    def step(self) -> None:
        self.loop.run_until_complete(self.deployment.runtime.run_in_session(self.action))

    def close(self) -> None:
        self.loop.run_until_complete(self.deployment.stop())
        self.loop.close()


def swerex_probes(series: dict[str, Series]) -> list[tuple[Series, SwerexProbe]]:
    """Started probes, default and tuned; rows skipped with the reason where swe-rex is missing."""
    probes = []
    for key, fast in (("swerex", False), ("swerex_fast", True)):
        try:
            probe = SwerexProbe(fast)
        except ImportError as e:
            series[key].skipped = f"swe-rex is not importable ({e.name}): {SWEREX_HINT}"
            series[key + "_start"].skipped = "swe-rex missing (see above)"
            continue
        series[key + "_start"].add(probe.start_ms)
        probe.step()  # warm-up
        probes.append((series[key], probe))
    return probes


def raw_bwrap(binary: str, *, seccomp: bool = False, launcher: tuple[str, ...] = ()) -> Callable[[], None]:
    """A bare bwrap spawn, with the seccomp filter (a fresh descriptor each time, as the sandbox passes it)
    or behind a launcher (keyctl's new keyring, the cgroup join)."""
    from synthml.envs.sandbox.seccomp import filter_fd

    def spawn() -> None:
        fd = filter_fd() if seccomp else None
        try:
            options = ["--seccomp", str(fd)] if fd is not None else []
            subprocess.run([*launcher, binary, *options, *RAW_BWRAP_FLAGS, "bash", "-c", "true"], check=True,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           pass_fds=(fd,) if fd is not None else ())
        finally:
            if fd is not None:
                os.close(fd)

    return spawn


def sealing_spawns(binary: str, series: dict[str, Series]) -> tuple[dict[str, Callable[[], None]], Any]:
    """The raw spawn with each sealing part alone; a part this machine lacks is a skipped row. Returns the
    spawns and the cgroup to close."""
    from synthml.envs.sandbox import cgroups, keyring

    spawns = {"bwrap_seccomp": raw_bwrap(binary, seccomp=True)}
    if keyring.launcher():
        spawns["bwrap_keyring"] = raw_bwrap(binary, launcher=tuple(keyring.launcher()))
    else:
        series["bwrap_keyring"].skipped = "keyctl is missing or refused: apt-get install -y keyutils"
    group = cgroups.SandboxCgroup(16 << 30) if cgroups.available() else None
    if group:
        spawns["bwrap_cgroup"] = raw_bwrap(binary, launcher=tuple(group.launcher()))
    else:
        series["bwrap_cgroup"].skipped = "no cgroups: needs root and a cgroup v1 memory hierarchy"
    return spawns, group


def measure(task: Path, n: int) -> dict[str, Series]:
    from synthml.envs.env import SynthMLEnv
    from synthml.envs.runtime import generic_runtime

    generic_runtime()  # built once, before any timing
    binary = shutil.which("bwrap")
    if binary is None:
        sys.exit("bubblewrap is not installed: run `apt-get install -y bubblewrap`")
    series = {key: Series(name) for key, name in ROWS.items()}
    reset_env, step_env = SynthMLEnv(task=task), SynthMLEnv(task=task, max_steps=n + 10)
    reset_env.reset()  # warm-up: the pristine workspace is built on the first reset
    step_env.reset()
    step_env.step("true")
    probes = swerex_probes(series)
    spawns, group = sealing_spawns(binary, series)
    spawns = {"bwrap": raw_bwrap(binary), **spawns}
    for spawn in spawns.values():
        spawn()
    try:
        for _ in range(n):
            series["reset"].add(timed(reset_env.reset))
            series["step"].add(timed(lambda: step_env.step("true")))
            for key, spawn in spawns.items():
                series[key].add(timed(spawn))
            for row, probe in probes:
                row.add(timed(probe.step))
    finally:
        reset_env.close()
        step_env.close()
        for _, probe in probes:
            probe.close()
        if group:
            group.close()
    return series


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.machine())
    bwrap = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({model}), {len(os.sched_getaffinity(0))} usable; Python "
            f"{platform.python_version()}; {platform.system()} {platform.release()}; {bwrap}; "
            f"{'root' if os.geteuid() == 0 else 'unprivileged'}")


def timings_table(series: dict[str, Series]) -> Table:
    table = Table(title="SynthML-v0 speed (ms)")
    for column in ("measurement", "n", "median", "p90", "min", "load (1 min)"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    for row in series.values():
        if row.skipped:
            table.add_row(row.name, "-", "skipped", escape(row.skipped), "", "")
        else:
            load = f"{statistics.mean(row.load):.2f}" + (" UNDER LOAD" if row.under_load else "")
            table.add_row(row.name, str(len(row.ms)), f"{row.median:.1f}", f"{row.p90:.1f}", f"{min(row.ms):.1f}",
                          load)
    return table


def checks_table(series: dict[str, Series]) -> Table:
    table = Table(title="Targets")
    for column in ("check", "value", "target", "verdict"):
        table.add_column(column)

    def add(check: str, value: float, unit: str, target: str, passed: bool) -> None:
        table.add_row(check, f"{value:.2f}{unit}", target, "[green]PASS" if passed else "[red]MISS")

    reset, step, bwrap = series["reset"].median, series["step"].median, series["bwrap"].median
    add("reset median", reset, " ms", f"<= {RESET_TARGET_MS:g} ms", reset <= RESET_TARGET_MS)
    add("env step / raw bwrap spawn", step / bwrap, "x", f"<= {BWRAP_RATIO_TARGET:g}x",
        step / bwrap <= BWRAP_RATIO_TARGET)
    for key in ("bwrap_seccomp", "bwrap_keyring", "bwrap_cgroup"):
        part = series[key]
        if not part.skipped:
            table.add_row(f"added by{part.name.strip().removeprefix('+')}", f"{part.median - bwrap:+.2f} ms",
                          "(context)", "info")
    swerex, fast = series["swerex"], series["swerex_fast"]
    if swerex.skipped:
        table.add_row("SWE-ReX step / env step", "-", f">= {SWEREX_RATIO_TARGET:g}x",
                      escape(f"skipped: {swerex.skipped}"))
        return table
    add("SWE-ReX step / env step", swerex.median / step, "x", f">= {SWEREX_RATIO_TARGET:g}x",
        swerex.median / step >= SWEREX_RATIO_TARGET)
    table.add_row("  same, delaybeforesend=None", f"{fast.median / step:.2f}x", "(context)", "info")
    return table


def main(argv: list[str] | None = None) -> None:
    from synthml.envs.env import sample_bank

    parser = argparse.ArgumentParser(description="Time SynthML-v0 reset/step beside raw bwrap and SWE-ReX. "
                                     "Example: python -m benchmarks.speed.env_speed --n 50")
    parser.add_argument("--n", type=int, default=30, help="rounds of each measurement (default 30)")
    parser.add_argument("--task", default=None,
                        help="task dir, task YAML or BANK:ID (default: the sample bank's diabetes-progression)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    series = measure(args.task or sample_bank() / "diabetes-progression", args.n)
    console = Console()
    console.print(machine(), soft_wrap=True)
    console.print(timings_table(series))
    console.print(checks_table(series))


if __name__ == "__main__":
    main()
