"""The pipe between an evaluator and the agent's code, which runs in a sandbox of its own.

Standard library only: this file is copied into both sandboxes and runs under the task's Python.
Evaluator side: a stand-in module (written by `submission_proxy.py` under the agent module's name)
calls `bind`, and every attribute the evaluator reads from it is fetched from the agent's process;
functions come back as stubs that forward each call. Agent side: `python -I wire.py ROOT MODULE...`
imports the agent's modules and answers requests until the evaluator hangs up.

Values cross as JSON lines of plain data (None, bool, int, float, str, list, tuple, dict): tuples and
dicts are tagged objects, so nothing but these types can be decoded, and arguments are copies (the
agent's code cannot change the evaluator's objects).
"""

import json
import os
import sys
import threading
import traceback

REQUESTS, RESPONSES = "requests", "responses"
"""FIFOs beside this file: the evaluator writes requests and reads responses."""
BYE = b'{"op":"bye"}\n'
"""What the host writes once the evaluator has ended, for a submission that holds the pipe open itself."""
MAX_LINE = 16 << 20
"""Bytes one answer may take; more is the submission's failure."""
MAX_DEPTH = 100
MAX_MESSAGE = 300
"""Characters of the agent's exception message kept (one line) in the evaluator's exception."""
SAFE_ERRORS = {e.__name__: e for e in (ArithmeticError, AssertionError, AttributeError, IndexError, KeyError,
                                       LookupError, NotImplementedError, OverflowError, RecursionError,
                                       RuntimeError, TypeError, ValueError, ZeroDivisionError)}
"""Exceptions of the agent's code re-raised as themselves in the evaluator; others become RuntimeError."""


class SubmissionError(RuntimeError):
    """The submission's process failed, ended, or answered with something that is not plain data."""


ATOMS = (type(None), bool, int, float, str)


def encode(value, depth=0):
    """Plain data as JSON-ready values (tuples and dicts tagged); numpy scalars and arrays as Python values."""
    kind = type(value)
    if kind in ATOMS:
        return value
    if depth > MAX_DEPTH:
        raise TypeError(f"values nested deeper than {MAX_DEPTH} levels cannot cross to the evaluator")
    if kind is list or kind is tuple:
        items = [item if type(item) in ATOMS else encode(item, depth + 1) for item in value]
        return items if kind is list else {"t": items}
    if kind is dict:
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    return _encode_other(value, depth)


def _encode_other(value, depth):
    """Subclasses become their plain base type; numpy values their Python equivalents."""
    for base in ATOMS[1:]:
        if isinstance(value, base):
            return base(value)
    for base in (list, tuple, dict):
        if isinstance(value, base):
            return encode(base(value), depth)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return encode(value.tolist(), depth + 1)
    raise TypeError(f"a {type(value).__name__} is not plain data (None, bool, int, float, str, list, tuple, dict)")


def decode(value):
    """The inverse of `encode` on what `json.loads` returned; ValueError on anything else."""
    kind = type(value)
    if kind in ATOMS:
        return value
    if kind is list:
        return [item if type(item) in ATOMS else decode(item) for item in value]
    if kind is dict and len(value) == 1:
        tag, body = next(iter(value.items()))
        if tag == "t" and type(body) is list:
            return tuple([item if type(item) in ATOMS else decode(item) for item in body])
        if tag == "d" and type(body) is list and all(type(p) is list and len(p) == 2 for p in body):
            try:
                return {decode(k): decode(v) for k, v in body}
            except TypeError as e:  # an unhashable key
                raise ValueError(str(e)) from None
    raise ValueError("not plain data")


_json = json.JSONEncoder(check_circular=False, separators=(",", ":")).encode  # encode() made new, acyclic lists


def _dumps(message):
    return _json(message).encode() + b"\n"


# --- the evaluator's side ---

class _Connection:
    def __init__(self, folder):
        self.pid, self.lock = os.getpid(), threading.Lock()
        self.requests = open(os.path.join(folder, REQUESTS), "wb")  # noqa: SIM115 (open for the process's life)
        self.responses = open(os.path.join(folder, RESPONSES), "rb")  # noqa: SIM115

    def ask(self, request):
        if os.getpid() != self.pid:
            raise SubmissionError("the submission's functions can only be called from the evaluator's own process")
        with self.lock:
            try:
                self.requests.write(_dumps(request))
                self.requests.flush()
            except BrokenPipeError:
                raise SubmissionError("the submission's process has ended") from None
            line = self.responses.readline(MAX_LINE + 1)
        if not line.endswith(b"\n"):
            raise SubmissionError("the submission's process has ended" if len(line) <= MAX_LINE else
                                  f"the submission answered with more than {MAX_LINE} bytes")
        return _reply(line)


def _reply(line):
    try:
        reply = json.loads(line)
        if type(reply) is dict and set(reply) == {"ok"}:
            return decode(reply["ok"])
        kind, message = reply["error"]
        kind, message = str(kind)[:50], " ".join(str(message).split())[:MAX_MESSAGE]
    except (ValueError, TypeError, KeyError, RecursionError):
        raise SubmissionError("the submission answered with something other than plain data") from None
    error = SAFE_ERRORS.get(kind, RuntimeError)
    raise error(f"raised in the submission's own process: {kind}: {message}")


_connection = None
_exit = os._exit
"""Taken before any of the agent's code runs (it could replace os._exit)."""


def bind(module, namespace):
    """Make `namespace` (a stand-in module's globals) fetch its attributes from the agent's `module`."""
    global _connection
    if _connection is None:
        _connection = _Connection(os.path.dirname(os.path.abspath(__file__)))
    connection = _connection
    try:
        connection.ask({"op": "import", "module": module})
    except Exception as e:  # ask raises the agent's error or SubmissionError
        raise ImportError(f"{module} could not be imported in the submission's own process: {e}") from None

    def attribute(name):
        if name.startswith("__") and name != "__all__":
            raise AttributeError(name)
        if name == "__all__":
            return _names(connection.ask({"op": "names", "module": module}))
        answer = connection.ask({"op": "get", "module": module, "name": name})
        if type(answer) is dict and set(answer) == {"value"}:
            return answer["value"]
        if answer != {"callable": True}:
            raise SubmissionError(f"the submission's process answered {name} with neither a value nor a function")
        stub = _stub(connection, module, name)
        namespace[name] = stub
        return stub

    namespace["__getattr__"] = attribute


def _names(answer):
    if type(answer) is not list or not all(type(n) is str and n.isidentifier() for n in answer):
        raise SubmissionError("the submission's process answered __all__ with something other than names")
    return answer


def _stub(connection, module, name):
    def forward(*args, **kwargs):
        return connection.ask({"op": "call", "module": module, "name": name, "args": encode(list(args)),
                               "kwargs": encode(kwargs)})

    forward.__name__ = forward.__qualname__ = name
    forward.__module__ = module
    return forward


# --- the agent's side ---

def serve(folder, root, allowed):
    """Answer the evaluator's requests about the `allowed` modules (importable from `root`) until it hangs up."""
    requests = open(os.path.join(folder, REQUESTS), "rb")  # noqa: SIM115 (first: the evaluator waits for it)
    responses = open(os.path.join(folder, RESPONSES), "wb")  # noqa: SIM115
    sys.path.insert(0, root)
    modules = {}
    for line in requests:
        if line == BYE:
            break
        try:
            reply = {"ok": encode(_answer(json.loads(line), modules, allowed))}
            data = _dumps(reply)
        except BaseException as e:  # the agent's code may raise anything, SystemExit too
            traceback.print_exc()
            data = _dumps({"error": [type(e).__name__, _text(e)]})
        try:
            responses.write(data)
            responses.flush()
        except OSError:  # the evaluator has gone
            break
    _exit(0)  # the agent's threads and exit handlers do not keep its sandbox alive


def _answer(request, modules, allowed):
    op, name = request["op"], request["module"]
    if name not in allowed:
        raise ImportError(f"{name} is not a module of the submission")
    if op == "import":
        modules[name] = __import__(name, fromlist=["_"])
        return None
    module = modules[name]
    if op == "names":
        names = getattr(module, "__all__", None)
        return [str(n) for n in names] if names is not None else [n for n in vars(module) if not n.startswith("_")]
    value = getattr(module, request["name"])
    if op == "get":
        return {"callable": True} if callable(value) else {"value": value}
    args, kwargs = decode(request["args"]), decode(request["kwargs"])
    return value(*args, **kwargs)


def _text(error):
    try:
        return str(error)[:MAX_MESSAGE * 4]
    except BaseException:  # its __str__ is the agent's code too
        return "(unprintable)"


if __name__ == "__main__":
    serve(os.path.dirname(os.path.abspath(__file__)), sys.argv[1], set(sys.argv[2:]))
