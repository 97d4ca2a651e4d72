"""SynthML-v0 end to end: real bubblewrap sandboxes, the sample tasks, ACI commands, rewards."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import synthml  # noqa: F401  (registers SynthML-v0)
from synthml.envs.env import SynthMLEnv, sample_bank
from synthml.envs.reward import RewardConfig, episode_reward
from synthml.errors import SynthMLError

USE_ALL_FEATURES = 'FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]'


def test_env_checker_passes_with_the_fake_sandbox():
    env = gym.make("SynthML-v0", sandbox="fake")
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_make_with_no_arguments_draws_a_sample_task(runtime):
    env = gym.make("synthml:SynthML-v0")
    observation, info = env.reset(seed=0)
    assert info["task_id"] in {"diabetes-progression", "breast-cancer-diagnosis"}
    assert set(info) >= {"task_id", "task_version", "metric", "direction", "baseline_score", "exit_status"}
    assert "score" not in info and info["direction"] in (1, -1) and "{dataset_docs}" not in observation
    assert env.reset(seed=0)[1]["task_id"] == info["task_id"]
    env.close()


def test_improving_the_baseline_earns_the_documented_reward(env):
    _, info = env.reset(seed=0)
    assert (info["metric"], info["direction"]) == ("rmse", -1)
    observation = env.step("open baseline.py")[0]
    line = next(n for n, text in enumerate(observation.splitlines()) if text.split(":", 1)[-1].startswith("FEATURES"))
    number = int(observation.splitlines()[line].split(":")[0])
    assert "File updated" in env.step(f"edit {number}:{number}\n{USE_ALL_FEATURES}\nend_of_edit")[0]
    assert "wrote" in env.step("python baseline.py")[0]
    observation, reward, terminated, truncated, info = env.step("validate")
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["score"]["rmse"] < info["baseline_validation_score"]
    observation, reward, terminated, truncated, info = env.step("submit")
    assert terminated and not truncated and info["exit_status"] == "submitted"
    baseline = info["baseline_score"]
    assert reward == pytest.approx(-(info["score"]["rmse"] - baseline) / abs(baseline)) and reward > 0


def test_baseline_reproduces_its_recorded_scores(env):
    _, info = env.reset(seed=0)
    env.step("python baseline.py")
    assert env.step("validate")[4]["score"]["rmse"] == pytest.approx(info["baseline_validation_score"])
    _, reward, _, _, info = env.step("submit")
    assert info["score"]["rmse"] == pytest.approx(info["baseline_score"]) and reward == pytest.approx(0, abs=1e-9)


def test_submit_without_a_submission_fails_cleanly(env):
    env.reset(seed=0)
    observation, reward, terminated, _, info = env.step("validate")
    assert "Submission artefact not found" in observation and not terminated
    _, reward, terminated, _, info = env.step("submit")
    assert terminated and info["exit_status"] == "submission_not_found (submit)" and reward == -1.0
    with pytest.raises(gym.error.ResetNeeded):
        env.step("ls")


def test_broken_submission_becomes_an_observation(env):
    env.reset(seed=0)
    env.step("echo 'id,progression' > submission.csv; echo 'id,progression' > validation_predictions.csv")
    observation, _, terminated, _, info = env.step("validate")
    assert "Evaluation failed" in observation and "prediction" in observation and not terminated
    assert "score" not in info
    _, reward, _, _, info = env.step("submit")
    assert info["exit_status"] == "evaluation_error (submit)" and reward == -1.0


def test_max_steps_truncates_and_autosubmits(runtime):
    env = SynthMLEnv(task=sample_bank() / "diabetes-progression", max_steps=2)
    env.reset(seed=0)
    assert env.step("python baseline.py")[3] is False
    observation, reward, terminated, truncated, info = env.step("ls")
    assert truncated and not terminated and info["exit_status"] == "autosubmission (max_steps)"
    assert "Exited (max_steps)" in observation and reward == pytest.approx(0, abs=1e-9)
    env.close()


def test_short_and_training_timeouts(runtime):
    env = SynthMLEnv(task=sample_bank() / "diabetes-progression", command_timeout=1)
    env.reset(seed=0)
    assert "TIMED OUT" in env.step("sleep 5")[0]
    assert "done" in env.step("python -c 'import time; time.sleep(1.5); print(\"done\")'")[0]
    assert "done" in env.step("bash -c \"python -c 'import time; time.sleep(1.5); print(1)' && echo done\"")[0]
    env.close()


def test_long_observations_are_cut_with_a_note(runtime):
    env = SynthMLEnv(task=sample_bank() / "diabetes-progression", max_observation_chars=1000)
    env.reset(seed=0)
    observation = env.step("seq 1 100000")[0]
    assert len(observation) < 1300 and "observation cut" in observation and observation.endswith("100000\n")
    env.close()


def test_aci_viewer_and_search_commands(env):
    env.reset(seed=0)
    step = lambda action: env.step(action)[0]  # noqa: E731
    assert step("open baseline.py").startswith("[File: /home/agent/workspace/baseline.py (")
    assert step("open nope.py") == "File nope.py not found"
    assert "Usage" in step("goto x")
    step("create notes.py")
    text = "\n".join(f"x{i} = {i}" for i in range(1, 251))
    assert "File updated" in step(f"insert 1\n{text}\nend_of_insert")
    assert "(151 more lines below)" in step("goto 50")  # create leaves one empty line, as SWE-agent
    assert "x149 = 149" in step("scroll_down")
    assert "x2 = 2" in step("scroll_up")
    rejected = step("edit 2:2\ndef broken(:\nend_of_edit")
    assert "syntax error" in rejected and "NOT been applied" in rejected
    assert "x2 = 2" in step("search_file x2")
    assert "Malformed" in step("edit 2:2\nno end marker")
    assert "./baseline.py (2 matches)" in step("search_dir LinearRegression")
    assert "./data/train.csv" in step("find_file train.csv")
    assert "No matches" in step("search_dir zzz-not-there")


def test_create_refuses_existing_files_and_reads_what_bash_wrote(env):
    env.reset(seed=0)
    assert "already exists" in env.step("create baseline.py")[0]
    env.step("mkdir d && cd d && printf 'a\\nb\\n' > f.txt")
    assert env.step("open f.txt")[0].startswith("[File: /home/agent/workspace/d/f.txt (2 lines total)]")


def test_render_ansi_shows_the_last_step(runtime):
    env = SynthMLEnv(task=sample_bank() / "diabetes-progression", render_mode="ansi")
    env.reset(seed=0)
    env.step("echo hello")
    assert env.render() == "$ echo hello\nhello\n"
    env.close()


@pytest.mark.parametrize(("score", "baseline", "sign", "kind", "expected"), [
    (0.9, 0.8, 1, "relative", 0.125), (50.0, 60.0, -1, "relative", 1 / 6), (0.9, 0.8, 1, "absolute", 0.1),
    (None, 0.8, 1, "relative", -1.0), (0.5, None, -1, "relative", -0.5), (0.5, 0.0, 1, "relative", 0.5),
    (3.0, 1.0, 1, "relative", 2.0), (0.0, 1.0, 1, "absolute", -1.0),  # clipped to the default bounds
])
def test_reward_formula(score, baseline, sign, kind, expected):
    assert episode_reward(score, baseline, sign, RewardConfig(kind=kind)) == pytest.approx(expected)


@pytest.mark.parametrize(("score", "baseline", "reference", "sign", "expected"), [
    (0.85, 0.8, 0.9, 1, 0.5), (0.9, 0.8, 0.9, 1, 1.0), (40.0, 60.0, 50.0, -1, 2.0), (0.7, 0.8, 0.9, 1, -1.0),
    (0.85, 0.8, None, 1, 0.0625),  # no measured gap: relative
    (0.85, 0.8, 0.8, 1, 0.0625),  # a zero gap: relative
])
def test_normalized_reward_is_the_share_of_the_measured_gap_clipped(score, baseline, reference, sign, expected):
    assert episode_reward(score, baseline, sign, RewardConfig(), reference) == pytest.approx(expected)


def test_reward_bounds_can_be_lifted_and_must_be_ordered():
    assert episode_reward(0.05, 0.01, 1, RewardConfig(kind="relative", bounds=None)) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="low < high"):
        RewardConfig(bounds=(2, -1))


def test_aci_reports_files_that_vanished_or_are_read_only(env):
    env.reset(seed=0)
    env.step("open evaluate.py")
    assert env.step("insert 0\n# mine\nend_of_insert")[0].startswith("Error:")
    env.step("create gone.txt")
    env.step("rm gone.txt")
    assert env.step("goto 1")[0].startswith("Error:")
    assert env.step("echo alive")[0] == "alive\n"


def test_actions_no_shell_can_hold_are_observations(env):
    env.reset(seed=0)
    assert "NUL byte" in env.step("echo a\0b")[0]
    assert "not valid Unicode" in env.step("echo \udcff")[0]
    assert "NUL byte" in env.step("open a\0b")[0]
    assert env.step("echo alive")[0] == "alive\n"


def test_edit_keeps_leading_blank_lines_and_refuses_huge_files(env):
    env.reset(seed=0)
    env.step("create notes.py")
    env.step("edit 1:1\n\n\nx = 1\nend_of_edit")
    assert env.step("cat notes.py")[0] == "\n\nx = 1\n"
    env.step("python -c \"open('big.py', 'w').write('x = 1\\n' * 200_000)\"")
    assert "is over" in env.step("open big.py")[0]
    assert env.step("wc -l < big.py")[0] == "200000\n"


def test_a_failed_evaluation_leaves_no_stale_score(env):
    env.reset(seed=0)
    env.step("python baseline.py")
    assert "score" in env.step("validate")[4]
    env.step("rm submission.csv")
    _, reward, _, _, info = env.step("submit")
    assert info["exit_status"] == "submission_not_found (submit)" and "score" not in info and reward == -1.0


@pytest.mark.parametrize("action", [123, None, b"ls"])
def test_an_action_that_is_not_a_str_is_a_clear_error(env, action):
    env.reset(seed=0)
    with pytest.raises(TypeError, match=rf"is a {type(action).__name__}; an action is a str command"):
        env.step(action)
    assert env.step("echo alive")[0] == "alive\n"  # the episode goes on, the bad call took no step


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_steps": 0}, r"max_steps=0: give a whole number of steps >= 1"),
    ({"command_timeout": -5}, r"command_timeout=-5: give the seconds a command may run, a number > 0"),
    ({"sandbox": "bwarp"}, r"sandbox='bwarp' is not a backend; choose one of bwrap, docker"),
    ({"sandbox": {"type": "dokker"}}, r"sandbox config .*dokker"),
    ({"reward": {"kind": "normalised"}}, r"reward=.*kind: Input should be 'normalized', 'relative' or 'absolute'"),
])
def test_bad_constructor_arguments_are_refused_at_make(kwargs, message):
    with pytest.raises((ValueError, SynthMLError), match=message):
        gym.make("SynthML-v0", **kwargs)
