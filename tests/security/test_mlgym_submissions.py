"""MLGym tasks attacked through the evaluator: agent code inside the scorer (class 8), artefact names
pasted into a shell (class 5), answers shipped into the workspace (class 9).

Every hostile case raised the score, forged it or printed a hidden file before the fix. The games are
the toy battle of sexes of `tests/mlgym_layout.py`: its partner alternates 1, 0, 1, 0, ..., so the best
honest strategy (matching it) scores 1.5 and always playing 1 scores 0.5.
"""

import contextlib
import os
import shlex
import time
from pathlib import Path

import pytest

from synthml.envs import submission_wire as wire
from synthml.envs.env import SynthMLEnv
from synthml.envs.submission_wire import SubmissionError
from tests.mlgym_layout import GAME_EVALUATE, GAME_TASK, MODEL_TASK, write_checkout
from tests.security.helpers import CANARY, assert_alive, run

HONEST_BEST = 1.5
FORGED = '{"Score": 1000000.0}'
FORGE = f"print({FORGED!r}, flush=True)"
PLAYS_ONE = "def row_strategy(history):\n    return 1\n"
MOVES = "0110100110"
"""The secret game's partner plays these (from a hidden file): always 0 scores 1.0, reading them 1.5."""

SECRET_GAME = GAME_TASK.replace("id: battleOfSexes", "id: toySecretGame").replace("data/bos/", "data/secret/") + """\
metrics:
  - name: Score
    direction: max
submission_files:
  - strategy.py
hidden_files:
  - data/secret/moves.txt
"""
SECRET_TARGET = f"""\
import os
MOVES = open("data/secret/moves.txt").read() if os.path.exists("data/secret/moves.txt") else "{'1' * 10}"
def target_column_strategy(history):
    return int(MOVES[len(history) % 10])
"""
WHOLE_GAME = GAME_TASK.replace("id: battleOfSexes", "id: toyWholeWorkspaceGame") + """\
metrics:
  - name: Score
    direction: max
"""
SECRET_MODEL = MODEL_TASK.replace("id: rlMountainCarContinuous", "id: toySecretModel") + """\
metrics:
  - name: Reward Mean
    direction: max
hidden_files:
  - data/rl/hidden/secret.txt
"""


@pytest.fixture(scope="module")
def checkout(tmp_path_factory, runtime) -> Path:
    root = write_checkout(tmp_path_factory.mktemp("mlgym"))
    files = {"configs/tasks/toySecretGame.yaml": SECRET_GAME, "data/secret/evaluate.py": GAME_EVALUATE,
             "data/secret/target.py": SECRET_TARGET, "data/secret/strategy.py": "def row_strategy(h):\n    return 0\n",
             "data/secret/moves.txt": MOVES, "configs/tasks/toyWholeGame.yaml": WHOLE_GAME,
             "configs/tasks/toySecretModel.yaml": SECRET_MODEL, "data/rl/hidden/secret.txt": CANARY}
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    fast = root / "configs/tasks/toyBattleOfSexes.yaml"
    fast.write_text(fast.read_text().replace("training_timeout: 60", "training_timeout: 10"))  # loops time out
    return root


def env_for(checkout: Path, config: str):
    env = SynthMLEnv(task=checkout / "configs/tasks" / config, max_steps=100, command_timeout=30)
    yield env
    env.close()


@pytest.fixture(scope="module")
def game_env(checkout):
    yield from env_for(checkout, "toyBattleOfSexes.yaml")


@pytest.fixture(scope="module")
def secret_game_env(checkout):
    yield from env_for(checkout, "toySecretGame.yaml")


@pytest.fixture(scope="module")
def whole_game_env(checkout):
    yield from env_for(checkout, "toyWholeGame.yaml")


@pytest.fixture(scope="module")
def secret_model_env(checkout):
    yield from env_for(checkout, "toySecretModel.yaml")


@pytest.fixture(scope="module")
def house_env(checkout):
    yield from env_for(checkout, "toyHouse.yaml")


@pytest.fixture(scope="module")
def titanic_env(checkout):
    yield from env_for(checkout, "toyTitanic.yaml")


def fresh(env: SynthMLEnv) -> SynthMLEnv:
    env.reset(seed=0)
    return env


@pytest.fixture
def game(game_env):
    return fresh(game_env)


@pytest.fixture
def secret_game(secret_game_env):
    return fresh(secret_game_env)


@pytest.fixture
def whole_game(whole_game_env):
    return fresh(whole_game_env)


@pytest.fixture
def secret_model(secret_model_env):
    return fresh(secret_model_env)


@pytest.fixture
def house(house_env):
    return fresh(house_env)


@pytest.fixture
def titanic(titanic_env):
    return fresh(titanic_env)


def write(env: SynthMLEnv, name: str, text: str) -> None:
    assert run(env, f"cat > {name} <<'SYNTHML_EOF'\n{text}SYNTHML_EOF\necho ok") == "ok\n"


def submit(env: SynthMLEnv) -> tuple[str, dict]:
    observation, _, terminated, _, info = env.step("submit")
    assert terminated
    return observation, info


def wire_processes(within: float = 15.0) -> list[str]:
    """Submission processes still running after `within` seconds (their sandbox may take its timeout)."""
    deadline = time.monotonic() + within
    while True:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError):
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"submission_wire.py" in command and b"State:\tZ" not in Path(f"/proc/{pid}/status").read_bytes():
                    found.append(pid)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


# --- class 8: the agent's code in the scorer ---

PATCH_PAYOFF = "table.update({(1, 0): 1000, (0, 1): 1000, (1, 1): 1000, (0, 0): 1000})"
HOSTILE_STRATEGIES = {
    "prints-a-score-and-exits-at-import": f"import os\n{FORGE}\nos._exit(0)\n",
    "prints-a-score-and-exits-in-a-call": f"import os\ndef row_strategy(history):\n    {FORGE}\n    os._exit(0)\n",
    "prints-a-score-at-exit": f"import atexit\natexit.register(lambda: {FORGE})\n{PLAYS_ONE}",
    "prints-from-a-thread-after-the-evaluator": (
        "import threading\nmain = threading.main_thread()\n"
        f"threading.Thread(target=lambda: (main.join(), {FORGE})).start()\n{PLAYS_ONE}"),
    "raises-system-exit-after-printing": f"def row_strategy(history):\n    {FORGE}\n    raise SystemExit(0)\n",
    "replaces-sys-stdout": (
        "import re, sys\nclass Forger:\n    def __init__(self, real):\n        self.real = real\n"
        "    def write(self, text):\n        return self.real.write(re.sub(r'\"Score\": [^}]*', "
        "'\"Score\": 1000000.0', text))\n    def flush(self):\n        self.real.flush()\n"
        f"sys.stdout = Forger(sys.stdout)\n{PLAYS_ONE}"),
    "replaces-print": f"import builtins\nreal = builtins.print\nbuiltins.print = lambda *a, **k: real({FORGED!r})\n"
                      f"{PLAYS_ONE}",
    "replaces-json-dumps": f"import json\njson.dumps = lambda *a, **k: {FORGED!r}\n{PLAYS_ONE}",
    "replaces-the-json-encoder": f"import json\njson.JSONEncoder.encode = lambda self, o: {FORGED!r}\n{PLAYS_ONE}",
    "replaces-builtin-sum": f"import builtins\nbuiltins.sum = lambda *a, **k: 1e7\n{PLAYS_ONE}",
    "patches-the-evaluator-through-inspect-stack": (
        "import inspect\ndef row_strategy(history):\n    for frame in inspect.stack():\n"
        f"        table = frame.frame.f_globals.get('payoff')\n        if isinstance(table, dict):\n"
        f"            {PATCH_PAYOFF}\n    return 1\n"),
    "patches-the-evaluator-through-sys-modules": (
        "import sys\ndef row_strategy(history):\n    table = getattr(sys.modules['__main__'], 'payoff', None)\n"
        f"    if isinstance(table, dict):\n        {PATCH_PAYOFF}\n    return 1\n"),
    "patches-the-evaluator-through-gc": (
        "import gc\ndef row_strategy(history):\n    for space in gc.get_objects():\n"
        f"        table = space.get('payoff') if isinstance(space, dict) else None\n"
        f"        if isinstance(table, dict):\n            {PATCH_PAYOFF}\n    return 1\n"),
    "patches-the-partner-module": "import target\ntarget.target_column_strategy = lambda history: 0\n"
                                  "def row_strategy(history):\n    return 0\n",
    "mutates-the-history-it-is-given": "def row_strategy(history):\n    history.extend([(0, 0)] * 10)\n    return 0\n",
    "returns-an-int-whose-hash-patches-the-evaluator": (
        "import gc\nclass Move(int):\n    def __hash__(self):\n        for space in gc.get_objects():\n"
        "            table = space.get('payoff') if isinstance(space, dict) else None\n"
        f"            if isinstance(table, dict):\n                {PATCH_PAYOFF}\n"
        "        return int.__hash__(self)\ndef row_strategy(history):\n    return Move(1)\n"),
    "prints-a-score-from-a-signal-handler": (
        "import os, signal, time\nsignal.signal(signal.SIGALRM, lambda *_: (print('{\"Score\": 1000000.0}', "
        "flush=True), os._exit(0)))\nsignal.setitimer(signal.ITIMER_REAL, 0.05)\n"
        "def row_strategy(history):\n    time.sleep(0.2)\n    return 1\n"),
}


@pytest.mark.parametrize("attack", HOSTILE_STRATEGIES)
def test_a_strategy_cannot_raise_its_own_score(game, attack):
    write(game, "strategy.py", HOSTILE_STRATEGIES[attack])
    observation, info = submit(game)
    assert "score" not in info or info["score"]["Score"] <= HONEST_BEST, (info, observation)
    assert not wire_processes()
    game.reset(seed=0)
    assert_alive(game)
    write(game, "strategy.py", "def row_strategy(history):\n    return 0 if len(history) % 2 else 1\n")
    assert submit(game)[1]["score"] == {"Score": HONEST_BEST}  # the honest best still scores


HIDDEN_READS = {
    "relative-path": "open('data/secret/moves.txt').read()",
    "workspace-path": "open('/home/agent/workspace/data/secret/moves.txt').read()",
    "search": "next(open(os.path.join(d, 'moves.txt')).read() for d, _, f in os.walk('/home') if 'moves.txt' in f)",
}


@pytest.mark.parametrize("read", HIDDEN_READS)
def test_a_strategy_cannot_read_the_hidden_files(secret_game, read):
    write(secret_game, "strategy.py", f"import os\ntry:\n    MOVES = {HIDDEN_READS[read]}\nexcept Exception:\n"
                                      "    MOVES = '0' * 10\ndef row_strategy(history):\n"
                                      "    return int(MOVES[len(history)])\n")
    observation, info = submit(secret_game)
    assert info["score"] == {"Score": 1.0} and MOVES not in observation  # always 0: it never saw the moves
    secret_game.reset(seed=0)
    assert_alive(secret_game)


def test_a_module_shadowing_one_the_evaluator_imports_stays_out_of_it(whole_game):
    write(whole_game, "json.py", f"def dumps(*args, **kwargs):\n    return {FORGED!r}\n")
    write(whole_game, "strategy.py", PLAYS_ONE)
    assert FORGED in run(whole_game, "python evaluate.py")  # in the agent's own sandbox, it does shadow json
    _, info = submit(whole_game)
    assert info["score"] == {"Score": 0.5}
    whole_game.reset(seed=0)
    assert_alive(whole_game)


FAILURES = {  # the agent's failure, never a hang, an infrastructure error or a leftover process
    "raises": "def row_strategy(history):\n    raise ValueError('no move')\n",
    "loops-forever": "def row_strategy(history):\n    while True:\n        pass\n",
    "stops-itself": "import os, signal\ndef row_strategy(history):\n    os.kill(os.getpid(), signal.SIGSTOP)\n",
    "returns-an-object": "def row_strategy(history):\n    return object()\n",
    "returns-a-huge-string": "def row_strategy(history):\n    return 'x' * (32 << 20)\n",
    "returns-deep-nesting": "def row_strategy(history):\n    v = 0\n    for _ in range(5000):\n        v = [v]\n"
                            "    return v\n",
    "writes-garbage-to-the-pipe": "import os\ndef row_strategy(history):\n    pipe = '.synthml-submission/responses'\n"
                                  "    os.write(os.open(pipe, os.O_WRONLY), b'{\"d\": 1}\\n')\n    return 0\n",
    "is-missing-the-function": "def other(history):\n    return 1\n",
    "fails-to-import": "import no_such_module\n",
}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failing_strategy_is_the_agents_failure(game, failure):
    write(game, "strategy.py", FAILURES[failure])
    observation, info = submit(game)
    assert info["exit_status"] == "evaluation_error (submit)" and "score" not in info, observation
    assert not wire_processes()
    game.reset(seed=0)
    assert_alive(game)


def test_a_strategy_holding_the_pipe_open_does_not_hold_the_evaluation(game):
    write(game, "strategy.py", "HELD = open('.synthml-submission/requests', 'rb')\n" + PLAYS_ONE)
    _, info = submit(game)
    assert info["score"] == {"Score": 0.5}
    assert not wire_processes()
    game.reset(seed=0)
    assert_alive(game)


REPLIES = {  # what a submission could write on the pipe: the evaluator gets plain data or SubmissionError
    "not-json": b"print('hi')\n",
    "unknown-tag": b'{"ok": {"__class__": "os.system"}}\n',
    "tag-with-extra-keys": b'{"ok": {"t": [1], "d": []}}\n',
    "unhashable-key": b'{"ok": {"d": [[[1], 2]]}}\n',
    "huge-int": b'{"ok": ' + b"9" * 5000 + b"}\n",
    "deep-nesting": b'{"ok": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
    "error-not-a-pair": b'{"error": "x"}\n',
    "neither": b'{"value": 1}\n',
    "truncated": b'{"ok": [1, 2',
}


@pytest.mark.parametrize("reply", REPLIES)
def test_the_evaluator_decodes_nothing_but_plain_data(reply):
    with pytest.raises(SubmissionError):
        wire._reply(REPLIES[reply])


def test_plain_data_crosses_the_pipe_as_itself():
    value = [(1, 0), {"a": (1.5, None), 3: [True, "x"]}, (), {(1, 2): {}}, float("inf")]
    line = wire._dumps({"ok": wire.encode(value)})
    assert wire._reply(line) == value and type(wire._reply(line)[0]) is tuple
    with pytest.raises(ValueError, match="raised in the submission's own process: ValueError: no move"):
        wire._reply(wire._dumps({"error": ["ValueError", "no\nmove"]}))


# --- class 5: artefact names in a shell command ---

SHELL_NAMES = {
    "semicolon": "x;echo '{\"Reward Mean\": 1e6}';exit 0;.yaml",
    "newline": "x\necho '{\"Reward Mean\": 1e6}'\nexit 0\n.yaml",
    "or-and": "x||echo '{\"Reward Mean\": 1e6}'&&exit 0||.yaml",
    "brace-expansion": "x;{echo,'{\"Reward Mean\": 1e6}'};exit 0;.yaml",
    "command-substitution": "x$(find . -name secret.txt -exec cat {} + >&2).yaml",
    "backticks": "x`find . -name secret.txt -exec cat {} + >&2`.yaml",
}


@pytest.mark.parametrize("name", SHELL_NAMES)
def test_an_artefact_name_is_never_shell_syntax(secret_model, name):
    path = shlex.quote(f"checkpoints/{SHELL_NAMES[name]}")
    run(secret_model, f"mkdir -p checkpoints && echo 3 > checkpoints/model.txt && echo 'scale: 5' > config.yaml && "
                      f"echo 'scale: 5' > {path}")
    assert "model.txt" in run(secret_model, "ls checkpoints")
    observation, info = submit(secret_model)
    assert info["score"] == {"Reward Mean": 15.0, "Reward Std": 0.0}, observation  # the file itself was read
    assert CANARY not in observation
    secret_model.reset(seed=0)
    assert_alive(secret_model)


# --- class 9: answers MLGym ships in data/ ---

ANSWER_GRABS = {
    "copy-answer-csv": "cp data/answer.csv submission.csv",
    "find-answer-csv": "cp \"$(find /home /tmp /root -name 'answer*' 2>/dev/null | head -1)\" submission.csv",
    "grep-for-the-label-header": "cp \"$(grep -rlx 'Id,SalePrice' /home /tmp 2>/dev/null | head -1)\" submission.csv",
}


@pytest.mark.parametrize("grab", ANSWER_GRABS)
def test_the_house_price_answers_never_reach_the_workspace(house, grab):
    run(house, ANSWER_GRABS[grab])
    _, info = submit(house)
    assert "score" not in info or info["score"]["r2"] <= 0.0, info  # the baseline's r2 is 0
    house.reset(seed=0)
    assert_alive(house)
    run(house, "python baseline.py")
    assert submit(house)[1]["score"] == {"rmse": 5000.0, "r2": 0.0}  # the evaluator still has them
    house.reset(seed=0)


def test_the_titanic_ground_truth_never_reaches_the_workspace(titanic):
    run(titanic, "cp data/ground_truth.csv submission.csv")
    _, info = submit(titanic)
    assert "score" not in info, info
    titanic.reset(seed=0)
    assert_alive(titanic)
