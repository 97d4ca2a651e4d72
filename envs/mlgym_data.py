"""Data an MLGym checkout lacks until MLGym's own helper scripts make it (the house price split): each
helper runs in a sandbox on a copy of its folder, and only the new folders come back."""

import shlex
import tempfile
from pathlib import Path

from synthml.envs.runtime import ensure_runtime
from synthml.envs.sandbox import Mounts, disk
from synthml.envs.sandbox.config import SandboxConfig, SandboxSpec, sandbox_config
from synthml.envs.sandbox.files import copy_out, remove_tree
from synthml.errors import TaskError
from synthml.tasks.mlgym import HELPERS, mlgym_tasks
from synthml.tasks.mlgym_facts import mlgym_config

HELPER_REQUIREMENTS = ("numpy==2.4.6", "pandas==2.3.3", "scikit-learn==1.9.1")
"""The runtime MLGym's helpers run in: they predate pandas 3 (`drop(columns=..., axis=1)` fails there)."""
HELPER_TIMEOUT = 600


def prepare_mlgym_data(root: str | Path, ref: str | None = None, *, sandbox: SandboxSpec = "bwrap",
                       runtime: Path | None = None, log=print) -> list[Path]:
    """Generate the missing data that MLGym's helpers make (every task's, or `ref`'s), each helper run in a
    sandbox on a copy of its folder; returns the data folders written (none when nothing is missing).
    `runtime` defaults to one with pandas 2."""
    chosen = mlgym_config(root, ref) if ref else None
    folders: dict[Path, tuple[Path, ...]] = {}
    for task in mlgym_tasks(root, benchmark_only=False):
        if task.helpers and chosen in (None, task.config):
            folders.setdefault(task.helpers[0].parent.parent, task.helpers)
    if folders and runtime is None:
        runtime = ensure_runtime("mlgym-helpers", list(HELPER_REQUIREMENTS), log=log).path
    return [written for folder, helpers in folders.items()
            for written in _run_helpers(folder, helpers, sandbox_config(sandbox), runtime, log)]


def _run_helpers(folder: Path, helpers: tuple[Path, ...], sandbox: SandboxConfig,
                 runtime: Path | None, log) -> list[Path]:
    """Run the helpers on a copy of `folder` (the sandbox may own what it writes) and copy back the new folders."""
    root = Path(tempfile.mkdtemp(prefix="synthml-mlgym-helpers-"))
    scratch, bounded = root / "box", None
    try:
        bounded = disk.bounded(getattr(sandbox, "limits", None), scratch)
        copy_out(folder, HELPERS, scratch / HELPERS)
        box = sandbox.build(Mounts(workspace=scratch, runtime=runtime))
        try:
            for helper in helpers:
                log(f"generating data with MLGym's {helper.relative_to(folder.parent.parent)}")
                out = box.run(f"cd {HELPERS} && {shlex.join(['python', f'./{helper.name}'])}", HELPER_TIMEOUT)
                if out.exit_code != 0 or out.timed_out:
                    raise TaskError(f"{helper}: MLGym's helper failed (exit {out.exit_code}):\n{out.output[-2000:]}")
        finally:
            box.close()
        made = [p.name for p in scratch.iterdir() if p.name != HELPERS and not (folder / p.name).exists()]
        for name in made:
            copy_out(scratch, name, folder / name)  # plain files and folders only, never a link
        return [folder / name for name in made]
    finally:
        if bounded is not None:
            bounded.close()
        remove_tree(root)
