"""The LLM agent's prompts, SWE-agent/MLGym style: a system message documenting the commands and the
reply format, an instance message with the task, one message per observation, and a format-error message.

Every template is a `str.format` string; `AgentConfig` (agents/loop.py) lets a run override each one
and checks that it uses only the placeholders listed in `TEMPLATE_FIELDS`.
"""

from synthml.envs.aci import COMMANDS, USAGE, WINDOW

SYSTEM_TEMPLATE = """SETTING: You are an autonomous machine learning researcher working directly in a command line \
with a special interface.

The interface has a file viewer that shows you {window} lines of a file at a time, and commands to navigate, \
search and edit files. Besides them you can run any bash command, e.g. `ls`, `head data/train.csv` or \
`python train.py`. Interactive programs (a python REPL, vim, less) are not supported, and each command has a \
time limit: redirect long output to a file and read it with head, tail or grep.

COMMANDS:
{command_docs}

RESPONSE FORMAT:
{reply_format}"""

BLOCK_FORMAT = """Each reply has two parts: first a short DISCUSSION of what you will do and why, then exactly \
one command in a fenced code block, e.g.:

DISCUSSION
First I'll see which files the workspace holds.
```
ls -la
```

Give exactly one command block per reply (a multi-line edit or insert command counts as one), then wait for \
its output before you give the next command."""

TOOL_FORMAT = """Each reply has two parts: first a short discussion of what you will do and why, then exactly \
one call of the run_command tool with the command to run (one tool call per reply). The command's output \
comes back as the tool's result; wait for it before you give the next command."""

INSTANCE_TEMPLATE = """We're currently solving the following task. Here's the task description:

TASK DESCRIPTION:
{task_description}

INSTRUCTIONS:
Solve the task on your own with the commands above; nobody will answer questions. Your workspace is \
{workspace}. You have {max_steps} steps; when they run out, whatever submission your workspace holds is \
submitted for you. Use `validate` to score your work on the validation split as often as you like, and \
`submit` once you are done: it scores your submission on the hidden test split and ends the episode."""

NEXT_STEP_TEMPLATE = "{observation}\n(Current step: {step}, remaining steps: {remaining})"

NO_OUTPUT = "Your command ran successfully and did not produce any output."

FORMAT_ERROR_TEMPLATE = """Your reply could not be used: {error}

Please answer in this format:
{reply_format}"""

OLD_OUTPUT = "Old environment output: ({lines} lines omitted)"
"""What replaces an observation older than the history window (SWE-agent's last-n-observations processor)."""

TEMPLATE_FIELDS: dict[str, tuple[str, ...]] = {
    "system_template": ("command_docs", "reply_format", "window"),
    "instance_template": ("task_description", "workspace", "max_steps"),
    "next_step_template": ("observation", "step", "remaining"),
    "format_error_template": ("error", "reply_format"),
}
"""The placeholders each overridable template may use."""

RUN_COMMAND = "run_command"
RUN_COMMAND_TOOL = {
    "type": "function",
    "function": {
        "name": RUN_COMMAND,
        "description": ("Run one command in the workspace: an interface command from the system message "
                        "(open, edit, validate, submit, ...) or a bash command. Returns its output."),
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "string", "description": "The command, exactly as typed in a shell "
                                       "(an edit command spans several lines and ends with end_of_edit)."}},
            "required": ["command"],
            "additionalProperties": False,
        },
    },
}
"""The one native tool: every ACI and shell command goes through it, so the docs stay in one place."""

_DOCS = {
    "open": "opens the file at the given path in the viewer; with a line number, the window moves to show it",
    "goto": "moves the viewer's window to show <line_number>",
    "scroll_up": f"moves the viewer's window up {WINDOW} lines",
    "scroll_down": f"moves the viewer's window down {WINDOW} lines",
    "create": "creates and opens a new file with the given name",
    "edit": ("replaces lines <start_line> through <end_line> (inclusive) of the open file with the given text, "
             "which ends at a line holding only end_of_edit; keep the indentation right. An edit that introduces "
             "a Python syntax error is refused"),
    "insert": "inserts the given text after line <line_number> of the open file; the text ends with end_of_insert",
    "search_dir": "searches for search_term in every file in dir (default: the current folder)",
    "search_file": "searches for search_term in file (default: the open file)",
    "find_file": "finds every file with the given name in dir (default: the current folder)",
    "validate": "scores your current submission on the validation split; use it to check your work",
    "submit": "scores your submission on the hidden test split and ends the episode; use it when you are done",
}


def command_docs() -> str:
    """One entry per ACI command plus `validate` and `submit`: its usage, then what it does."""
    names = [*COMMANDS, "validate", "submit"]
    return "\n".join(f"{USAGE.get(name, name)}\n  {_DOCS[name]}" for name in names)
