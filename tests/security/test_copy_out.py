"""Files left to be copied out of the sandbox: sparse giants, hard links, trees past PATH_MAX, floods of
files, fifos and sockets, links swapped in mid-copy.

Each case asserts that the host copied (almost) nothing, that the refusal is the agent's failure with an
observation naming the limit (never an exception out of `env.step`, never an infrastructure error in the
recorder), and that the env works afterwards.
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from synthml.agents.trajectory import EpisodeRecorder
from synthml.envs.env import SynthMLEnv
from synthml.envs.sandbox import Mounts
from synthml.envs.sandbox.config import sandbox_config
from synthml.envs.sandbox.files import copy_out
from synthml.errors import CopyRefused
from tests.mlgym_layout import GAME_TASK, write_checkout
from tests.security.helpers import CANARY, TASK, assert_alive, put_baseline, run, session_dir

SMALL = 1 << 20
"""Host bytes a refused copy may allocate at most."""


def python(code: str) -> str:
    return f"python -c {shlex.quote(code)}"


def deep(root: str, name: str, levels: int, last: str = "") -> str:
    """A folder tree built by descending into it, so no path handed to the kernel grows past PATH_MAX."""
    code = f"import os\nos.makedirs({root!r}, exist_ok=True)\nos.chdir({root!r})\n" \
           f"for _ in range({levels}):\n    os.mkdir({name!r})\n    os.chdir({name!r})\n"
    return python(code + (f"open({last!r}, 'w').write('x')\n" if last else ""))


def files(folder: str, count: int) -> str:
    return python(f"import os\nos.makedirs({folder!r}, exist_ok=True)\n"
                  f"for i in range({count}):\n    open(f'{folder}/{{i}}', 'w').close()\n")


def sparse(folder: str, count: int, size: str) -> str:
    return f"mkdir -p {folder} && for i in $(seq {count}); do truncate -s {size} {folder}/$i; done"


SOCKET = python("import socket\nsocket.socket(socket.AF_UNIX).bind('submission.csv')")
CONFIG = "echo 'scale: 1' > config.yaml"
UNKNOWN_GAME = GAME_TASK.replace("id: battleOfSexes", "id: toyStrategy") + "metrics: [{name: Score, direction: max}]\n"
CASES = {  # env, what the agent leaves, what is copied out, what the observation says
    "sparse-submission": ("csv_env", "truncate -s 3G submission.csv", "submission.csv", "over the 1 GiB limit"),
    "many-sparse-files": ("csv_env", sparse("submission.csv", 60, "100M"), "submission.csv", "over the 4 GiB limit"),
    "hard-links-to-one-big-file": ("csv_env", "mkdir submission.csv && truncate -s 1000M submission.csv/big && "
                                   "for i in 1 2 3 4 5; do ln submission.csv/big submission.csv/link$i; done",
                                   "submission.csv", "over the 4 GiB limit"),
    "tree-past-path-max-short-names": ("csv_env", deep("submission.csv", "d", 2100), "submission.csv",
                                       "over the limit of 64"),
    "tree-past-path-max-long-names": ("csv_env", deep("submission.csv", "x" * 250, 20), "submission.csv",
                                      "over the 2048-byte limit"),
    "name-of-255-bytes-at-depth": ("csv_env", deep("submission.csv", "y" * 200, 19, "z" * 255), "submission.csv",
                                   "over the 2048-byte limit"),
    "200k-empty-files": ("csv_env", files("submission.csv", 200_000), "submission.csv", "100,000"),
    "fifo-submission": ("csv_env", "mkfifo submission.csv", "submission.csv", "is a fifo"),
    "socket-submission": ("csv_env", SOCKET, "submission.csv", "is a socket"),
    "checkpoints-over-the-total": ("model_env", f"{sparse('checkpoints', 5, '1000M')} && {CONFIG}", "checkpoints",
                                   "over the 4 GiB limit"),
    "checkpoint-file-sparse-giant": ("model_env", f"{sparse('checkpoints', 1, '2G')} && {CONFIG}", "checkpoints",
                                     "over the 1 GiB limit"),
    "checkpoints-past-path-max": ("model_env", f"{deep('checkpoints', 'c', 3000)} && {CONFIG}", "checkpoints",
                                  "over the limit of 64"),
    "workspace-flooded-with-files": ("python_env", files("junk", 120_000), ".", "100,000"),
    "workspace-of-sparse-files": ("python_env", sparse("junk", 5, "1000M"), ".", "over the 4 GiB limit"),
    "workspace-tree-past-path-max": ("python_env", deep("junk", "w" * 100, 50), ".", "over the 2048-byte limit"),
}


def _env(task: Path) -> SynthMLEnv:
    return SynthMLEnv(task=task, max_steps=100, command_timeout=60)


@pytest.fixture(scope="module")
def csv_env(runtime):
    env = _env(TASK)
    yield env
    env.close()


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """MLGym's layout with a Python-submission task MLGym does not know, so its whole workspace is copied."""
    root = write_checkout(tmp_path_factory.mktemp("mlgym") / "MLGym")
    (root / "configs/tasks/toyStrategy.yaml").write_text(UNKNOWN_GAME)
    return root


@pytest.fixture(scope="module")
def model_env(runtime, checkout):
    env = _env(checkout / "configs/tasks/toyModel.yaml")
    yield env
    env.close()


@pytest.fixture(scope="module")
def python_env(runtime, checkout):
    env = _env(checkout / "configs/tasks/toyStrategy.yaml")
    assert not env.tasks[0].submission_files
    yield env
    env.close()


def allocated_bytes(folder: Path) -> int:
    """Bytes the host's disk holds for `folder` (du walks trees past PATH_MAX too)."""
    du = subprocess.run(["du", "-sB1", str(folder)], capture_output=True, text=True, check=True)
    return int(du.stdout.split()[0])


def download(env: SynthMLEnv, relative: str, dest: Path) -> bool:
    return env.unwrapped._session.box.download(relative, dest)


@pytest.mark.parametrize("case", CASES)
def test_copy_out_refuses_what_is_over_a_bound(request, case, tmp_path):
    fixture, action, target, says = CASES[case]
    env = request.getfixturevalue(fixture)
    recorder = EpisodeRecorder(env, "red-team")
    recorder.reset(seed=0)
    assert recorder.step(f"{action} && echo MADE")[0].endswith("MADE\n")
    with pytest.raises(CopyRefused, match=says):
        download(env, target, tmp_path / "copy")
    assert allocated_bytes(tmp_path) < SMALL and not (tmp_path / "copy").exists()
    observation, reward, terminated, _, info = recorder.step("submit")
    trajectory = recorder.finish()
    assert trajectory.infra_error is None and terminated and says in observation, observation
    assert info["exit_status"] == "submission_not_found (submit)" and "score" not in info
    assert reward == trajectory.reward == env.reward_config.failure
    env.reset(seed=0)
    assert_alive(env)


def test_a_folder_the_agent_made_unreadable_is_its_failure(csv_env):
    """As a normal user the host shares the sandbox's uid, so mode 000 locks the host out too; as root it reads on."""
    recorder = EpisodeRecorder(csv_env, "red-team")
    recorder.reset(seed=0)
    made = recorder.step("mkdir -p submission.csv/locked && echo 1 > submission.csv/locked/x && "
                         "chmod 000 submission.csv/locked && echo MADE")[0]
    assert made.endswith("MADE\n")
    observation, reward, terminated, _, info = recorder.step("submit")
    assert recorder.finish().infra_error is None and terminated and reward == csv_env.reward_config.failure
    assert info["exit_status"] in ("submission_not_found (submit)", "evaluation_error (submit)")
    if os.geteuid() != 0:
        assert "submission.csv/locked cannot be read (Permission denied)" in observation, observation
    csv_env.reset(seed=0)
    assert_alive(csv_env)


VALIDATE_CASES = {
    "sparse-validation-predictions": ("truncate -s 2G validation_predictions.csv", "over the 1 GiB limit"),
    "validation-predictions-past-path-max": (deep("validation_predictions.csv", "v" * 200, 30),
                                             "over the 2048-byte limit"),
}


@pytest.mark.parametrize("case", VALIDATE_CASES)
def test_validate_over_a_bound_is_an_observation_and_the_episode_goes_on(csv_env, baseline_files, case):
    action, says = VALIDATE_CASES[case]
    csv_env.reset(seed=0)
    put_baseline(csv_env, {"submission.csv": baseline_files["submission.csv"]})
    assert run(csv_env, f"{action} && echo MADE").endswith("MADE\n")
    observation, _, terminated, truncated, info = csv_env.step("validate")
    assert says in observation and "validation_predictions.csv" in observation, observation
    assert not terminated and not truncated and "score" not in info
    run(csv_env, "rm -rf validation_predictions.csv")
    put_baseline(csv_env, baseline_files)
    assert csv_env.step("validate")[4]["score"]["rmse"] == pytest.approx(csv_env.task.baseline_validation_score)
    assert_alive(csv_env)


FLIPPER = """\
import os, sys
folder, secret = sys.argv[1], sys.argv[2]
os.chdir(folder)
while True:
    os.rename("a", "a.real")
    os.symlink(secret, "a.link")
    os.rename("a.link", "a")
    os.unlink("a")
    os.rename("a.real", "a")
"""


def test_a_link_swapped_in_for_a_folder_mid_copy_is_never_followed(csv_env, tmp_path):
    """A process still running beside the copy (a container backend keeps them) keeps swapping a folder
    of the submission for a link to a host folder holding the canary."""
    csv_env.reset(seed=0)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "x").write_text(CANARY)
    folder = session_dir(csv_env) / "home" / "workspace" / "submission.csv"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "x").write_text("plain\n")
    flipper = subprocess.Popen([sys.executable, "-c", FLIPPER, str(folder), str(secret)])
    try:
        copied = [_copy_while_swapping(folder.parent, tmp_path / f"copy{i}") for i in range(300)]
    finally:
        flipper.kill()
        flipper.wait()
    assert any(copied)
    texts = [p.read_text() for p in tmp_path.glob("copy*/**/*") if p.is_file() and not p.is_symlink()]
    assert texts and CANARY not in "".join(texts)
    assert not [p for p in tmp_path.glob("copy*/**/*") if p.is_symlink()]
    assert_alive(csv_env)


def _copy_while_swapping(workspace: Path, dest: Path) -> bool:
    """True when copied; a copy refused because the folder changed under it is fine too."""
    try:
        return copy_out(workspace, "submission.csv", dest)
    except CopyRefused as e:
        assert "changed while" in str(e)
        return False


def test_a_sparse_file_under_the_limits_is_copied_sparsely(csv_env, tmp_path):
    """900 MiB of apparent size with a few bytes written takes a few KiB of host disk, not 900 MiB."""
    csv_env.reset(seed=0)
    assert run(csv_env, "truncate -s 900M submission.csv && printf 'id,target\\n' | dd of=submission.csv "
                        "conv=notrunc status=none && echo MADE").endswith("MADE\n")
    assert download(csv_env, "submission.csv", tmp_path / "copy")
    assert os.stat(tmp_path / "copy").st_size == 900 << 20 and allocated_bytes(tmp_path) < SMALL
    with open(tmp_path / "copy", "rb") as copied:
        assert copied.read(10) == b"id,target\n"
    assert_alive(csv_env)


SWEREX_CASES = {
    "sparse-giant": ("truncate -s 3G submission.csv", "over the 1 GiB limit"),
    "tree-past-path-max": (deep("submission.csv", "s" * 200, 30), "over the 2048-byte limit"),
}


@pytest.mark.parametrize("case", SWEREX_CASES)
def test_swerex_downloads_are_held_to_the_same_bounds(case, tmp_path, runtime):
    """SWE-ReX ships a tar of the deployment's files: its members are checked before one is extracted."""
    pytest.importorskip("swerex", reason="swe-rex is not installed (pip install 'synthml[swerex]')")
    action, says = SWEREX_CASES[case]
    (tmp_path / "workspace").mkdir()
    mounts = Mounts(workspace=tmp_path / "workspace", runtime=runtime)
    rex = sandbox_config({"type": "swerex", "deployment": {"type": "local"}, "unsafe_local": True,
                          "workspace_dir": str(tmp_path / "deployed")}).build(mounts)
    try:
        assert rex.run(f"{action} && echo MADE", 120).output == "MADE"  # SWE-ReX strips the last newline
        with pytest.raises(CopyRefused, match=says):
            rex.download("submission.csv", tmp_path / "copy" / "submission.csv")
        assert not (tmp_path / "copy").exists()
        assert rex.run("echo alive", 10).output == "alive"
    finally:
        rex.close()
