"""The docker and SWE-ReX sandboxes, driven directly.

Docker: this machine runs no engine, so the default suite checks the error that says so and what a
container's mounts would expose; the `docker` tests run commands wherever an engine answers.
SWE-ReX: its `local` deployment is real (bash on this host, no isolation, hence `unsafe_local`),
with `workspace_dir` in a temp folder.
"""

import importlib.util
import time
from pathlib import Path

import pytest

from synthml.envs.runtime import Runtime
from synthml.envs.sandbox import Mounts
from synthml.envs.sandbox.config import sandbox_config
from synthml.envs.sandbox.docker import exposes
from synthml.errors import SandboxError, SandboxUnavailableError

HAS_SWEREX = importlib.util.find_spec("swerex") is not None
needs_swerex = pytest.mark.skipif(not HAS_SWEREX, reason="swe-rex is not installed (pip install 'synthml[swerex]')")
LOCAL = {"type": "swerex", "deployment": {"type": "local"}, "unsafe_local": True}


def _docker_reachable() -> bool:
    try:
        import docker

        return bool(docker.from_env().ping())
    except Exception:
        return False


def _docker_image_missing(image: str) -> str | None:
    """Why the engine cannot start `image` without pulling it (the tests pull nothing), or None."""
    import docker

    try:
        docker.from_env().images.get(image)
    except docker.errors.ImageNotFound:
        return f"image {image} is not on this Docker engine; `docker pull {image}` first (the tests pull nothing)"
    return None


@pytest.fixture
def mounts(tmp_path: Path) -> Mounts:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "data.txt").write_text("rows\n")
    return Mounts(workspace=workspace, env={"EXTRA": "x"})


@pytest.mark.parametrize("host", ["default", "missing-socket"])
def test_docker_without_engine_says_how_to_fix(mounts, tmp_path, host):
    if host == "default" and _docker_reachable():
        pytest.skip("a Docker engine answers on this machine")
    spec = {"type": "docker"} if host == "default" else {"type": "docker",
                                                         "docker_host": f"unix://{tmp_path}/docker.sock"}
    with pytest.raises(SandboxUnavailableError, match="bwrap") as caught:
        sandbox_config(spec).build(mounts)
    assert "not reachable" in str(caught.value)


def test_unknown_config_field_is_named(mounts):
    with pytest.raises(SandboxError, match="bogus"):
        sandbox_config({"type": "docker", "bogus": 1}).build(mounts)
    with pytest.raises(SandboxError, match="startup_timeout"):
        sandbox_config({**LOCAL, "startup_timeout": -1}).build(mounts)


def test_swerex_needs_a_deployment_and_consent_for_local(mounts):
    with pytest.raises(SandboxError, match="deployment"):
        sandbox_config({"type": "swerex"}).build(mounts)
    with pytest.raises(SandboxError, match="unsafe_local") as caught:
        sandbox_config({"type": "swerex", "deployment": {"type": "local"}}).build(mounts)
    assert "no isolation" in str(caught.value)
    assert sandbox_config(LOCAL).unsafe_local


def test_docker_exposes_only_its_mounts(mounts, runtime, tmp_path):
    docker = sandbox_config({"type": "docker", "mount_runtime": True})
    outside = tmp_path / "bank" / "answers.csv"
    assert exposes(docker, mounts, mounts.workspace / "data.txt") and not exposes(docker, mounts, outside)
    assert not exposes(docker, mounts, runtime / "bin" / "python")  # no runtime given
    with_runtime = Mounts(workspace=mounts.workspace, runtime=runtime)
    assert exposes(docker, with_runtime, runtime / "bin" / "python")
    assert exposes(docker, with_runtime, Path(Runtime(runtime).facts["base_prefix"]) / "bin")
    for masked in Runtime(runtime).masked_paths():
        assert not exposes(docker, with_runtime, masked / "synthml")
    assert not exposes(sandbox_config("docker"), with_runtime, runtime / "bin" / "python")


@needs_swerex
def test_swerex_deployment_config_is_checked(mounts):
    with pytest.raises(SandboxError, match=r"deployment\.imagee"):
        sandbox_config({"type": "swerex", "deployment": {"type": "docker", "imagee": "x"}}).build(mounts)
    with pytest.raises(SandboxError, match="not a SWE-ReX deployment"):
        sandbox_config({"type": "swerex", "deployment": {"type": "kubernetes"}}).build(mounts)
    with pytest.raises(SandboxError, match="not a SWE-ReX deployment"):
        sandbox_config({"type": "swerex", "deployment": {}}).build(mounts)


@pytest.fixture
def rex(mounts, tmp_path, monkeypatch):
    if not HAS_SWEREX:
        pytest.skip("swe-rex is not installed (pip install 'synthml[swerex]')")
    monkeypatch.setenv("SYNTHML_HOST_SECRET", "leaked")
    sandbox = sandbox_config({**LOCAL, "workspace_dir": str(tmp_path / "deployed" / "here")}).build(mounts)
    yield sandbox
    sandbox.close()


def test_swerex_shell_state_persists_and_env_is_the_sandboxs(rex, tmp_path):
    assert rex.run("cat data.txt", 10).output == "rows"
    assert rex.run("mkdir -p sub && cd sub && export FOO=bar", 10).exit_code == 0
    out = rex.run('pwd; echo "$FOO $EXTRA ${SYNTHML_HOST_SECRET:-unset} $HOME"', 10)
    assert out.output.splitlines() == [f"{rex.workspace_dir}/sub", "bar x unset /home/agent"]
    assert Path(rex.workspace_dir).is_relative_to(tmp_path / "deployed" / "here")
    assert rex.run("false", 10).exit_code == 1


def test_swerex_local_sandboxes_get_their_own_folders_and_leave_nothing(mounts, tmp_path):
    home = tmp_path / "home"
    (home / "workspace" / "data").mkdir(parents=True)
    (home / "memory.json").write_text("{}")
    config = sandbox_config({**LOCAL, "workspace_dir": str(tmp_path / "deployed" / "ws")})
    agent = config.build(Mounts(workspace=home / "workspace", home=home))
    evaluator = config.build(Mounts(workspace=mounts.workspace, read_only=True))
    try:
        assert agent.workspace_dir != evaluator.workspace_dir
        assert agent.run("ls; cat ../memory.json", 10).output == "data\n{}"
        assert evaluator.run("cat data.txt", 10).output == "rows"
        assert (Path(evaluator.workspace_dir) / "data.txt").stat().st_mode & 0o222 == 0  # best effort: chmod
        assert agent.exposes(tmp_path / "anything") and evaluator.exposes(Path("/etc/passwd"))
    finally:
        evaluator.close()
        agent.close()
    assert not (tmp_path / "deployed").exists()


def test_swerex_heredoc_syntax_error_and_exit_are_outcomes(rex):
    assert rex.run("cat <<EOF\na\nEOF\necho b", 10).output == "a\nb"
    assert rex.run("echo 'unterminated", 10).exit_code == 2
    rex.run("export KEPT=1", 10)
    ended = rex.run("exit 3", 10)
    assert ended.exit_code == -1 and "new shell" in ended.output
    assert rex.run('echo "${KEPT:-reset}"', 10).output == "reset"


def test_swerex_timeout_interrupts_and_the_shell_goes_on(rex):
    start = time.monotonic()
    out = rex.run("echo started; sleep 5", 1)
    assert out.timed_out and "started" in out.output
    assert time.monotonic() - start < 4
    assert rex.run("echo ok", 10).output == "ok"


def test_swerex_files_round_trip(rex):
    rex.write_file("notes/a.txt", "hello\nworld\n")
    assert rex.read_file("notes/a.txt") == "hello\nworld\n"
    assert rex.read_file("/home/agent/workspace/notes/a.txt") == "hello\nworld\n"
    assert (Path(rex.workspace_dir) / "notes/a.txt").read_text() == "hello\nworld\n"
    with pytest.raises(FileNotFoundError):
        rex.read_file("missing.txt")


def test_swerex_download_copies_files_and_refuses_links(rex, tmp_path):
    rex.run("echo 1 > out.csv; mkdir -p run; echo w > run/w.txt; ln -s /etc/passwd run/leak; "
            "ln -s /etc/passwd link; ln -s /etc linked", 10)
    dest = tmp_path / "host"
    assert rex.download("out.csv", dest / "out.csv") and (dest / "out.csv").read_text() == "1\n"
    assert rex.download("run", dest / "run")
    assert sorted(p.name for p in (dest / "run").iterdir()) == ["w.txt"]
    for refused in ("link", "linked/passwd", "../data.txt", "/etc/passwd", "absent"):
        assert not rex.download(refused, dest / "refused")
    assert not (dest / "refused").exists()
    assert rex.download(".", dest / "all")
    assert sorted(str(p.relative_to(dest / "all")) for p in (dest / "all").rglob("*")) == [
        "data.txt", "out.csv", "run", "run/w.txt"]


def test_swerex_close_is_idempotent(rex):
    rex.close()
    rex.close()
    with pytest.raises(SandboxError, match="closed"):
        rex.run("echo hi", 10)


@pytest.mark.docker
def test_docker_runs_commands(mounts, tmp_path):
    if not _docker_reachable():
        pytest.skip("no Docker engine answers docker.from_env().ping() here")
    missing = _docker_image_missing(sandbox_config("docker").image)
    if missing:
        pytest.skip(missing)
    box = sandbox_config({"type": "docker"}).build(mounts)
    mine = "for p in /proc/[0-9]*; do [ -O $p ] && cat $p/comm; done"
    try:
        box.run("mkdir -p sub && cd sub && export FOO=bar", 30)
        assert box.run("pwd; echo $FOO", 30).output == "/home/agent/workspace/sub\nbar\n"
        box.run("sleep 60 &", 30)
        assert "sleep" not in box.run(mine, 30).output
        start = time.monotonic()
        assert box.run("sleep 30 & sleep 30", 1).timed_out and time.monotonic() - start < 10
        assert "sleep" not in box.run(mine, 30).output
        assert box.run("touch /etc/x", 30).exit_code != 0
        net = "python -c \"import socket; socket.create_connection(('1.1.1.1', 53), 2)\""
        assert box.run(net, 30).exit_code != 0
        box.write_file("notes/a.txt", "hello\n")
        assert box.read_file("notes/a.txt") == "hello\n"
        assert box.download("sub/notes/a.txt", tmp_path / "a.txt")
        assert (tmp_path / "a.txt").read_text() == "hello\n"
    finally:
        box.close()
        box.close()
