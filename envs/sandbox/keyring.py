"""A fresh session keyring for every sandbox command, so no key of the host's session is within reach.

keyutils' `keyctl session - PROGRAM ...` joins a new anonymous session keyring and execs PROGRAM (here
bubblewrap); inside, the seccomp filter then denies every keyring call. keyctl announces the keyring
it joined on stderr before it execs anything, so that first line of a command's output is ours, and
`strip_announcement` removes it.
"""

import functools
import logging
import re
import shutil
import subprocess

log = logging.getLogger(__name__)
_ANNOUNCEMENT = re.compile(r"\AJoined session keyring: \d+\n")


@functools.cache
def launcher() -> list[str]:
    """The argv prefix that gives a command a new session keyring; empty (logged once) where keyctl is
    missing or the kernel refuses (e.g. inside a container whose seccomp profile denies keyctl)."""
    keyctl = shutil.which("keyctl", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if keyctl is None:
        log.warning("keyctl is missing, so sandboxes share this process's session keyring (their seccomp filter "
                    "still denies keyring calls): run `apt-get install -y keyutils`")
        return []
    probe = subprocess.run([keyctl, "session", "-", "true"], capture_output=True, text=True, env={})
    if probe.returncode != 0:
        log.warning("`keyctl session` fails here (%s), so sandboxes share this process's session keyring (their "
                    "seccomp filter still denies keyring calls)", probe.stderr.strip()[-200:])
        return []
    return [keyctl, "session", "-"]


def strip_announcement(output: str) -> str:
    return _ANNOUNCEMENT.sub("", output, count=1)
