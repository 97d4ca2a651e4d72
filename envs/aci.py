"""The SWE-agent/MLGym agent-computer interface: a file viewer, editor and search commands.

The viewer state (open file, first shown line) lives here, on the host; every file access, search
and the edit's syntax check runs inside the sandbox as the agent's user, so the commands see exactly
what the agent may and the host never parses the agent's code. Host work stays bounded: arguments,
line numbers and edited files have caps.
"""

import re
import secrets
import shlex

from synthml.envs.sandbox import Sandbox
from synthml.envs.sandbox.shell import MAX_READ_BYTES

WINDOW = 100
OVERLAP = 2
COMMANDS = ("open", "goto", "scroll_up", "scroll_down", "create", "edit", "insert", "search_dir",
            "search_file", "find_file")
MAX_LINE_DIGITS = 9
MAX_ARGUMENT_CHARS = 8192
"""The longest first line of a viewer or search command (a path stops at 4096 bytes)."""
_LINE = rf"([0-9]{{1,{MAX_LINE_DIGITS}}})"
_EDIT = re.compile(rf"^edit[ \t]+{_LINE}[ \t]*:[ \t]*{_LINE}[ \t]*\n(.*?)^end_of_edit\s*$", re.DOTALL | re.MULTILINE)
_INSERT = re.compile(rf"^insert[ \t]+{_LINE}[ \t]*\n(.*?)^end_of_insert\s*$", re.DOTALL | re.MULTILINE)
SYNTAX_MARK = "SYNTHML-SYNTAX"
SYNTAX_CHECK = f"""
import os, sys
def error(path, name):
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError:
        return ""
    try:
        compile(source, name, "exec", dont_inherit=True)
    except Exception as e:
        return " ".join(f"E999 {{type(e).__name__}}: {{e}}".split())[:500]
    return ""
proposed, current = sys.argv[1:3]
try:
    new = error(proposed, current)
finally:
    os.unlink(proposed)
print("{SYNTAX_MARK}", new, new and error(current, current), sep="\\t")
"""
"""Run in the sandbox by its Python (`-I`: no agent variables or paths): prints the proposed content's
syntax error and, only when there is one, the current file's."""
USAGE = {
    "open": 'open "<path>" [<line_number>]', "goto": "goto <line_number>", "create": "create <filename>",
    "edit": "edit <start_line>:<end_line>\n<replacement_text>\nend_of_edit",
    "insert": "insert <line_number>\n<text_to_add>\nend_of_insert",
    "search_dir": "search_dir <search_term> [<dir>]", "search_file": "search_file <search_term> [<file>]",
    "find_file": "find_file <file_name> [<dir>]",
}


def command_name(action: str) -> str:
    words = action.strip().split(maxsplit=1)
    return words[0] if words else ""


class Aci:
    def __init__(self, box: Sandbox, timeout: float = 30) -> None:
        self.box, self.timeout = box, timeout
        self.file: str | None = None
        self.first = 1

    def __call__(self, action: str) -> str:
        """The observation for one ACI command; a file that vanished or is read-only is reported."""
        try:
            return self._dispatch(action)
        except OSError as e:  # vanished, read-only, too large
            return f"Error: {e.strerror or e}"

    def _dispatch(self, action: str) -> str:
        name = command_name(action)
        if name in ("edit", "insert"):
            return self._edit(action) if name == "edit" else self._insert(action)
        line = action.strip().partition("\n")[0]
        if len(line) > MAX_ARGUMENT_CHARS:
            return f"Error: the {name} command is over {MAX_ARGUMENT_CHARS} characters long; shorten its arguments."
        try:
            args = shlex.split(line)[1:]
        except ValueError as e:
            return f"Error parsing arguments ({e}). Usage: {USAGE.get(name, name)}"
        return getattr(self, f"_{name}")(args)

    def _open(self, args: list[str]) -> str:
        if not args or len(args) > 2 or (len(args) == 2 and not _is_line_number(args[1])):
            return f"Usage: {USAGE['open']}"
        path = self._realpath(args[0])
        if path is None:
            return f"File {args[0]} not found"
        if path.endswith("/"):
            return f"Error: {args[0]} is a directory. You can only open files. Use cd or ls to navigate."
        self.file = path
        return self._show(int(args[1]) if len(args) == 2 else None)

    def _goto(self, args: list[str]) -> str:
        if self.file is None:
            return "No file open. Use the open command first."
        if len(args) != 1 or not _is_line_number(args[0]):
            return f"Usage: {USAGE['goto']}"
        return self._show(int(args[0]))

    def _scroll_down(self, args: list[str]) -> str:
        return self._scroll(WINDOW - OVERLAP)

    def _scroll_up(self, args: list[str]) -> str:
        return self._scroll(-(WINDOW - OVERLAP))

    def _scroll(self, delta: int) -> str:
        if self.file is None:
            return "No file open. Use the open command first."
        self.first = max(1, min(self.first + delta, max(1, len(self._lines()) - WINDOW + 1)))
        return self._window(self._lines())

    def _create(self, args: list[str]) -> str:
        if len(args) != 1:
            return f"Usage: {USAGE['create']}"
        if self._realpath(args[0]) is not None:
            return f"Error: File '{args[0]}' already exists."
        self.box.write_file(args[0], "\n")
        return self._open(args)

    def _edit(self, action: str) -> str:
        match = _EDIT.match(action.strip() + "\n")
        if match is None:
            return f"Malformed edit command. Usage:\n{USAGE['edit']}"
        start, end, text = int(match[1]), int(match[2]), match[3]
        if end < start:
            return f"Error: end line {end} is before start line {start}."
        return self._replace(start, end, text)

    def _insert(self, action: str) -> str:
        match = _INSERT.match(action.strip() + "\n")
        if match is None:
            return f"Malformed insert command. Usage:\n{USAGE['insert']}"
        line = int(match[1])
        return self._replace(line + 1, line, match[2])

    def _replace(self, start: int, end: int, text: str) -> str:
        """Replace lines start..end (1-based, inclusive; end = start - 1 inserts) with `text`."""
        if self.file is None:
            return "No file open. Use the open command first."
        if len(text) > MAX_READ_BYTES:
            return _TOO_LARGE
        lines = self._lines()
        if start < 1 or start > len(lines) + 1:
            return f"Error: line {start} is outside the file ({len(lines)} lines)."
        content = "\n".join([*lines[: start - 1], *text.splitlines(), *lines[end:]]) + "\n"
        if len(content.encode()) > MAX_READ_BYTES:
            return _TOO_LARGE
        error = self._new_syntax_error(content)
        if error:
            return (f"Your proposed edit has introduced new syntax error(s):\n- {error}\n"
                    "Your changes have NOT been applied. Fix your edit command and try again.")
        self.box.write_file(self.file, content)
        return self._show(start) + "\nFile updated. Please review the changes and make sure they are correct."

    def _search_dir(self, args: list[str]) -> str:
        if not 1 <= len(args) <= 2:
            return f"Usage: {USAGE['search_dir']}"
        term, where = args[0], args[1] if len(args) == 2 else "."
        out = self._sh(f"command -p grep -rIc -F -- {shlex.quote(term)} {shlex.quote(where)} 2>/dev/null "
                       "| command -p grep -v ':0$'")
        hits = [line.rsplit(":", 1) for line in out.splitlines() if ":" in line]
        if not hits:
            return f'No matches found for "{term}" in {where}'
        total = sum(int(n) for _, n in hits if n.isdigit())
        body = "\n".join(f"{path} ({n} matches)" for path, n in hits)
        return f'Found {total} matches for "{term}" in {where}:\n{body}\nEnd of matches for "{term}" in {where}'

    def _search_file(self, args: list[str]) -> str:
        if not 1 <= len(args) <= 2 or (len(args) == 1 and self.file is None):
            return f"Usage: {USAGE['search_file']} (with no file, a file must be open)"
        term, where = args[0], args[1] if len(args) == 2 else self.file
        out = self._sh(f"command -p grep -nI -F -- {shlex.quote(term)} {shlex.quote(where)} 2>/dev/null")
        hits = [line.split(":", 1) for line in out.splitlines() if ":" in line]
        if not hits:
            return f'No matches found for "{term}" in {where}'
        body = "\n".join(f"Line {n}:{text}" for n, text in hits)
        return f'Found {len(hits)} matches for "{term}" in {where}:\n{body}\nEnd of matches for "{term}" in {where}'

    def _find_file(self, args: list[str]) -> str:
        if not 1 <= len(args) <= 2:
            return f"Usage: {USAGE['find_file']}"
        name, where = args[0], args[1] if len(args) == 2 else "."
        found = self._sh(f"command -p find {shlex.quote(where)} -type f -name {shlex.quote(name)} "
                         "2>/dev/null").splitlines()
        if not found:
            return f'No matches found for "{name}" in {where}'
        return f'Found {len(found)} matches for "{name}" in {where}:\n' + "\n".join(found)

    def _show(self, line: int | None) -> str:
        lines = self._lines()
        if line is not None:
            if not 1 <= line <= max(1, len(lines)):
                return f"Error: <line> must be between 1 and {max(1, len(lines))}"
            self.first = max(1, line - WINDOW // 2)
        else:
            self.first = 1
        return self._window(lines)

    def _window(self, lines: list[str]) -> str:
        last = min(len(lines), self.first + WINDOW - 1)
        shown = [f"{n}:{lines[n - 1]}" for n in range(self.first, last + 1)]
        above, below = self.first - 1, len(lines) - last
        parts = [f"[File: {self.file} ({len(lines)} lines total)]"]
        parts += [f"({above} more lines above)"] if above else []
        parts += shown + ([f"({below} more lines below)"] if below else [])
        return "\n".join(parts)

    def _new_syntax_error(self, content: str) -> str | None:
        """A Python syntax error the edit would introduce, found by the sandbox's Python; None when the
        file is not Python or the sandbox cannot tell (no Python there, the check ran out of time)."""
        if not self.file.endswith(".py"):
            return None
        scratch = f"/tmp/.synthml-edit-{secrets.token_hex(8)}.py"
        try:
            self.box.write_file(scratch, content)
        except OSError:  # e.g. /tmp is full, or the fake sandbox, which holds only the workspace
            self.box.run(f"rm -f -- {scratch}", self.timeout)
            return None
        errors = _syntax_errors(self.box.run(_syntax_check_command(scratch, self.file), self.timeout).output)
        return errors[0] if errors and errors[0] and not errors[1] else None

    def _lines(self) -> list[str]:
        return self.box.read_file(self.file).splitlines()

    def _realpath(self, path: str) -> str | None:
        """Absolute path as the agent's shell resolves it, with a trailing / for a folder."""
        quoted = shlex.quote(path)
        out = self.box.run(f'p=$(command -p realpath -e -- {quoted}) && '
                           f'{{ [ -d "$p" ] && echo "$p/" || echo "$p"; }}', self.timeout)
        return out.output.strip() if out.exit_code == 0 else None

    def _sh(self, command: str) -> str:
        return self.box.run(command, self.timeout).output


_TOO_LARGE = (f"Error: the edited file would be over {MAX_READ_BYTES} bytes, more than the editor handles. Your "
              "changes have NOT been applied; write large files with shell tools (e.g. a script that writes them).")


def _is_line_number(word: str) -> bool:
    return word.isascii() and word.isdigit() and len(word) <= MAX_LINE_DIGITS


def _syntax_check_command(scratch: str, path: str) -> str:
    """Runs SYNTAX_CHECK with the sandbox's Python (python3, else python), then removes the scratch file."""
    return (f'py=$(command -v python3 || command -v python) && "$py" -I -c {shlex.quote(SYNTAX_CHECK)} '
            f"{scratch} {shlex.quote(path)}; rm -f -- {scratch}")


def _syntax_errors(output: str) -> tuple[str, str] | None:
    """(the proposed content's error, the current file's) from SYNTAX_CHECK's line; None if it printed none."""
    for line in reversed(output.splitlines()):
        if line.startswith(SYNTAX_MARK + "\t"):
            _, proposed, current = [*line.split("\t", 2), "", ""][:3]
            return proposed[:500], current[:500]
    return None
