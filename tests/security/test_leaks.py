"""Reads that must find nothing: the hidden labels' canary, /proc and devices, the host's home and env vars."""

import os
import re
import socket
from pathlib import Path

import pytest

from synthml.envs.env import SynthMLEnv
from tests.security.helpers import CANARY, PATTERN, ROOT, TASK, TOKEN, assert_alive, run, session_dir


def _roots_without(*skipped: str) -> str:
    """Top-level folders (no symlinks), less /proc, /sys, /dev and `skipped`."""
    skip = " ".join(f"/{s}" for s in ("proc", "sys", "dev", *skipped))
    return f'$(for d in /*; do [ -L "$d" ] || case " {skip} " in *" $d "*) ;; *) echo "$d";; esac; done)'


CANARY_PROBES = {
    # text files everywhere; every file (binary too) outside the host's read-only /usr and runtimes
    "grep-whole-file-system": (f"{PATTERN}; cp /dev/shm/pat /tmp/control.txt; "
                               "{ head -c 5000 /dev/zero; cat /dev/shm/pat; } > /home/agent/control.bin; "
                               f"{{ grep -rlsIF -f /dev/shm/pat {_roots_without()}; "
                               f"grep -rlsF -f /dev/shm/pat {_roots_without('usr', 'root')}; }} | sort -u"),
    "grep-proc": (f"{PATTERN}; env C=\"$(cat /dev/shm/pat)\" sleep 30 & echo CONTROL=/proc/$!/environ; sleep 0.2; "
                  "grep -lsF -f /dev/shm/pat /proc/[0-9]*/cmdline /proc/[0-9]*/environ /proc/[0-9]*/maps "
                  "/proc/[0-9]*/mountinfo /proc/[0-9]*/status; "
                  "ls -l /proc/[0-9]*/fd/ /proc/[0-9]*/cwd /proc/[0-9]*/root 2>&1 | grep -e test_labels -e hidden"),
    "proc-1-root": ("ls /proc/1/root/tmp/ 2>&1; cat /proc/1/root{hidden} /proc/1/cwd/hidden/test_labels.csv "
                    "/proc/self/root{hidden} 2>&1"),
    "find-by-name": ("find / -path /proc -prune -o \\( -name 'test_labels*' -o -name hidden -o -name "
                     "'evaluation-*' \\) -print 2>/dev/null"),
    "host-path-of-hidden-file": "cat {hidden} 2>&1; ls {task} 2>&1; cp {hidden} x.csv 2>&1",
    "aci-find-file": "find_file test_labels.csv /",
}


@pytest.mark.parametrize("probe", [pytest.param(p, marks=pytest.mark.slow) if p.startswith("grep-whole") else p
                                   for p in CANARY_PROBES], ids=lambda p: f"canary-{p}")
def test_hidden_labels_are_nowhere_to_be_found(canary_env, probe):
    hidden = canary_env.task.path("hidden/test_labels.csv")
    assert CANARY in hidden.read_text()
    command = CANARY_PROBES[probe].replace("{hidden}", str(hidden)).replace("{task}", str(hidden.parent.parent))
    out = run(canary_env, command)
    assert CANARY not in out and "195.0" not in out  # the canary, or the first test label
    lines = set(out.splitlines())
    if probe == "grep-whole-file-system":  # the search finds what it should: the planted controls
        assert lines == {"/tmp/control.txt", "/home/agent/control.bin"}, out
    elif probe == "grep-proc":
        control = next(line.split("=", 1)[1] for line in lines if line.startswith("CONTROL="))
        assert lines == {f"CONTROL={control}", control}, out
    elif probe == "proc-1-root":  # as a normal user /proc/1/root is the sandbox's own root
        denied = out.count("Permission denied") == 3 and "No such file" in out
        assert denied if ROOT else out.count("No such file") == 3, out
    elif probe == "host-path-of-hidden-file":
        assert out.count("No such file") == 3, out
    elif probe == "aci-find-file":
        assert out == 'No matches found for "test_labels.csv" in /', out
    else:
        assert out == "", out
    assert_alive(canary_env)


def test_hidden_labels_leave_no_trace_after_a_submit(canary_env):
    run(canary_env, "python baseline.py")
    _, _, terminated, _, info = canary_env.step("submit")
    assert terminated and info["score"]["rmse"] == pytest.approx(info["baseline_score"], abs=1e-9)
    previous = session_dir(canary_env)
    canary_env.reset(seed=0)
    assert not previous.exists()
    out = run(canary_env, f"{PATTERN}; grep -rlsF -f /dev/shm/pat /tmp /home /etc; "
                          "find / -path /proc -prune -o -name 'evaluation-*' -print 2>/dev/null; echo PROBE-DONE")
    assert out == "PROBE-DONE\n"


def test_evaluation_errors_do_not_echo_the_hidden_labels(canary_env):
    run(canary_env, "printf 'id,progression\\nx,1\\n' > submission.csv")
    observation, reward, _, _, info = canary_env.step("submit")
    assert info["exit_status"] == "evaluation_error (submit)" and reward == -1.0
    assert "Evaluation failed" in observation and CANARY not in observation and "195.0" not in observation


PROC = {
    "proc-self-root": ("ls /proc/self/root/; ls /proc/self/root/work /proc/self/root{tests} 2>&1",
                       lambda out: out.count("No such file") == 2 and "workspace" not in out and "home" in out),
    "proc-1-cwd-root-environ-mem": ("ls /proc/1/cwd/ /proc/1/root/; cat /proc/1/environ /proc/1/mem 2>&1",
                                    # as a normal user pid 1 (bwrap) is the agent's: it shows the sandbox, and bwrap's
                                    # own environment is the bare PATH it was started with
                                    lambda out: out.count("Permission denied") == 4 if ROOT else
                                    "PATH=/usr/sbin:/usr/bin:/sbin:/bin\0cat: /proc/1/mem: Input/output error" in out),
    "ptrace-pid-1": ("python -c 'import ctypes; libc = ctypes.CDLL(None, use_errno=True); "
                     "print(libc.ptrace(16, 1, 0, 0), ctypes.get_errno())'",  # PTRACE_ATTACH: -1 EPERM
                     lambda out: out == "-1 1\n"),
    "mountinfo-host-paths": (r"for p in $(awk '{print $4}' /proc/self/mountinfo); do ls -d $p/../evaluation-test "
                             r"$p/../../hidden 2>/dev/null; done; grep -c synthml-episode /proc/self/mountinfo",
                             # the count only: where no bounded disk holds them, the home, workspace and /tmp
                             # mounts show their host paths, which lead nowhere
                             lambda out: out.strip().isdigit()),
    "proc-sys-hostname": ("echo pwned > /proc/sys/kernel/hostname; hostname",
                          lambda out: out.endswith("\nsandbox\n") and "pwned" not in out),
    "raw-devices": ("head -c 64 /dev/vda /dev/sda /dev/nvme0n1 /dev/mem /dev/kmsg /dev/port 2>&1 | grep -vc 'No such'",
                    lambda out: out == "0\n"),
}


@pytest.mark.parametrize("trick", PROC)
def test_proc_and_device_tricks_reach_nothing(fresh, trick):
    command, contained = PROC[trick]
    hostname = socket.gethostname()
    out = run(fresh, command.replace("{tests}", str(Path(__file__).parents[1])))  # the host's tests/ folder
    assert contained(out), out
    assert socket.gethostname() == hostname
    assert_alive(fresh)


def test_the_hosts_home_and_project_stay_unseen(fresh):
    home = Path.home()  # root's, or the unprivileged run's
    (home / f".synthml-{TOKEN}").write_text("host file\n")
    try:
        out = run(fresh, f"ls -a {home} /home; cat {home}/.bashrc {home}/.bash_history 2>&1; ls /work 2>&1")
    finally:
        (home / f".synthml-{TOKEN}").unlink()
    host_only = {*os.listdir(home), f".synthml-{TOKEN}"} - {".", "..", ".cache", ".pyenv"}
    assert not host_only & set(out.split()) and out.count("No such file") >= 3, out
    assert_alive(fresh)


ENV_READS = {"env": "env", "proc-star-environ": "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'",
             "proc-1-environ": "cat /proc/1/environ /proc/$$/environ 2>&1 | tr '\\0' '\\n'",
             "python-os-environ": "python -c 'import os; print(dict(os.environ))'"}


@pytest.mark.parametrize("read", ENV_READS)
def test_host_environment_variables_stay_out(runtime, monkeypatch, read):
    secret = f"host-secret-{TOKEN}"
    monkeypatch.setenv("SYNTHML_HOST_SECRET", secret)
    env = SynthMLEnv(task=TASK, command_timeout=5)
    env.reset(seed=0)
    try:
        out = run(env, ENV_READS[read])
        assert secret not in out and "SYNTHML_HOST_SECRET" not in out
        assert re.search("HOME.{1,4}/home/agent", out), out  # it did print an environment
        bare = out.startswith("PATH=/usr/sbin:/usr/bin:/sbin:/bin\nHOME=/home/agent\n")  # bwrap's, then the shell's
        assert read != "proc-1-environ" or ("/proc/1/environ: Permission denied" in out if ROOT else bare), out
        assert_alive(env)
    finally:
        env.close()
