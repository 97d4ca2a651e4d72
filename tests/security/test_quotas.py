"""Whole-sandbox quotas: the memory of all a sandbox's processes together (a cgroup, as root), their number
(RLIMIT_NPROC on a uid or user namespace of the sandbox's own), the bytes and files it may write on the
host (a file system of its own, as root), and the size of every RAM-backed folder, evaluation and
preparation sandboxes included."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from synthml.envs.sandbox import Mounts, cgroups, disk
from synthml.envs.sandbox.config import sandbox_config
from tests.security.helpers import assert_alive, module_env, run

needs_cgroups = pytest.mark.skipif(not cgroups.available(), reason="whole-sandbox quotas need root and a cgroup v1 "
                                   "memory hierarchy; elsewhere only per-process rlimits apply")
LIMITS = {"memory_mb": 1024, "sandbox_memory_mb": 512, "processes": 64, "shm_mb": 1024}


@pytest.fixture(scope="module")
def quota_env(runtime):
    yield from module_env(command_timeout=10, sandbox={"type": "bwrap", "limits": LIMITS})


@pytest.fixture
def quota(quota_env):
    quota_env.reset(seed=0)
    return quota_env


HOG = "python -c 'import time; x = bytearray(300 << 20); x[::4096] = b\"x\" * len(x[::4096]); time.sleep(2)'"
MEMORY = {  # each process stays under its own 1 GiB address space; together they pass the sandbox's 512 MiB
    "four-processes-side-by-side": f"for i in 1 2 3 4; do {HOG} & done; wait",
    "files-in-dev-shm": "dd if=/dev/zero of=/dev/shm/fill bs=1M count=700 2>&1 | tail -1",
    "files-in-shm-then-a-process": f"head -c 400M /dev/zero > /dev/shm/a; {HOG}",
    "background-hog-and-foreground-hog": f"{HOG} & {HOG}; wait",
}


@needs_cgroups
@pytest.mark.parametrize("case", MEMORY)
def test_memory_is_bounded_for_the_sandbox_as_a_whole(quota, case):
    out = run(quota, MEMORY[case])
    assert "used all of its 512 MiB of memory" in out, out[-500:]
    assert_alive(quota)


@needs_cgroups
def test_processes_that_start_together_share_the_removal_of_dead_processes_groups():
    """Every worker of a resumed `generate` removes the groups its killed predecessor left, at the same time;
    a group another worker removes as this one reads it (ENODEV) is gone, not an error."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    for i in range(200):
        (cgroups.ROOT / "memory" / cgroups.PARENT / f"sandbox-{dead}-{i:012x}").mkdir()
    code = ("import sys; from synthml.envs.sandbox import cgroups; print(flush=True); sys.stdin.read(); "
            "cgroups._remove_orphans()")  # all start removing when their stdin closes
    removers = [subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(4)]
    assert [p.stdout.readline() for p in removers] == ["\n"] * 4
    for remover in removers:
        remover.stdin.close()
    errors = [p.stderr.read() for p in removers]
    assert [p.wait() for p in removers] == [0] * 4, errors
    assert errors == [""] * 4 and not list((cgroups.ROOT / "memory" / cgroups.PARENT).glob(f"sandbox-{dead}-*"))


def test_processes_are_bounded_for_the_sandbox_as_a_whole(quota):
    out = run(quota, "for i in $(seq 100); do sleep 3 & done 2>&1 | sort -u | head -3; echo started=$(jobs -p | wc -l)")
    assert "fork" in out and "Resource temporarily unavailable" in out, out
    assert_alive(quota)


def test_a_normal_user_is_told_once_that_there_is_no_whole_sandbox_quota(caplog):
    if cgroups.available():
        pytest.skip("cgroups are usable here: the fallback is not taken")
    cgroups.available.cache_clear()
    with caplog.at_level("WARNING", logger=cgroups.__name__):
        assert not cgroups.available() and not cgroups.available()
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "rlimits only" in caplog.records[0].message


TMPFS = {  # RAM-backed folders of a sandbox without a home on disk (evaluation, prepare.py, MLGym helpers)
    "tmp": "/tmp",
    "home": "/home/agent",
    "dev-shm": "/dev/shm",
}


@pytest.mark.parametrize("folder", TMPFS)
def test_every_ram_backed_folder_is_sized(runtime, folder):
    workspace = Path(tempfile.mkdtemp(prefix="synthml-quota-"))
    workspace.chmod(0o755)
    sandbox = sandbox_config({"type": "bwrap", "limits": {"tmpfs_mb": 64, "shm_mb": 32}}).build(
        Mounts(workspace=workspace, read_only=True, runtime=runtime))
    try:
        path = TMPFS[folder]
        out = sandbox.run(f"df -k --output=size {path} | tail -1; head -c 100M /dev/zero 2>&1 > {path}/fill; "
                          f"du -k {path}/fill | cut -f1", 30).output
        size_kib, *_, written_kib = out.split()
        assert int(size_kib) == (32 if folder == "dev-shm" else 64) << 10, out
        assert "No space left on device" in out and int(written_kib) <= int(size_kib), out
        assert sandbox.run("echo alive", 10).output == "alive\n"
    finally:
        sandbox.close()
        workspace.rmdir()


needs_disk = pytest.mark.skipif(not disk.available(), reason="bounded folders need root, mkfs.ext4 and loop devices; "
                                "elsewhere each file is bounded by RLIMIT_FSIZE only")
DISK_LIMITS = {"disk_mb": 64, "inodes": 2000, "file_mb": 1024}


@pytest.fixture(scope="module")
def disk_env(runtime):
    yield from module_env(command_timeout=20, sandbox={"type": "bwrap", "limits": DISK_LIMITS})


DISK = {  # each file stays under the 1 GiB file-size rlimit; together they pass the 64 MiB or 2,000 files
    "fill-workspace": "dd if=/dev/zero of=big bs=1M count=200 2>&1",
    "fill-tmp": "dd if=/dev/zero of=/tmp/big bs=1M count=200 2>&1",
    "fill-home": "dd if=/dev/zero of=~/big bs=1M count=200 2>&1",
    "many-small-files": "for i in $(seq 50); do head -c 2M /dev/urandom > f$i || break; done 2>&1 | tail -1",
    "inode-flood-files": "mkdir -p many && cd many && for i in $(seq 5000); do : > $i || break; done 2>&1 | tail -1",
    "inode-flood-folders": "mkdir -p d && cd d && for i in $(seq 5000); do mkdir $i || break; done 2>&1 | tail -1",
    "fallocate": "fallocate -l 500M big 2>&1",
}


@needs_disk
@pytest.mark.parametrize("case", DISK)
def test_what_a_sandbox_writes_on_the_host_is_bounded(disk_env, case):
    disk_env.reset(seed=0)
    out = run(disk_env, DISK[case])
    assert "No space left on device" in out, out
    image = disk_env.unwrapped._session.disk.image
    assert image.stat().st_blocks * 512 <= (64 << 20) + (8 << 20)  # the sparse image holds what was written
    assert_alive(disk_env)


@needs_disk
def test_a_killed_process_leaves_no_mounted_disk_behind(tmp_path):
    """A rollout worker killed mid-episode cannot close its disk; the next process's first check removes it."""
    folder = tmp_path / "box"
    made = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                             "from synthml.envs.sandbox.disk import BoundedFolder; "
                             f"BoundedFolder(Path({str(folder)!r}), 64, 1000); print('made', flush=True); "
                             "time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    assert made.stdout.readline() == "made\n" and os.path.ismount(folder)
    image = next(tmp_path.glob("box.*.synthml.img"))
    made.kill()
    made.wait()
    disk._remove_orphans()
    assert not os.path.ismount(folder) and not image.exists()
