"""Host-side work the agent controls: the editor's syntax check, its arguments, the timeout a command gets.

The host must not parse the agent's code (a megabyte of Python cost 700 MiB of host memory), spend
time quadratic in an argument, raise on an odd line number, or grant the long training timeout to a
command that merely mentions `python`. An audit hook sees every `compile` of this process: none may
carry the agent's code.
"""

import sys
from pathlib import Path

import pytest

from synthml.envs.env import SynthMLEnv
from tests.security.helpers import TASK, TOKEN, assert_alive, module_env, peak_rss_kib, run

MARK = f"HOSTSIDE-{TOKEN}"
"""In every edit of these tests: a host `compile` of text holding it is a host parse of agent code."""
HOST_MEMORY_KIB = 64 << 10
"""Far above what a step costs the host (tens of ms), far below what the old parsing cost (seconds)."""
_compiled: list[int] = []


def _record_compile(event: str, args: tuple) -> None:
    source = args[0] if event == "compile" and args else None
    if isinstance(source, str | bytes) and (MARK if isinstance(source, str) else MARK.encode()) in source:
        _compiled.append(len(source))


sys.addaudithook(_record_compile)  # hooks cannot be removed; this one only records


def _edit(body: str, first: int = 1, last: int = 1) -> str:
    return f"edit {first}:{last}\n# {MARK}\n{body}\nend_of_edit"


def _insert(body: str, after: int = 1) -> str:
    return f"insert {after}\n# {MARK}\n{body}\nend_of_insert"


REFUSED = "Your changes have NOT been applied"
EDITS = {  # shell setup (None: a fresh notes.py), the action, what the observation says
    "huge-edit-over-the-cap": (None, _edit("x = [" + "a," * 495_000 + "]"), REFUSED),
    "huge-edit-under-the-cap": (None, _edit("x = [" + "a," * 240_000 + "]"), "File updated"),
    "huge-insert-with-a-syntax-error": (None, _insert("x = [" + "a," * 240_000 + "]\ndef broken(:"), REFUSED),
    "huge-insert-of-many-lines": (None, _insert("x = 1\n" * 80_000 + "y = ("), REFUSED),
    "nested-parentheses-100k": (None, _edit("x = " + "(" * 100_000 + "1" + ")" * 100_000), REFUSED),
    "nested-unary-minus-200k": (None, _edit("x = " + "-" * 200_000 + "1"), REFUSED),
    "nested-sum-160k": (None, _edit("x = (" + "a+" * 160_000 + "a)"), REFUSED),
    "nested-attributes-100k": (None, _edit("x = " + "a." * 100_000 + "a"), REFUSED),
    "nested-lambdas-50k": (None, _edit("f = " + "lambda: " * 50_000 + "1"), REFUSED),
    "crlf-line-ends": (None, _edit("x = 1\r\ny = (\r\n"), REFUSED),
    "nul-byte-in-the-file": (f"printf 'x = 1\\0\\n# {MARK}\\n' > notes.py", "edit 1:1\nx = 2\nend_of_edit",
                             "File updated"),
    "invalid-utf8-in-the-file": (f"printf '# {MARK}\\n\\xff = 1\\n' > notes.py", "edit 1:1\nx = 2\nend_of_edit",
                                 "File updated"),
    "syntax-error-already-there": ("printf 'def broken(:\\n' > notes.py", _edit("y = ("), "File updated"),
}


@pytest.fixture(scope="module")
def editor(runtime):
    yield from module_env(max_steps=1000, command_timeout=30)


@pytest.fixture
def notes(editor):
    """A fresh episode with an empty notes.py open in the editor."""
    editor.reset(seed=0)
    assert run(editor, "create notes.py").startswith("[File: /home/agent/workspace/notes.py")
    return editor


@pytest.mark.parametrize("case", EDITS)
def test_edits_are_checked_in_the_sandbox_not_on_the_host(notes, case):
    setup, action, expected = EDITS[case]
    if setup:
        run(notes, setup)
    before_file = run(notes, "md5sum notes.py")
    _compiled.clear()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS
    before = peak_rss_kib()
    observation = run(notes, action)
    assert expected in observation, observation[-500:]
    assert _compiled == [], "the host compiled the agent's code"
    assert peak_rss_kib() - before < HOST_MEMORY_KIB
    assert (run(notes, "md5sum notes.py") == before_file) == (expected != "File updated")
    assert run(notes, "ls -A /tmp | grep -c synthml-edit") == "0\n"  # the check's scratch file is gone
    assert_alive(notes)


ARGUMENTS = {  # an ACI command with an argument the host once choked on, what the observation says
    "edit-line-past-the-int-limit": ("edit " + "9" * 5000 + ":1\nx = 1\nend_of_edit", "Malformed edit"),
    "edit-end-past-the-int-limit": ("edit 1:" + "9" * 5000 + "\nx = 1\nend_of_edit", "Malformed edit"),
    "insert-line-past-the-int-limit": ("insert " + "9" * 5000 + "\nx = 1\nend_of_insert", "Malformed insert"),
    "goto-line-past-the-int-limit": ("goto " + "9" * 5000, "Usage: goto"),
    "goto-superscript-digit": ("goto \u00b2", "Usage: goto"),
    "open-at-line-past-the-int-limit": ("open notes.py " + "9" * 5000, "Usage: open"),
    "open-a-megabyte-path": ("open " + "a" * 990_000, "characters long"),
    "search-a-megabyte-term": ("search_dir " + "a" * 990_000, "characters long"),
    "find-a-megabyte-quoted-name": ("find_file '" + "a" * 990_000 + "'", "characters long"),
}


@pytest.mark.parametrize("case", ARGUMENTS)
def test_odd_arguments_are_observations_at_a_bounded_cost(notes, case):
    action, expected = ARGUMENTS[case]
    observation = run(notes, action)  # the cap or the refusal is the observation: no host-side work on the rest
    assert expected in observation, observation[-500:]
    assert run(notes, "cat notes.py") == "\n"
    assert_alive(notes)


NOT_TRAINING = {  # each mentions a training program without running one, then outlives the short timeout
    "echoed": "echo python\nsleep 10",
    "echoed-torchrun-accelerate-deepspeed": "echo torchrun accelerate deepspeed && sleep 10",
    "comment-line": "# python train.py\nsleep 10",
    "trailing-comment": "sleep 10 # python",
    "single-quoted": "echo 'run python later' && sleep 10",
    "double-quoted-separator": 'echo "; python " && sleep 10',
    "heredoc-body": "cat > notes.txt <<'EOF'\npython train.py\nEOF\nsleep 10",
    "loop-variable": "for python in a b; do sleep 10; done",
    "file-argument": "touch python && ls python && sleep 10",
    "grep-pattern": "grep -r python /dev/null ; sleep 10",
    "which": "which python && sleep 10",
    "command-v": "command -v python && sleep 10",
    "array-assignment": "a=(python train.py) && sleep 10",
    "redirect-target": "echo hi > python && sleep 10",
    "bash-c-echo": "bash -c 'echo python && sleep 10'",
    "ansi-c-quoting-unparsed": "echo $'it\\'s python ' ; sleep 10",
}


@pytest.fixture(scope="module")
def quick(runtime):
    """A 2 s command timeout against the task's long training timeout."""
    env = SynthMLEnv(task=TASK, max_steps=1000, command_timeout=2)
    env.reset(seed=0)
    assert env.unwrapped.task.training_timeout >= 60
    yield env
    env.close()


@pytest.mark.parametrize("case", NOT_TRAINING)
def test_mentioning_a_training_program_gets_the_ordinary_timeout(quick, case):
    observation = run(quick, NOT_TRAINING[case])
    assert "TIMED OUT BECAUSE THE COMMAND RAN FOR MORE THAN 2 SECONDS" in observation, observation[-500:]
    assert_alive(quick)


PATH_TRICKS = {  # the agent's PATH, or programs of the same names ahead of the system's, meet the editor's reads
    "path-emptied": "export PATH=/nope",
    "fake-stat-cat-realpath": ("mkdir -p ~/bin && for p in stat cat realpath grep find mkdir dirname; do "
                               "printf '#!/bin/sh\\necho FAKE\\n' > ~/bin/$p; chmod +x ~/bin/$p; done; "
                               "export PATH=~/bin:$PATH"),
}


@pytest.mark.parametrize("case", PATH_TRICKS)
def test_the_editor_uses_the_systems_programs(notes, case):
    run(notes, PATH_TRICKS[case])
    shown = run(notes, "open notes.py")
    assert shown.startswith("[File: /home/agent/workspace/notes.py") and "FAKE" not in shown, shown
    assert "File updated" in run(notes, _insert("x = 1\n"))
    found = run(notes, "find_file notes.py")
    assert "./notes.py" in found and "FAKE" not in found, found
    run(notes, "export PATH=/usr/bin:/bin")
    assert_alive(notes)
