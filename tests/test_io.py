"""synthml.io with real files and real processes: whole lines from concurrent appenders, torn lines mended
per policy, atomic writes that a raise or a kill leaves undone, and a run lock another process cannot take.
Children report through pipes when they reach the point under test; nothing waits on a clock."""

import json
import logging
import multiprocessing
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from synthml.errors import SynthMLError, TaskError
from synthml.io import (
    append_line,
    atomic_path,
    cut_torn_line,
    end_torn_line,
    read_lines,
    run_lock,
    write_atomic,
)

WRITERS, LINES = 4, 60


def _append_many(path: str, writer: int, start) -> None:
    start.wait()
    for n in range(LINES):
        # long lines (over PIPE_BUF, many pages) so that unlocked, unsynchronised writes could interleave
        append_line(path, json.dumps({"writer": writer, "n": n, "pad": str(writer) * (n * 997 % 70_000)}))


def _child(code: str, *args: str) -> subprocess.Popen:
    """A Python child running `code`; it prints a line when it reaches the point under test."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(child: subprocess.Popen, marker: str) -> None:
    line = child.stdout.readline().strip()
    if line != marker:
        child.kill()
        raise AssertionError(f"child said {line!r}, not {marker!r}: {child.communicate()[1]}")


def _kill(child: subprocess.Popen) -> None:
    child.kill()
    assert child.wait() == -signal.SIGKILL


# Append-only JSONL -----------------------------------------------------------------------------------------------


def test_appenders_in_several_processes_write_whole_lines(tmp_path):
    path = tmp_path / "deep" / "log.jsonl"  # the folder is made on first append
    context = multiprocessing.get_context("fork")
    start = context.Event()
    writers = [context.Process(target=_append_many, args=(str(path), w, start)) for w in range(WRITERS)]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join()
    assert [p.exitcode for p in writers] == [0] * WRITERS
    data = path.read_bytes()
    assert data.endswith(b"\n")
    records = [json.loads(line) for line in data.decode().split("\n")[:-1]]  # raises on a mixed line
    assert sorted((r["writer"], r["n"]) for r in records) == [(w, n) for w in range(WRITERS) for n in range(LINES)]
    assert all(r["pad"] == str(r["writer"]) * (r["n"] * 997 % 70_000) for r in records)


KILLED_MID_LINE = """
    import os, sys
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, '{"n": 2, "text": "caf\u00e9'.encode()[:-1])  # cut inside a character, no newline
    print("written", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def torn(tmp_path) -> Path:
    """A JSONL file whose writer was killed mid-line, after two whole lines."""
    path = tmp_path / "log.jsonl"
    append_line(path, '{"n": 0}')
    append_line(path, '{"n": 1}')
    child = _child(KILLED_MID_LINE, str(path))
    _wait_for(child, "written")
    _kill(child)
    assert not path.read_bytes().endswith(b"\n")
    return path


def test_a_torn_last_line_is_skipped_with_a_warning_or_shown(torn, caplog):
    with caplog.at_level(logging.WARNING, logger="synthml.io"):
        assert read_lines(torn, skip_torn=True) == [(1, '{"n": 0}'), (2, '{"n": 1}')]
    assert f"{torn}: skipping line(s) 3, cut short" in caplog.text
    shown = read_lines(torn)
    assert [n for n, _ in shown] == [1, 2, 3] and shown[2][1].startswith('{"n": 2, "text": "caf')


def test_an_append_after_a_torn_line_starts_a_line_of_its_own(torn):
    append_line(torn, '{"n": 3}')
    lines = read_lines(torn, skip_torn=True)
    assert lines == [(1, '{"n": 0}'), (2, '{"n": 1}'), (4, '{"n": 3}')]


def test_ending_a_torn_line_keeps_its_bytes(torn):
    before = torn.read_bytes()
    end_torn_line(torn)
    assert torn.read_bytes() == before + b"\n"
    end_torn_line(torn)  # a whole file is left alone
    assert torn.read_bytes() == before + b"\n"
    append_line(torn, '{"n": 3}')
    assert torn.read_bytes() == before + b'\n{"n": 3}\n'


def test_cutting_a_torn_line_drops_only_it(torn):
    cut_torn_line(torn)
    assert torn.read_bytes() == b'{"n": 0}\n{"n": 1}\n'
    cut_torn_line(torn)
    assert torn.read_bytes() == b'{"n": 0}\n{"n": 1}\n'
    cut_torn_line(torn.with_name("absent.jsonl"))
    assert not torn.with_name("absent.jsonl").exists()


# Atomic writes ---------------------------------------------------------------------------------------------------


def test_an_atomic_write_replaces_the_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "data.json"
    path.write_text("old")
    write_atomic(path, "new \u00e9", fsync=True)
    assert path.read_text(encoding="utf-8") == "new \u00e9"
    write_atomic(path, b"\x00bytes")
    assert path.read_bytes() == b"\x00bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]


def test_an_atomic_write_that_raises_leaves_the_old_file(tmp_path):
    path = tmp_path / "data.json"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="midway"), atomic_path(path) as temp:
        assert temp.parent == tmp_path and temp != path
        temp.write_text("half of the ne")
        raise RuntimeError("midway")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]


KILLED_MID_WRITE = """
    import sys
    from synthml.io import atomic_path
    with atomic_path(sys.argv[1], fsync=True) as temp:
        temp.write_text("half of the ne")
        print("written", flush=True)
        sys.stdin.read()
"""


def test_an_atomic_write_killed_midway_leaves_the_old_file(tmp_path):
    path = tmp_path / "data.json"
    path.write_text("old")
    child = _child(KILLED_MID_WRITE, str(path))
    _wait_for(child, "written")
    _kill(child)
    assert path.read_text() == "old"
    leftovers = [p for p in tmp_path.iterdir() if p != path]
    assert [p.read_text() for p in leftovers] == ["half of the ne"]  # its temp file, hidden beside
    assert leftovers[0].name.startswith(".data.json.")
    write_atomic(path, "new")  # the next writer takes a fresh temp file
    assert path.read_text() == "new"


# Run locks -------------------------------------------------------------------------------------------------------


HOLDER = """
    import sys
    from synthml.io import run_lock
    with run_lock(sys.argv[1], "another run is writing here", "wait for it"):
        print("held", flush=True)
        sys.stdin.read()
    print("released", flush=True)
"""


def test_the_lock_refuses_a_second_holder_in_another_process_until_released(tmp_path):
    folder = tmp_path / "out"
    child = _child(HOLDER, str(folder))
    try:
        _wait_for(child, "held")
        refusal = f"{folder}: a second run is busy (it holds {folder / '.lock'}); use another --out"
        with pytest.raises(SynthMLError, match=f"^{re.escape(refusal)}$"), \
                run_lock(folder, "a second run is busy", "use another --out"):
            pytest.fail("took a lock another process holds")
        with pytest.raises(TaskError, match="busy"), run_lock(folder, "busy", "wait", TaskError):
            pass
        child.stdin.close()
        _wait_for(child, "released")
        assert child.wait() == 0
    finally:
        child.kill()
    with run_lock(folder, "busy", "wait") as lock:
        assert lock == folder / ".lock"


def test_a_killed_holder_frees_the_lock(tmp_path):
    child = _child(HOLDER, str(tmp_path))
    _wait_for(child, "held")
    with pytest.raises(SynthMLError, match="another run"), run_lock(tmp_path, "another run", "wait"):
        pass
    _kill(child)
    with run_lock(tmp_path, "another run", "wait"), pytest.raises(SynthMLError, match="another run"), \
            run_lock(tmp_path, "another run", "wait"):  # held by this process now: a second holder is refused too
        pass
