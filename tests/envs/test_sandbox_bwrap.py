"""The bubblewrap sandbox, driven directly (the env-level hostile suite is in tests/security/)."""

import socket
import time
from pathlib import Path

import pytest

from synthml.envs.sandbox import Mounts
from synthml.envs.sandbox.bwrap import BwrapConfig, BwrapSandbox
from synthml.envs.sandbox.limits import Limits
from synthml.errors import SandboxError


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home" / "workspace").mkdir(parents=True)
    return tmp_path / "home"


@pytest.fixture
def box(home: Path, runtime: Path):
    sandbox = BwrapSandbox(BwrapConfig(), Mounts(workspace=home / "workspace", home=home, runtime=runtime))
    yield sandbox
    sandbox.close()


def test_cd_and_exports_persist_and_unset_sticks(box):
    box.run("mkdir -p sub && cd sub && export FOO=bar", 10)
    assert box.run("pwd; echo $FOO", 10).output == "/home/agent/workspace/sub\nbar\n"
    box.run("unset FOO; export PATH=/opt/x:$PATH", 10)
    out = box.run('echo "[$FOO]"; echo $PATH', 10).output.splitlines()
    assert out[0] == "[]" and out[1].startswith("/opt/x:")


def test_exit_code_and_failed_command_is_an_outcome(box):
    out = box.run("echo partial; exit 7", 10)
    assert (out.output, out.exit_code, out.timed_out) == ("partial\n", 7, False)
    assert box.run("no-such-command", 10).exit_code == 127


def test_timeout_kills_the_whole_tree(box):
    start = time.monotonic()
    out = box.run("(setsid sleep 60 &); sleep 60", 1)
    assert out.timed_out and time.monotonic() - start < 5
    assert "sleep" not in box.run("ps -eo comm", 10).output


def test_runs_as_unprivileged_user_without_network_or_host_env(box, monkeypatch):
    monkeypatch.setenv("SYNTHML_TEST_SECRET", "s3cret")
    out = box.run("id -u; whoami; env; cat /proc/1/environ 2>&1", 10).output
    uid = int(out.split()[0])
    assert uid != 0 and "agent" in out and "s3cret" not in out
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        probe = f"python -c \"import socket; socket.create_connection(('127.0.0.1', {port}), 2)\""
        assert "Connection refused" in box.run(probe, 10).output  # the sandbox's own loopback has no listener
    assert box.run("touch /usr/x /etc/x /x", 10).exit_code != 0


def test_runtime_python_has_the_ml_stack_but_not_synthml(box):
    out = box.run("python -c 'import numpy, pandas, sklearn, scipy, matplotlib; print(\"ok\")'", 60)
    assert out.output.strip() == "ok"
    assert box.run("python -c 'import synthml'", 30).exit_code != 0


def test_files_round_trip_and_download_never_follows_symlinks(box, home, tmp_path):
    box.write_file("a/b.txt", "héllo\n")
    assert box.read_file("a/b.txt") == "héllo\n"
    assert (home / "workspace/a/b.txt").read_text() == "héllo\n"
    box.run("ln -s /etc/hostname link.txt", 10)
    assert box.download("a/b.txt", tmp_path / "out.txt") and (tmp_path / "out.txt").read_text() == "héllo\n"
    assert not box.download("link.txt", tmp_path / "link.txt")
    assert not box.download("../escape", tmp_path / "escape")
    with pytest.raises(FileNotFoundError):
        box.read_file("missing.txt")


def test_output_is_bounded(home):
    limits = Limits(output_kept_bytes=1000, output_kill_bytes=100_000)
    sandbox = BwrapSandbox(BwrapConfig(limits=limits), Mounts(workspace=home / "workspace", home=home))
    try:
        out = sandbox.run("yes", 10)
        assert len(out.output) < 3000 and "killed" in out.output and not out.timed_out
        assert sandbox.run("echo fine", 10).output == "fine\n"
    finally:
        sandbox.close()


def test_memory_limit_contains_a_bomb(home, runtime):
    limits = Limits(memory_mb=1024)
    sandbox = BwrapSandbox(BwrapConfig(limits=limits), Mounts(workspace=home / "workspace", home=home,
                                                              runtime=runtime))
    try:
        out = sandbox.run("python -c 'x = bytearray(2 << 30)'", 30)
        assert out.exit_code != 0 and "MemoryError" in out.output
    finally:
        sandbox.close()


def test_close_removes_every_trace(home):
    sandbox = BwrapSandbox(BwrapConfig(), Mounts(workspace=home / "workspace", home=home))
    sandbox.run("echo x > /tmp/scratch-file", 10)
    scratch = sandbox.scratch
    sandbox.close()
    sandbox.close()
    assert not scratch.exists()
    with pytest.raises(Exception, match="closed"):
        sandbox.run("true", 5)


def test_read_only_mount_for_evaluation(home):
    (home / "workspace" / "f.txt").write_text("x")
    sandbox = BwrapSandbox(BwrapConfig(), Mounts(workspace=home / "workspace", read_only=True))
    try:
        assert sandbox.run("cat f.txt", 10).output == "x"
        assert sandbox.run("echo y > f.txt", 10).exit_code != 0
        assert sandbox.run("echo y > /tmp/ok && cat /tmp/ok", 10).output == "y\n"
    finally:
        sandbox.close()


def test_exposes_reports_what_a_command_could_read(box, runtime, tmp_path):
    from synthml.envs.runtime import Runtime

    masked = Runtime(runtime).masked_paths()
    assert box.exposes(Path("/usr/share/anything")) and box.exposes(Path(runtime) / "bin")
    assert not box.exposes(tmp_path / "hidden.csv")
    assert all(not box.exposes(m / "synthml") for m in masked)


def test_a_sandbox_that_cannot_start_is_an_infrastructure_error(tmp_path):
    (tmp_path / "ws").mkdir()
    sandbox = BwrapSandbox(BwrapConfig(), Mounts(workspace=tmp_path / "ws", read_only=True))
    assert sandbox.run("exec 3>&-; echo 'bwrap: pretend'; exit 1", 10).exit_code == 1  # agent output stays output
    (tmp_path / "ws").rmdir()
    with pytest.raises(SandboxError, match="bubblewrap could not start"):
        sandbox.run("true", 10)
    sandbox.close()
    with pytest.raises(SandboxError, match="is not a folder"):
        BwrapSandbox(BwrapConfig(), Mounts(workspace=tmp_path / "ws"))
