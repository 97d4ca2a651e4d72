"""Which programs a shell action runs: enough of bash's grammar to give training commands their timeout.

An action gets the task's training timeout only when one of its simple commands runs a training
program (`python`, `python3.11`, `.venv/bin/python`, `torchrun`, `accelerate`, `deepspeed`), after
leading variable assignments and wrappers such as `time`, `nohup`, `env` or `timeout 60`; the word
`python` in an argument, a quoted string, a comment or a heredoc body does not count. `bash -c '...'`,
`sh -c '...'` and `eval ...` are read through. What this lexer cannot read gets the ordinary timeout.

`shlex` alone cannot do this: it does not tell a quoted `';'` from the operator, and it copies a
token once per character (a 1 MB word costs seconds).
"""

import os
import re

from synthml.envs.sandbox.shell import MAX_SCRIPT_BYTES

TRAINING_PROGRAM = re.compile(r"python(\d+(\.\d+)*)?|torchrun|accelerate|deepspeed")
MAX_DEPTH = 3
"""`bash -c` / `eval` levels read through."""
RESERVED = {"!", "{", "}", "if", "then", "else", "elif", "do", "while", "until", "fi", "done"}
WRAPPERS = {  # wrapper -> (its options that take a value, positional words before the program)
    "time": ({"-f", "-o", "--format", "--output"}, 0), "nohup": (set(), 0), "setsid": (set(), 0),
    "env": ({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}, 0), "command": (set(), 0),
    "nice": ({"-n", "--adjustment"}, 0), "timeout": ({"-s", "--signal", "-k", "--kill-after"}, 1),
    "stdbuf": ({"-i", "-o", "-e", "--input", "--output", "--error"}, 0), "exec": ({"-a"}, 0),
}
SHELLS = {"bash", "sh", "dash", "zsh"}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
_PLAIN = re.compile(r"[^ \t\r\n\\'\";&|()`<>]+")
_DOUBLE_QUOTED = re.compile(r'"((?:[^"\\]++|\\.)*+)"', re.DOTALL)
_DOUBLE_ESCAPE = re.compile(r'\\([$`"\\\n])')
_REDIRECTION = re.compile(r"[<>]+[|&]?(?:[0-9]+-?|-)?")


def runs_training(action: str, depth: int = 0) -> bool:
    """Whether a simple command of `action` runs a training program (False when it does not parse)."""
    if len(action) > MAX_SCRIPT_BYTES or depth > MAX_DEPTH:
        return False  # the sandbox refuses such actions anyway
    commands = simple_commands(action)
    return any(_trains(words, depth) for words in commands or [])


def simple_commands(action: str) -> list[list[str]] | None:
    """The words of each simple command in `action` (quotes removed; comments, heredoc bodies and
    redirections left out); None when the quotes do not close."""
    try:
        return _Lexer(action).commands()
    except ValueError:
        return None


def program_words(words: list[str]) -> list[str]:
    """`words` from the program on: leading assignments, reserved words and wrappers skipped."""
    i = 0
    while i < len(words):
        word = words[i]
        if _ASSIGNMENT.match(word) or word in RESERVED:
            i += 1
        elif word in WRAPPERS:
            if word == "command" and {"-v", "-V"} & set(words[i + 1:i + 2]):
                return []  # `command -v python` only looks the program up
            i = _after_options(words, i + 1, *WRAPPERS[word])
        else:
            return words[i:]
    return []


def _trains(words: list[str], depth: int) -> bool:
    words = program_words(words)
    if not words:
        return False
    name = os.path.basename(words[0])
    if TRAINING_PROGRAM.fullmatch(name):
        return True
    if name == "eval":
        return runs_training(" ".join(words[1:]), depth + 1)
    script = _shell_script(words[1:]) if name in SHELLS else None
    return script is not None and runs_training(script, depth + 1)


def _after_options(words: list[str], i: int, valued: set[str], positional: int) -> int:
    """The index of the first word after a wrapper's options, assignments (env) and positional words."""
    while i < len(words) and words[i].startswith("-") and words[i] != "-":
        if words[i] == "--":
            return i + 1 + positional
        i += 2 if words[i] in valued else 1
    return i + positional


def _shell_script(args: list[str]) -> str | None:
    """The command string of `bash [options] -c STRING ...`, None for a script file or stdin."""
    reads_string, i = False, 0
    while i < len(args) and args[i][:1] in "-+" and args[i] not in ("-", "+", "--"):
        option = args[i]
        reads_string |= not option.startswith("--") and "c" in option
        i += 2 if option in ("--rcfile", "--init-file") or (not option.startswith("--") and "o" in option.lower()) \
            else 1
    i += i < len(args) and args[i] == "--"
    return args[i] if reads_string and i < len(args) else None


class _Lexer:
    """Splits bash text into simple commands at unquoted `; & | ( ) \\``, newlines and `$(`."""

    def __init__(self, text: str) -> None:
        self.text, self.i = text, 0
        self.found: list[list[str]] = [[]]
        self.word: list[str] | None = None
        self.target: str | None = None
        """What the next word is: 'file' (a redirection's, dropped) or '<<' / '<<-' (a heredoc's end)."""
        self.heredocs: list[tuple[str, bool]] = []

    def commands(self) -> list[list[str]]:
        while self.i < len(self.text):
            self._step(self.text[self.i])
        self._end_word()
        return [words for words in self.found if words]

    def _step(self, char: str) -> None:
        if char in " \t\r":
            self._end_word()
            self.i += 1
        elif char == "\n":
            self._separate()
            self.i = self._after_heredocs(self.i + 1)
        elif char == "\\":
            self._escape()
        elif char in "'\"":
            self._quoted(char)
        elif char == "#" and self.word is None:
            end = self.text.find("\n", self.i)
            self.i = len(self.text) if end < 0 else end
        elif char in "<>" or (char == "&" and self.text.startswith(">", self.i + 1)):
            self._redirection()
        elif char == "(" and self.word and self.word[-1].endswith("="):
            self._array()
        elif char in ";&|()`":
            self._separate()
            self.i += 1
        else:
            self._add(_PLAIN.match(self.text, self.i)[0])

    def _add(self, text: str, advance: int | None = None) -> None:
        """Add `text` to the current word and move on by `advance` characters (default: its length)."""
        if self.word is None:
            self.word = []
        self.word.append(text)
        self.i += len(text) if advance is None else advance

    def _escape(self) -> None:
        escaped = self.text[self.i + 1:self.i + 2]
        if escaped == "\n":
            self.i += 2  # a line continuation
        else:
            self._add(escaped or "\\", 2)

    def _quoted(self, quote: str) -> None:
        if quote == "'":
            end = self.text.find("'", self.i + 1)
            if end < 0:
                raise ValueError("no closing quotation")
            self._add(self.text[self.i + 1:end], end + 1 - self.i)
            return
        match = _DOUBLE_QUOTED.match(self.text, self.i)
        if match is None:
            raise ValueError("no closing quotation")
        self._add(_DOUBLE_ESCAPE.sub(lambda m: "" if m[1] == "\n" else m[1], match[1]), match.end() - self.i)

    def _redirection(self) -> None:
        if self.word is not None and "".join(self.word).isdigit():
            self.word = None  # the descriptor of `2>file`
        self._end_word()
        if self.text.startswith("<<", self.i) and not self.text.startswith("<<<", self.i):
            self.target = "<<-" if self.text.startswith("<<-", self.i) else "<<"
            self.i += len(self.target)
            return
        ampersand = self.text[self.i] == "&"  # `&>file`
        operator = _REDIRECTION.match(self.text, self.i + ampersand)[0]
        self.i += ampersand + len(operator)
        if self.text.startswith("(", self.i):
            return  # a process substitution, `<(...)`: its commands follow
        self.target = None if operator[-1].isdigit() or operator.endswith("-") else "file"

    def _array(self) -> None:
        end = self.text.find(")", self.i)
        if end < 0:
            raise ValueError("no closing parenthesis")
        self._add(self.text[self.i:end + 1])

    def _end_word(self) -> None:
        if self.word is None:
            return
        word, self.word = "".join(self.word), None
        if self.target in ("<<", "<<-"):
            self.heredocs.append((word, self.target == "<<-"))
        elif self.target is None:
            self.found[-1].append(word)
        self.target = None

    def _separate(self) -> None:
        self._end_word()
        self.target = None
        if self.found[-1]:
            self.found.append([])

    def _after_heredocs(self, start: int) -> int:
        """Where the text goes on after the bodies of the heredocs opened on the line that just ended."""
        for delimiter, strip_tabs in self.heredocs:
            while start < len(self.text):
                end = self.text.find("\n", start)
                end = len(self.text) if end < 0 else end
                line, start = self.text[start:end], end + 1
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
        self.heredocs = []
        return min(start, len(self.text))
