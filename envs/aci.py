"""The SWE-agent/MLGym agent-computer interface: a file viewer, editor and search commands.

The viewer state (open file, first shown line) lives here, on the host; every file access and
search runs inside the sandbox as the agent's user, so the commands see exactly what the agent may.
"""

import ast
import re
import shlex

from synthml.envs.sandbox import Sandbox

WINDOW = 100
OVERLAP = 2
COMMANDS = ("open", "goto", "scroll_up", "scroll_down", "create", "edit", "insert", "search_dir",
            "search_file", "find_file")
_EDIT = re.compile(r"^edit[ \t]+(\d+)[ \t]*:[ \t]*(\d+)[ \t]*\n(.*?)^end_of_edit\s*$", re.DOTALL | re.MULTILINE)
_INSERT = re.compile(r"^insert[ \t]+(\d+)[ \t]*\n(.*?)^end_of_insert\s*$", re.DOTALL | re.MULTILINE)
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
    def __init__(self, sandbox: Sandbox, timeout: float = 30) -> None:
        self.sandbox, self.timeout = sandbox, timeout
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
        try:
            args = shlex.split(action.strip().split("\n", 1)[0])[1:]
        except ValueError as e:
            return f"Error parsing arguments ({e}). Usage: {USAGE.get(name, name)}"
        return getattr(self, f"_{name}")(args)

    def _open(self, args: list[str]) -> str:
        if not args or len(args) > 2 or (len(args) == 2 and not args[1].isdigit()):
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
        if len(args) != 1 or not args[0].isdigit():
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
        self.sandbox.write_file(args[0], "\n")
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
        lines = self._lines()
        if start < 1 or start > len(lines) + 1:
            return f"Error: line {start} is outside the file ({len(lines)} lines)."
        new = [*lines[: start - 1], *text.splitlines(), *lines[end:]]
        error = _new_syntax_error(self.file, "\n".join(lines), "\n".join(new))
        if error:
            return (f"Your proposed edit has introduced new syntax error(s):\n- {error}\n"
                    "Your changes have NOT been applied. Fix your edit command and try again.")
        self.sandbox.write_file(self.file, "\n".join(new) + "\n")
        return self._show(start) + "\nFile updated. Please review the changes and make sure they are correct."

    def _search_dir(self, args: list[str]) -> str:
        if not 1 <= len(args) <= 2:
            return f"Usage: {USAGE['search_dir']}"
        term, where = args[0], args[1] if len(args) == 2 else "."
        out = self._sh(f"grep -rIc -F -- {shlex.quote(term)} {shlex.quote(where)} 2>/dev/null | grep -v ':0$'")
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
        out = self._sh(f"grep -nI -F -- {shlex.quote(term)} {shlex.quote(where)} 2>/dev/null")
        hits = [line.split(":", 1) for line in out.splitlines() if ":" in line]
        if not hits:
            return f'No matches found for "{term}" in {where}'
        body = "\n".join(f"Line {n}:{text}" for n, text in hits)
        return f'Found {len(hits)} matches for "{term}" in {where}:\n{body}\nEnd of matches for "{term}" in {where}'

    def _find_file(self, args: list[str]) -> str:
        if not 1 <= len(args) <= 2:
            return f"Usage: {USAGE['find_file']}"
        name, where = args[0], args[1] if len(args) == 2 else "."
        found = self._sh(f"find {shlex.quote(where)} -type f -name {shlex.quote(name)} 2>/dev/null").splitlines()
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

    def _lines(self) -> list[str]:
        return self.sandbox.read_file(self.file).splitlines()

    def _realpath(self, path: str) -> str | None:
        """Absolute path as the agent's shell resolves it, with a trailing / for a folder."""
        quoted = shlex.quote(path)
        out = self.sandbox.run(f'p=$(realpath -e -- {quoted}) && {{ [ -d "$p" ] && echo "$p/" || echo "$p"; }}',
                               self.timeout)
        return out.output.strip() if out.exit_code == 0 else None

    def _sh(self, command: str) -> str:
        return self.sandbox.run(command, self.timeout).output


def _new_syntax_error(path: str, before: str, after: str) -> str | None:
    """A Python syntax error the edit introduces (parsing only; nothing is executed)."""
    if not path.endswith(".py"):
        return None
    error = _syntax_error(after)
    return error if error and _syntax_error(before) is None else None


def _syntax_error(source: str) -> str | None:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return f"E999 {type(e).__name__}: {e}"
    return None
