"""Writes that must not reach the host: host paths, userns/mount tricks, the ACI, root, the runtime."""

import contextlib
import os
import re
import shlex
import tempfile
from pathlib import Path

import pytest

from synthml.envs.env import SynthMLEnv
from synthml.envs.runtime import Runtime
from synthml.envs.workspace import pristine_workspace
from tests.security.helpers import ROOT, TOKEN, assert_alive, run, session_dir


def _host_targets(env: SynthMLEnv, runtime: Path) -> dict[str, Path]:
    name = f"pwned-{TOKEN}"
    return {"host-tmp": Path(tempfile.gettempdir()) / name, "etc": Path("/etc") / name,
            "usr-local-bin": Path("/usr/local/bin") / name, "root-home": Path("/root") / name,
            "session-folder": session_dir(env) / name,
            "evaluation-view": session_dir(env) / "evaluation-test" / "evaluate.py",
            "runtime-venv": runtime / "lib" / name, "pristine-cache": pristine_workspace(env.task) / name,
            "task-bank": env.task.path(name)}


@pytest.mark.parametrize("where", ["host-tmp", "etc", "usr-local-bin", "root-home", "session-folder",
                                   "evaluation-view", "runtime-venv", "pristine-cache", "task-bank"])
def test_no_write_reaches_a_host_path(fresh, runtime, where):
    target = _host_targets(fresh, runtime)[where]
    quoted = shlex.quote(str(target))
    try:
        out = run(fresh, f'mkdir -p "$(dirname {quoted})"; echo pwned > {quoted}; ln -s /etc/passwd {quoted}.lnk; '
                         f"unshare -r sh -c 'echo pwned > {quoted}'; echo ATTEMPTED")
        assert out.endswith("ATTEMPTED\n")
        assert not target.exists() and not Path(f"{target}.lnk").is_symlink()
    finally:
        with contextlib.suppress(OSError):
            target.unlink()
    assert_alive(fresh)


def test_no_user_namespace_to_be_root_in(fresh):
    out = run(fresh, f"unshare -r sh -c 'id -u; touch /usr/pwned-{TOKEN}; mount -o remount,rw /usr; "
                     f"touch /usr/pwned-{TOKEN}' 2>&1")
    assert out.startswith("unshare: unshare failed: Operation not permitted")  # seccomp: no new namespaces
    assert not Path(f"/usr/pwned-{TOKEN}").exists()
    assert_alive(fresh)


def test_no_mount_namespace_to_unmask_host_packages_in(fresh, runtime):
    masked = Runtime(runtime).masked_paths()[0]
    base = Runtime(runtime).visible_paths()[1]
    out = run(fresh, f"unshare -rm sh -c 'mkdir -p /tmp/m; mount --bind {base} /tmp/m; "
                     f"ls /tmp/m/{masked.relative_to(base)}; umount -l {masked}; ls {masked}; "
                     "mount -t tmpfs x /usr; echo DONE' 2>&1")
    assert "unshare failed: Operation not permitted" in out and not set(out.splitlines()) & set(os.listdir(masked))
    assert run(fresh, "python -c 'import synthml' 2>&1; ls /work 2>&1").count("No module named") == 1
    assert_alive(fresh)


ACI_WRITES = {  # setup, action, host path that must not appear, what the observation says
    "aci-create-dotdot-to-host-tmp": ("", f"create ../../../../tmp/pwned-{TOKEN}.py",
                                      Path(tempfile.gettempdir()) / f"pwned-{TOKEN}.py", "[File: /tmp/pwned-"),
    "aci-create-in-etc": ("", f"create /etc/pwned-{TOKEN}", Path(f"/etc/pwned-{TOKEN}"), "Read-only file system"),
    "aci-create-in-usr": ("", f"create /usr/pwned-{TOKEN}.py", Path(f"/usr/pwned-{TOKEN}.py"), "Read-only file system"),
    "aci-edit-etc-passwd": ("open /etc/passwd", "edit 1:1\nroot::0:0:root:/root:/bin/bash\nend_of_edit", None,
                            "Read-only file system"),
    "aci-open-etc-shadow": ("", "open /etc/shadow", None, "not found"),  # only what programs need of /etc is shown
}


@pytest.mark.parametrize("case", ACI_WRITES)
def test_aci_cannot_reach_outside_the_workspace(fresh, case):
    setup, action, target, says = ACI_WRITES[case]
    passwd = Path("/etc/passwd").read_bytes()
    if setup:
        run(fresh, setup)
    observation = run(fresh, action)  # a refusal is an observation, not an exception
    assert says in observation and "root:$" not in observation, observation
    assert Path("/etc/passwd").read_bytes() == passwd and (target is None or not target.exists())
    assert run(fresh, "head -1 /etc/passwd").startswith("agent:x:")
    assert_alive(fresh)


ROOT_GRABS = {
    "su": "su root -c id </dev/null; echo rc=$?",
    "sudo": "sudo -n id; echo rc=$?",
    "setuid-syscall": "python -c 'import os; os.setuid(0); print(\"rc=0\")' 2>&1 | tail -1",
    "nosuid-mounts": "echo setuid=$(find /usr/bin -perm -4000 -type f | wc -l) mounts=$(wc -l < /proc/self/mountinfo)"
                     " nosuid=$(grep -c nosuid /proc/self/mountinfo)",
}


@pytest.mark.parametrize("grab", ROOT_GRABS)
def test_no_way_to_root(fresh, grab):
    out = run(fresh, f"{ROOT_GRABS[grab]}; id -u")
    assert "uid=0" not in out and int(out.split()[-1]) >= 1000, out
    if grab == "nosuid-mounts":  # setuid files are there, but every mount is nosuid: they run as the agent
        setuid, mounts, nosuid = re.search(r"setuid=(\d+) mounts=(\d+) nosuid=(\d+)", out).groups()
        assert int(setuid) > 0 and mounts == nosuid
    else:
        refused = "PermissionError" if ROOT else "Invalid argument"  # no uid 0 in a normal user's namespace
        assert "rc=0" not in out and (grab != "setuid-syscall" or refused in out), out
    assert_alive(fresh)


def test_the_runtime_is_read_only(fresh, runtime):
    site = next(runtime.glob("lib/python3*/site-packages"))
    out = run(fresh, f"echo 'import os' > {site}/sitecustomize.py; touch $VIRTUAL_ENV/bin/pwned-{TOKEN}; "
                     "pip install --no-index --no-deps ./nothing 2>&1 | tail -1; python -c 'import synthml' 2>&1")
    assert out.count("Read-only file system") >= 2 and "No module named 'synthml'" in out
    assert not (site / "sitecustomize.py").exists() and not (runtime / "bin" / f"pwned-{TOKEN}").exists()
    assert_alive(fresh)
