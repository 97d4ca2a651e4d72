"""The seccomp filter every bubblewrap sandbox runs under: system calls that reach kernel state shared
with the host fail with EPERM.

The deny list follows Docker's default profile: keyrings, BPF, perf, userfaultfd, kexec and modules, the
mount family and new namespaces (a sandbox must not rebuild its own view of the system), ptrace and
cross-process memory access, clocks, swap, reboot, io_uring. The filter is compiled for the host's
architecture by libseccomp (Debian's libseccomp2, which apt itself depends on) through ctypes, once per
process; bwrap reads it from a file descriptor (`--seccomp FD`).
"""

import ctypes
import ctypes.util
import errno
import functools
import os

from synthml.errors import SandboxUnavailableError

DENIED = (
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd", "lookup_dcookie", "kcmp",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
    "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "name_to_handle_at", "open_by_handle_at",
    "unshare", "setns",
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
    "swapon", "swapoff", "reboot", "acct", "quotactl", "quotactl_fd", "syslog", "vhangup",
    "sethostname", "setdomainname", "iopl", "ioperm", "uselib", "nfsservctl", "_sysctl", "sysfs", "ustat",
    "fanotify_init", "io_uring_setup", "io_uring_enter", "io_uring_register",
)
NAMESPACE_FLAGS = 0x7E020000
"""CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET: clone() may not make namespaces."""
_ALLOW = 0x7FFF0000
_ENOSYS_CLONE3 = errno.ENOSYS  # clone3 passes flags in a struct the filter cannot read: libc then falls back to clone
_MASKED_EQ = 7


class _Arg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


@functools.cache
def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as e:
        raise SandboxUnavailableError("libseccomp is missing, so the sandbox's seccomp filter cannot be built: "
                                      "run `apt-get install -y libseccomp2`") from e
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_Arg)]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


@functools.cache
def filter_program() -> bytes:
    """The compiled BPF program, for the host's architecture."""
    lib = _library()
    ctx = lib.seccomp_init(_ALLOW)
    try:
        for name in DENIED:
            _deny(lib, ctx, name, _errno_action(errno.EPERM))
        _deny(lib, ctx, "clone3", _errno_action(_ENOSYS_CLONE3))
        _deny_namespace_flags(lib, ctx)
        return _export(lib, ctx)
    finally:
        lib.seccomp_release(ctx)


def _deny(lib: ctypes.CDLL, ctx: int, name: str, action: int, *args: _Arg) -> None:
    number = lib.seccomp_syscall_resolve_name(name.encode())
    if number < 0:  # not a system call on this architecture (e.g. `stime` on x86-64)
        return
    array = (_Arg * len(args))(*args) if args else None
    if lib.seccomp_rule_add_array(ctx, action, number, len(args), array) != 0:
        raise SandboxUnavailableError(f"libseccomp refused the rule for {name}")


def _deny_namespace_flags(lib: ctypes.CDLL, ctx: int) -> None:
    """clone() with any namespace flag fails; one rule a flag, since a masked compare tests equality."""
    for bit in range(32):
        flag = 1 << bit
        if NAMESPACE_FLAGS & flag:
            _deny(lib, ctx, "clone", _errno_action(errno.EPERM), _Arg(0, _MASKED_EQ, flag, flag))


def _export(lib: ctypes.CDLL, ctx: int) -> bytes:
    fd = os.memfd_create("synthml-seccomp")
    try:
        if lib.seccomp_export_bpf(ctx, fd) != 0:
            raise SandboxUnavailableError("libseccomp could not export the sandbox's filter")
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def filter_fd() -> int:
    """A fresh descriptor holding the program, positioned at its start (bwrap reads it to the end)."""
    fd = os.memfd_create("synthml-seccomp")
    os.write(fd, filter_program())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
