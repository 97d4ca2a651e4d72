"""Resource attacks: bombs, floods, background processes, kill, huge or binary output, leftovers after close."""

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from synthml.envs.env import SynthMLEnv
from synthml.envs.sandbox import Mounts
from synthml.envs.sandbox.config import sandbox_config
from tests.security.helpers import ROOT, TASK, TOKEN, assert_alive, host_pids, peak_rss_kib, run, session_dir

LOOP = "while :; do date +%s%N > /home/agent/workspace/late; sleep 0.1; done"


def test_files_in_shm_and_tmp_are_gone_after_close(runtime):
    env = SynthMLEnv(task=TASK, command_timeout=5)
    env.reset(seed=0)
    scratch, episode = env.unwrapped._session.box.scratch, session_dir(env)
    run(env, f"echo x > /dev/shm/persist-{TOKEN}; echo x > /tmp/persist-{TOKEN}")
    assert (episode / "tmp" / f"persist-{TOKEN}").exists() and not Path(f"/dev/shm/persist-{TOKEN}").exists()
    env.close()
    assert not scratch.exists() and not episode.exists() and not Path(f"/dev/shm/persist-{TOKEN}").exists()


BACKGROUND = {  # each loop writes the marker while the step runs; it must stop when the step ends
    "nohup": f"nohup sh -c '{LOOP}' >/dev/null 2>&1 & sleep 0.5",
    "setsid": f"setsid sh -c '{LOOP}' >/dev/null 2>&1 </dev/null & sleep 0.5",
    "double-fork": f"( ( sh -c '{LOOP}' >/dev/null 2>&1 & ) & ); sleep 0.5",
    "ignore-hup-and-disown": f"sh -c 'trap \"\" HUP TERM INT; {LOOP}' >/dev/null 2>&1 & disown; sleep 0.5",
    "python-daemon": ("python -c \"import os, time\nif os.fork(): os._exit(0)\nos.setsid()\nif os.fork(): os._exit(0)\n"
                      "while True: open('/home/agent/workspace/late', 'w').write(str(time.time())); time.sleep(0.1)\";"
                      " sleep 1"),
    "loop-then-timeout": f"sh -c '{LOOP}' & sleep 30",
    "nohup-delayed-touch": "nohup sh -c 'sleep 1; touch /home/agent/workspace/late' &",
}


@pytest.mark.parametrize("launch", BACKGROUND)
def test_background_processes_end_with_the_step(fresh, launch):
    uid = int(run(fresh, "id -u"))
    marker = session_dir(fresh) / "home" / "workspace" / "late"
    start = time.monotonic()
    run(fresh, BACKGROUND[launch])
    assert time.monotonic() - start < 3 + 2
    assert host_pids(uid) == []
    delayed = launch == "nohup-delayed-touch"
    assert marker.exists() != delayed  # the loops ran
    seen = marker.read_bytes() if marker.exists() else None
    time.sleep(1.5 if delayed else 0.5)
    assert (marker.read_bytes() if marker.exists() else None) == seen
    assert "sleep" not in run(fresh, "ps -eo args") and "while" not in run(fresh, "ps -eo args")
    fresh.reset(seed=0)
    assert host_pids(uid, within=0) == []
    assert_alive(fresh)


@pytest.mark.parametrize("command", ["sleep 5 & kill -9 -1; echo after", "kill -9 {me} {sentinel} 1; echo after"],
                         ids=["kill-9-minus-1", "kill-host-pids"])
def test_kill_reaches_no_host_process(fresh, command):
    sentinel = subprocess.Popen(["sleep", "30"])
    try:
        out = run(fresh, command.format(me=os.getpid(), sentinel=sentinel.pid))
        assert "after" in out.splitlines() and sentinel.poll() is None, out  # the shell itself survived
        # as a normal user pid 1 (bwrap) is the agent's own, and the kernel drops a SIGKILL from inside to it silently
        refused = "Operation not permitted" in out or not ROOT
        assert "-1" in command or (out.count("No such process") == 2 and refused), out
    finally:
        sentinel.kill()
        sentinel.wait()
    assert_alive(fresh)


RESOURCES = {  # command, a check of the observation (and of the host, for files)
    "fork-bomb-classic": (":(){ :|:& };:", None),
    "fork-bomb-held": ("bomb() { bomb | bomb & }; bomb; sleep 30", "TIMED OUT"),
    "memory-bomb": ("python -c 'x = bytearray(16 << 30)'", "MemoryError"),
    "memory-bomb-growing": ("python -c 'a = []\nwhile True: a.append(bytes(64 << 20))'", "MemoryError"),
    "memory-raise-limit-first": ("ulimit -v unlimited; ulimit -Hv unlimited; python -c 'x = bytearray(4 << 30)'",
                                 "MemoryError"),
    "disk-fill-dd": ("dd if=/dev/zero of=big bs=1M count=200", "File size limit exceeded"),
    "disk-fill-fallocate": ("fallocate -l 200M big", "File size limit exceeded"),
    "disk-fill-raise-limit-first": ("ulimit -f unlimited; dd if=/dev/zero of=big bs=1M count=200",
                                    "File size limit exceeded"),
    "disk-fill-tmp": ("dd if=/dev/zero of=/tmp/big bs=1M count=200", "File size limit exceeded"),
    "endless-output": ("yes", "observation cut"),
    "sleep-past-timeout": ("sleep 60", "TIMED OUT"),
    "timeout-ignoring-signals": ("trap '' TERM INT HUP; sleep 60", "TIMED OUT"),
}


@pytest.mark.parametrize("attack", RESOURCES)
def test_resource_attacks_are_contained(fresh_limited, attack):
    command, note = RESOURCES[attack]
    uid = int(run(fresh_limited, "id -u"))
    start = time.monotonic()
    observation = run(fresh_limited, command)
    assert time.monotonic() - start < 3 + 5 and len(observation) <= 20_000 + 500
    assert note is None or note in observation, observation[-500:]
    if attack == "endless-output":
        assert "command killed" in observation
    for big in (session_dir(fresh_limited) / "home/workspace/big", session_dir(fresh_limited) / "tmp/big"):
        assert not big.exists() or big.stat().st_size <= 64 << 20
    assert host_pids(uid) == [] and subprocess.run(["true"]).returncode == 0
    assert_alive(fresh_limited)


def test_an_action_over_the_argument_limit_is_an_observation(fresh):
    assert "Command too long" in run(fresh, "echo " + "a" * 200_000)
    assert_alive(fresh)


def test_binary_garbage_output_is_an_observation(fresh):
    observation = run(fresh, "head -c 100000 /dev/urandom; echo; echo END")
    assert isinstance(observation, str) and observation.endswith("END\n")
    assert_alive(fresh)


def test_flooding_the_shell_state_pipe_does_not_grow_host_memory(fresh):
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS
    before = peak_rss_kib()
    out = run(fresh, 'for n in $(ls /proc/$$/fd); do [ "$n" -gt 2 ] && [ -p /proc/$$/fd/$n ] && '
                     'head -c 268435456 /dev/zero >&$n; done; echo FLOODED')
    assert "FLOODED" not in out and "flooded the shell's state pipe" in out
    assert_alive(fresh)
    assert peak_rss_kib() - before < 64 << 10


def test_a_huge_export_does_not_wedge_the_shell(fresh):
    run(fresh, "export BIG=$(head -c 130000 /dev/zero | tr '\\0' a)")
    run(fresh, "unset BIG")
    assert_alive(fresh)


def test_a_deeply_nested_submission_folder_fails_cleanly(runtime):
    env = SynthMLEnv(task=TASK, command_timeout=10)
    env.reset(seed=0)
    session = session_dir(env)
    try:
        assert run(env, 'mkdir -p submission.csv/$(printf "d/%.0s" {1..1200}) && echo made') == "made\n"
        _, reward, terminated, _, info = env.step("submit")
        assert terminated and "score" not in info and reward == -1.0
        env.close()
        assert not session.exists()
    finally:
        subprocess.run(["rm", "-rf", str(session)], check=False)
        env.close()


def test_closing_a_sandbox_ends_the_command_another_thread_waits_on(runtime, tmp_path):
    """The MLGym submission process runs in a thread; its sandbox closing must end it, as root or not."""
    workspace = tmp_path / "ws"
    workspace.mkdir(mode=0o777)
    sandbox = sandbox_config("bwrap").build(Mounts(workspace=workspace, runtime=runtime))
    started, results = threading.Event(), []

    def wait_on_a_long_command() -> None:
        started.set()
        results.append(sandbox.run(f"touch started-{TOKEN}; sleep 600", 600))

    waiter = threading.Thread(target=wait_on_a_long_command, daemon=True)
    waiter.start()
    started.wait()
    while not (workspace / f"started-{TOKEN}").exists():
        time.sleep(0.05)
    sandbox.close()
    waiter.join(60)
    assert not waiter.is_alive() and results and results[0].exit_code != 0
