"""Kernel state shared with the host: system calls the seccomp filter denies, the session keyring, /proc's
host files, and what of /usr is shown."""

import subprocess

import pytest

from synthml.envs.sandbox import keyring
from synthml.envs.sandbox.seccomp import _library
from tests.security.helpers import TOKEN, assert_alive, run

SETUP = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nbuf = ctypes.create_string_buffer\n"
SYSCALLS = {  # system call, its arguments (Python over ctypes), the errno the sandbox must get (1: EPERM)
    "keyctl-read-session-keyring": ("keyctl", "0, -3, 0", 1),
    "add-key-to-session-keyring": ("add_key", "b'user', b'synthml-plant', b'x', 1, -3", 1),
    "request-key": ("request_key", "b'user', b'synthml-none', None, 0", 1),
    "perf-event-open-own-process": ("perf_event_open", "PERF, 0, -1, -1, 0", 1),
    "userfaultfd-user-mode": ("userfaultfd", "1", 1),
    "unshare-user-namespace": ("unshare", "0x10000000", 1),
    "unshare-mount-namespace": ("unshare", "0x00020000", 1),
    "clone-into-a-user-namespace": ("clone", "0x10000000 | 17, 0, 0, 0, 0", 1),  # CLONE_NEWUSER | SIGCHLD
    "pidfd-getfd-of-own-process": ("pidfd_getfd", "os.pidfd_open(os.getpid()), 0, 0", 1),
    "ptrace-traceme": ("ptrace", "0, 0, 0, 0", 1),
    "process-vm-readv-self": ("process_vm_readv", "os.getpid(), IOV, 1, IOV, 1, 0", 1),
    "io-uring-setup": ("io_uring_setup", "4, buf(120)", 1),
    "kcmp-own-files": ("kcmp", "os.getpid(), os.getpid(), 0, 0, 0", 1),
    "name-to-handle-at": ("name_to_handle_at", "-100, b'.', HANDLE, buf(8), 0", 1),
    "mount-tmpfs": ("mount", "b'none', b'/tmp', b'tmpfs', 0, None", 1),
    "bpf-map-create": ("bpf", "0, buf(72), 72", 1),
    "clock-settime": ("clock_settime", "0, buf(16)", 1),
    "clone3-namespace-flags": ("clone3", "None, 0", 38),  # ENOSYS: libc falls back to clone, whose flags are seen
}
SYSCALL_SETUP = (
    "PERF = buf(128); PERF[0] = 1; PERF[4] = 128; PERF[40] = 0x61\n"  # software clock, user only, disabled
    "src = buf(8); IOV = (ctypes.c_uint64 * 2)(ctypes.addressof(src), 8)\n"
    "HANDLE = buf(136); HANDLE[0] = 128\n"
)


def _number(name: str) -> int:
    return _library().seccomp_syscall_resolve_name(name.encode())


@pytest.mark.parametrize("case", SYSCALLS)
def test_system_calls_that_reach_host_kernel_state_are_denied(fresh, case):
    name, args, expected = SYSCALLS[case]
    program = f"{SETUP}{SYSCALL_SETUP}print(libc.syscall({_number(name)}, {args}), ctypes.get_errno())"
    out = run(fresh, f"python -c {_quoted(program)} 2>&1")
    assert out == f"-1 {expected}\n", out
    assert_alive(fresh)


def test_a_foreign_architecture_call_kills_only_its_process(fresh):
    """x32 system calls (number | 0x40000000) would slip past a filter written for x86-64 numbers."""
    out = run(fresh, f"python -c {_quoted(SETUP + 'print(libc.syscall(0x40000000 | 39))')} 2>&1; echo after=$?")
    assert "Bad system call" in out and out.endswith("after=159\n"), out
    assert_alive(fresh)


def _quoted(program: str) -> str:
    return "'" + program.replace("'", "'\\''") + "'"


@pytest.fixture
def host_key():
    """A key in the session keyring this test process (and, before, every sandbox it started) holds."""
    description = f"synthml-host-key-{TOKEN}"
    key = subprocess.run(["keyctl", "add", "user", description, "host-secret", "@s"], capture_output=True,
                         text=True)
    if key.returncode != 0:
        pytest.skip(f"cannot add a key to this session's keyring: {key.stderr.strip()}")
    yield description
    subprocess.run(["keyctl", "unlink", key.stdout.strip(), "@s"], capture_output=True)


KEYRING_READS = {
    "proc-keys": "cat /proc/keys /proc/key-users 2>&1",
    "keyctl-show": "keyctl show @s 2>&1; keyctl print %user:{key} 2>&1",
    "python-keyctl-search": ("python -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); "
                             f"print(l.syscall({_number('keyctl')}, 10, -3, b\"user\", b\"{{key}}\", 0))' 2>&1"),
}


@pytest.mark.parametrize("read", KEYRING_READS)
def test_the_hosts_session_keyring_is_out_of_reach(fresh, host_key, read):
    out = run(fresh, KEYRING_READS[read].format(key=host_key))
    listed = f"user: {host_key}" in out or f"{host_key}: " in out  # keyctl show's and /proc/keys' forms
    assert not listed and "host-secret" not in out, out
    assert "Permission denied" in out or "-1" in out or "not found" in out, out
    assert_alive(fresh)


def test_a_key_planted_in_one_command_is_gone_in_the_next(fresh):
    planted = run(fresh, "keyctl add user synthml-plant x @s 2>&1")
    assert "Operation not permitted" in planted or "not found" in planted, planted
    assert "synthml-plant" not in run(fresh, "cat /proc/keys 2>&1")
    assert_alive(fresh)


SHOWN = {  # what of the host's system the sandbox shows
    "usr-local-etc": "ls /usr/local/etc 2>&1",
    "usr-local-bin": "ls /usr/local/bin 2>&1",
    "proc-kallsyms-and-timers": "head -c 200 /proc/kallsyms /proc/timer_list /proc/sched_debug 2>&1 | grep -v '^==>'",
    "write-into-the-root": "touch /usr/pwned /pwned /home/pwned 2>&1",
}


@pytest.mark.parametrize("case", SHOWN)
def test_only_what_programs_need_is_shown(fresh, case):
    out = run(fresh, SHOWN[case])
    expected = {"usr-local-etc": "No such file", "usr-local-bin": "No such file",
                "proc-kallsyms-and-timers": "Permission denied", "write-into-the-root": "Read-only file system"}[case]
    assert expected in out and "ffffffff" not in out and "Timer List" not in out, out
    assert_alive(fresh)


def test_every_command_starts_in_a_fresh_session_keyring(fresh):
    """Seccomp alone already denies keyring calls; the fresh keyring is there as well wherever keyctl works."""
    if not keyring.launcher():
        pytest.skip("keyctl is missing or refused here: sandboxes share the session keyring (seccomp still denies)")
    sandbox = fresh.unwrapped._session.box
    launcher = sandbox._argv[:sandbox._options_at]
    assert launcher[-4:-1] == keyring.launcher() and launcher[-1].endswith("bwrap"), launcher
    assert "Joined session keyring" not in run(fresh, "echo visible")  # keyctl's own line is not the agent's
    assert_alive(fresh)
