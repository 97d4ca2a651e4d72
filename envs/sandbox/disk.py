"""A folder bounded in bytes and inodes: an ext4 file system in a sparse file, loop-mounted over it.

What a sandbox may write on the host (the agent's home and /tmp) lives in one of these when running
as root, so a sandbox cannot fill the host's disk or its inodes; a write past the bound fails with
ENOSPC inside the sandbox. Making one costs about 20 ms (mkfs without a journal; inode tables are
never zeroed ahead, so the sparse image holds only what was written). Elsewhere (not root, no
mkfs.ext4 or loop devices) the folder is a plain one and only the per-file rlimit applies, which
`available()` says once. An image is named after the process that made it, so the first check of a
later process unmounts and deletes those of processes that died without closing theirs (a killed
rollout worker).
"""

import contextlib
import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path

from synthml.envs.sandbox.limits import Limits
from synthml.errors import SandboxError

log = logging.getLogger(__name__)
IMAGE_SUFFIX = ".synthml.img"
MKFS = ("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "lazy_itable_init=1,nodiscard")


@functools.cache
def available() -> bool:
    """Whether bounded folders can be made here; the first `False` is logged with the reason."""
    reason = None
    if os.geteuid() != 0:
        reason = "not running as root"
    elif shutil.which("mkfs.ext4") is None or shutil.which("mount") is None:
        reason = "mkfs.ext4 or mount is missing (apt-get install -y e2fsprogs mount)"
    elif not Path("/dev/loop-control").exists():
        reason = "no loop devices (/dev/loop-control)"
    if reason is None:
        _remove_orphans()
    if reason:
        log.warning("sandbox folders on the host are not bounded in bytes or inodes (%s): only each file's size is "
                    "(RLIMIT_FSIZE)", reason)
    return reason is None


class BoundedFolder:
    """`path` (created here, empty) backed by its own file system of `size_mb` MiB and `inodes` files."""

    def __init__(self, path: Path, size_mb: int, inodes: int) -> None:
        self.path, self.image = path, path.with_name(f"{path.name}.{os.getpid()}{IMAGE_SUFFIX}")
        path.mkdir()
        with self.image.open("wb") as image:
            image.truncate(size_mb << 20)
        try:
            _run([*MKFS, "-N", str(inodes), str(self.image)])
            _run(["mount", "-o", "loop,nosuid,nodev,noinit_itable", str(self.image), str(path)])
        except SandboxError:
            self.image.unlink()
            path.rmdir()
            raise
        (path / "lost+found").rmdir()
        os.chmod(path, 0o755)

    def close(self) -> None:
        """Unmount (lazily where something still holds it open) and delete the image; idempotent."""
        if self.image.exists():
            if os.path.ismount(self.path):
                _unmount(self.path)
            self.image.unlink()


def bounded(limits: Limits | None, path: Path) -> BoundedFolder | None:
    """Make `path` (it must not exist) a folder bounded by a sandbox config's `limits` (`disk_mb`, `inodes`)
    where that can be done, else a plain folder (None returned)."""
    if limits is None or not available():
        path.mkdir()
        return None
    return BoundedFolder(path, limits.disk_mb, limits.inodes)


def _remove_orphans() -> None:
    """Loop-mounted images of ours whose making process is gone: unmounted and deleted."""
    mounts = _mount_points()
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        try:  # a loop device may be let go of while we look
            image = Path(backing.read_text().strip().removesuffix(" (deleted)"))
            device = (backing.parent.parent / "dev").read_text().strip()
        except OSError:
            continue
        owner = image.name.removesuffix(IMAGE_SUFFIX).rpartition(".")[2]
        if not image.name.endswith(IMAGE_SUFFIX) or not owner.isdigit() or Path(f"/proc/{owner}").exists():
            continue
        for point in mounts.get(device, []):
            with contextlib.suppress(SandboxError):
                _run(["umount", "--lazy", point])
        image.unlink(missing_ok=True)
        log.info("removed %s, left by process %s", image, owner)


def _mount_points() -> dict[str, list[str]]:
    """Mount points by device number ("7:0"), from this process's mount table."""
    points: dict[str, list[str]] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        points.setdefault(fields[2], []).append(fields[4].replace("\\040", " "))
    return points


def _unmount(path: Path) -> None:
    """At once where nothing holds it (the loop device is let go of before the next sandbox starts), else lazily."""
    try:
        _run(["umount", str(path)])
    except SandboxError:
        _run(["umount", "--lazy", str(path)])


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SandboxError(f"`{' '.join(argv)}` failed: {done.stderr.strip()[-500:]}")
