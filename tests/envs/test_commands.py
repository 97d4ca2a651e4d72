"""Which shell actions run a training program (and so get the task's training timeout)."""

import pytest

from synthml.envs.commands import program_words, runs_training, simple_commands

TRAINING = [
    "python train.py", "python3 -m pip list", "python3.11 train.py", ".venv/bin/python train.py",
    "/usr/bin/python3 -c 'print(1)'", "torchrun --nproc_per_node 2 train.py", "accelerate launch train.py",
    "deepspeed train.py", "CUDA_VISIBLE_DEVICES=0 python train.py", "cd src && python train.py",
    "ls; python train.py", "cat data.csv | python -", "python train.py > log 2>&1 &", "(cd src; python train.py)",
    "x=$(python train.py)", "echo `python train.py`", "time python train.py", "nohup python train.py &",
    "env -u HOME A=1 python train.py", "nice -n 5 python train.py", "timeout -s KILL 60 python train.py",
    "stdbuf -oL python train.py", "exec python train.py", "time nohup env A=1 nice -10 timeout 5 python t.py",
    "if python check.py; then echo ok; fi", "for i in 1 2; do python t.py; done", "{ python t.py; }",
    "! python t.py", "python - <<'EOF'\nprint(1)\nEOF", "python \\\n  train.py", "'python' train.py",
    "py\\thon train.py", "> log python train.py", "bash -c 'python train.py'", "sh -ec \"python train.py\"",
    "bash -o pipefail -c 'python t.py | tee log'", "eval python train.py", "diff <(python a.py) b.txt",
]
NOT_TRAINING = [
    "", "ls", "echo python", "echo python; sleep 3000", "# python train.py", "sleep 1 # python",
    "cat python.txt", "grep python notes.txt", "echo 'python'", "echo 'a ; python b'", 'echo "; python "',
    "cat > t.sh <<'EOF'\npython train.py\nEOF\nsleep 1", "cat <<-EOF\n\tpython\n\tEOF\nls",
    "for python in a b; do sleep 1; done", "python=1; echo $python", "touch python && ls python",
    "which python", "command -v python", "a=(python train.py)", "echo hi > python", "echo hi 2>python",
    "bash -c 'echo python'", "bash train.sh", "pythonic run", "python-config --libs", "echo 'unclosed python",
    "echo $'it\\'s python '", "echo a#b python",
]


@pytest.mark.parametrize("action", TRAINING)
def test_training_programs_are_recognised(action):
    assert runs_training(action)


@pytest.mark.parametrize("action", NOT_TRAINING)
def test_mentions_of_a_training_program_are_not(action):
    assert not runs_training(action)


def test_simple_commands_split_at_operators_outside_quotes():
    assert simple_commands("a 'b;c' && d \"e|f\" | g; h & i\nj") == [
        ["a", "b;c"], ["d", "e|f"], ["g"], ["h"], ["i"], ["j"]]
    assert simple_commands("cat <<A <<-B > out\nbody\nA\n\tbody\n\tB\nls 2>&1") == [["cat"], ["ls"]]
    assert simple_commands("echo 'open") is None


def test_program_words_skip_assignments_and_wrappers():
    assert program_words(["A=1", "time", "env", "-i", "B=2", "timeout", "-k", "5", "60", "python", "x"]) == [
        "python", "x"]
    assert program_words(["A=1"]) == [] and program_words(["command", "-v", "python"]) == []


def test_nested_shells_are_read_only_a_few_levels_deep():
    assert runs_training("bash -c \"sh -c 'python t.py'\"")
    assert not runs_training("eval " * 10 + "python t.py")


def test_actions_the_sandbox_would_refuse_are_not_parsed():
    assert not runs_training("python t.py # " + "x" * 200_000)
