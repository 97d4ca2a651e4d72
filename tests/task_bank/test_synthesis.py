"""The LLM task-synthesis pipeline: ScriptedLLM replies (the one part these tests are not about) through
the real sandbox, validator and bank; one run against the real local model server."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthml.agents.llm import OpenAIChat, OpenAIChatConfig, Reply, ScriptedLLM
from synthml.cli import app
from synthml.envs.workspace import pristine_workspace
from synthml.errors import LLMRequestRejected
from synthml.task_bank.families.scripts import reference_script
from synthml.task_bank.synthesis.calls import CALLS, CallLog, Recorder
from synthml.task_bank.synthesis.pipeline import SynthesisConfig, synthesize
from synthml.task_bank.synthesis.replies import parse_reply
from synthml.task_bank.synthesis.spec import Proposal, TaskSpec
from synthml.task_bank.synthesis.topics import diversity, sample_topics
from synthml.tasks.bank import TaskBank, export_bank
from synthml.tasks.task import load_task
from synthml.usage import Usage
from tests import synthesis_replies as replies
from tests.llm_local import llm_local

ROOT = Path(__file__).resolve().parents[2]
ONE_AT_A_TIME = SynthesisConfig(in_flight=1, workers=1, structured="json_schema")
BROKEN_PREPARE = replies.PREPARE.replace('frame.to_csv(f"data/{name}.csv", index=False)', "frame.to_csvv(name)")


def run(tmp_path, answers, n=1, config=ONE_AT_A_TIME, name="bank"):
    llm = ScriptedLLM(answers)
    return synthesize(tmp_path / name, n, llm, config=config), llm


def only(summary):
    entries = summary.accepted + summary.rejected
    assert len(entries) == 1, entries
    return entries[0]


def test_a_sound_task_is_accepted_in_round_one_with_its_provenance(tmp_path):
    summary, llm = run(tmp_path, [replies.topics_reply(), replies.proposal_reply(), replies.task_reply()])
    entry = only(summary)
    assert entry.status == "accepted", entry.report.rejections
    assert (entry.rounds, entry.generator, entry.dataset) == (1, "llm", replies.DATASET)
    task = load_task(tmp_path / "bank" / entry.task_id)
    provenance = task.config.provenance
    assert (provenance.generator, provenance.model, provenance.topic) == ("llm", "scripted", replies.TOPIC)
    assert "risk" not in (task.root / "data/test.csv").read_text().splitlines()[0]
    assert "deny" not in (task.root / "data/train.csv").read_text().splitlines()[0]  # the real target is dropped
    assert (task.root / "hidden/test_labels.csv").read_text().startswith("id,risk")
    calls = [json.loads(line) for line in (task.root / "provenance/llm_calls.jsonl").read_text().splitlines()]
    assert [c["purpose"] for c in calls] == ["proposal", "task"]
    assert all(c["messages"] and c["reply"] and c["usage"]["prompt_tokens"] > 0 and c["round"] == 0 for c in calls)
    assert entry.usage.calls == 2 and summary.spent.calls == 3  # the topics call belongs to no task
    assert all(f["type"] == "json_schema" and f["json_schema"]["schema"] for f in llm.response_formats)
    assert TaskBank(tmp_path / "bank").problems() == []
    workspace = {p.relative_to(pristine_workspace(task)).parts[0] for p in pristine_workspace(task).rglob("*")}
    assert workspace == {"data", "baseline.py", "evaluate.py", "sample_submission.csv"}  # no code or calls of the LLM's
    export_bank(TaskBank(tmp_path / "bank"), tmp_path / "bank.parquet")
    exported = [f["path"] for f in pd.read_parquet(tmp_path / "bank.parquet")["files"][0]]
    assert "provenance/llm_calls.jsonl" in exported and "reference/solution.py" in exported


def test_failing_code_is_repaired_from_the_validator_feedback(tmp_path):
    answers = [replies.topics_reply(), replies.proposal_reply(), replies.task_reply(prepare_py=BROKEN_PREPARE),
               replies.repair_reply(prepare_py=replies.PREPARE)]
    summary, llm = run(tmp_path, answers)
    entry = only(summary)
    assert entry.status == "accepted" and entry.rounds == 2, entry.report.rejections
    feedback = llm.calls[-1][-1]["content"]
    assert "round 1 of 5 failed: prepare_failed" in feedback and "to_csvv" in feedback  # the traceback's tail
    assert summary.rounds() == {2: 1}


def test_a_repair_may_change_fields_as_well_as_files(tmp_path):
    reference = reference_script("risk", "classification", "balanced_accuracy")[0]  # deciding for the new metric
    answers = [replies.topics_reply(), replies.proposal_reply(), replies.task_reply(prepare_py=BROKEN_PREPARE),
               json.dumps({"metrics": [{"name": "balanced_accuracy", "direction": "max"}],
                           "files": {"prepare.py": replies.PREPARE, "evaluate.py": "", "reference.py": reference}})]
    summary, _ = run(tmp_path, answers)
    entry = only(summary)
    assert entry.status == "accepted" and entry.report.metric == "balanced_accuracy"  # the standard evaluator's


def test_code_never_repaired_is_rejected_after_the_last_round(tmp_path):
    broken = replies.BASELINE.replace("model.predict", "model.predictt")
    answers = [replies.topics_reply(), replies.proposal_reply(), replies.task_reply(baseline_py=broken),
               replies.repair_reply(baseline_py=broken), replies.repair_reply(baseline_py=broken)]
    summary, llm = run(tmp_path, answers, config=SynthesisConfig(in_flight=1, workers=1, max_rounds=3))
    entry = only(summary)
    assert (entry.status, entry.rounds) == ("rejected", 3)
    assert entry.report.rejections[0].reason == "baseline_failed" and "predictt" in entry.report.rejections[0].detail
    assert len(llm.calls) == 5 and summary.reasons() == {"baseline_failed": 1}
    assert not (tmp_path / "bank" / entry.task_id).exists()


def test_an_unverifiable_dataset_is_rejected_with_the_reason(tmp_path):
    answers = [replies.topics_reply(), replies.proposal_reply("nobody/no-such-data"),
               replies.proposal_reply("nobody/still-nothing")]
    summary, llm = run(tmp_path, answers)
    entry = only(summary)
    assert entry.report.rejections[0].reason == "dataset_unverified"
    assert "could not be verified" in entry.report.rejections[0].detail and "HF_HUB_OFFLINE" in \
        entry.report.rejections[0].detail
    assert "nobody/no-such-data" in llm.calls[-1][-1]["content"]  # the second proposal saw why the first failed
    assert entry.rounds is None and len(llm.calls) == 3


def test_malformed_json_is_asked_again(tmp_path):
    answers = [replies.topics_reply(), "Sure! {'dataset_id': sklearn", replies.proposal_reply(), replies.task_reply()]
    summary, llm = run(tmp_path, answers)
    assert only(summary).status == "accepted"
    assert "could not be used" in llm.calls[2][-1]["content"] and llm.calls[2][-2]["content"].startswith("Sure!")


def test_replies_that_never_parse_reject_the_task(tmp_path):
    summary, _ = run(tmp_path, [replies.topics_reply(), replies.proposal_reply(), "no", "still no", "never"])
    entry = only(summary)
    rejection = entry.report.rejections[0]
    assert rejection.reason == "llm_failed" and "3 replies in a row" in rejection.detail


def test_the_same_seed_and_replies_give_the_same_bank(tmp_path):
    answers = [replies.topics_reply(), replies.proposal_reply(), replies.task_reply()]
    first, _ = run(tmp_path, answers, name="one")
    second, _ = run(tmp_path, answers, name="two")
    assert [e.version for e in first.accepted] == [e.version for e in second.accepted] != []
    task_id = first.accepted[0].task_id
    assert (tmp_path / "one" / task_id / "provenance/llm_calls.jsonl").read_bytes() == \
        (tmp_path / "two" / task_id / "provenance/llm_calls.jsonl").read_bytes()


def test_the_cost_cap_stops_cleanly_and_a_rerun_replays_what_was_paid_for(tmp_path):
    def priced(text):
        return Reply(text=text, usage=Usage(prompt_tokens=10, completion_tokens=10, cost=1.0, calls=1))

    answers = [priced(replies.topics_reply(2)), priced(replies.proposal_reply()), priced(replies.task_reply())]
    capped = SynthesisConfig(in_flight=1, workers=1, max_cost=2.5)
    stopped, _ = run(tmp_path, answers, n=2, config=capped)
    assert "--max-cost 2.5" in stopped.stopped and len(stopped.accepted) == 1 and stopped.unfinished == 1
    assert stopped.spent.cost == 3.0  # a call started under the cap finishes

    rest = [priced(replies.proposal_reply()), priced(replies.task_reply())]
    resumed, llm = run(tmp_path, rest, n=2, config=SynthesisConfig(in_flight=1, workers=1, max_cost=10))
    assert resumed.skipped == 1 and resumed.stopped is None and len(llm.calls) == 2
    assert len(resumed.accepted) + len(resumed.rejected) == 1 and resumed.spent.cost == 2.0
    assert len(TaskBank(tmp_path / "bank").entries()) == 2


def start_child(bank, n):
    """synthesize() in a child process, with answers for n tasks; returns once the first task is being
    validated (its three calls are in the log, nothing in the manifest)."""
    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
              "from tests import synthesis_replies as r\n"
              "from synthml.agents.llm import ScriptedLLM\n"
              "from synthml.task_bank.synthesis.pipeline import SynthesisConfig, synthesize\n"
              f"answers = [r.topics_reply({n})] + [r.proposal_reply(), r.task_reply()] * {n}\n"
              f"summary = synthesize({str(bank)!r}, {n}, ScriptedLLM(answers), "
              "config=SynthesisConfig(in_flight=1, workers=1))\n"
              "print(summary.stopped, len(summary.accepted), summary.unfinished)\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    log, deadline = bank / CALLS, time.monotonic() + 120
    while not (log.is_file() and log.read_text().count("\n") >= 3) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.is_file() and log.read_text().count("\n") >= 3, "the first task's calls were not logged in 120 s"
    return child


DEEP_BASELINE = """\
import os
os.makedirs("submission.csv")
os.chdir("submission.csv")
for _ in range(30):  # 6 KB of path: past PATH_MAX on the host
    os.mkdir("d" * 200)
    os.chdir("d" * 200)
"""


def test_a_baseline_leaving_files_past_the_copy_limits_rejects_its_task_and_the_run_goes_on(tmp_path):
    answers = [replies.topics_reply(2), replies.proposal_reply(), replies.task_reply(baseline_py=DEEP_BASELINE),
               replies.proposal_reply(), replies.task_reply()]
    config = SynthesisConfig(in_flight=1, workers=1, structured="json_schema", max_rounds=1)
    summary, _ = run(tmp_path, answers, n=2, config=config)
    assert summary.stopped is None and summary.unfinished == 0
    [rejected] = summary.rejected
    assert rejected.report.rejections[0].reason == "evaluation_failed"
    assert "over the 2048-byte limit" in rejected.report.rejections[0].detail
    assert len(summary.accepted) == 1
    again, llm = run(tmp_path, [], n=2, config=config)  # a restart passes it by: it is in the manifest
    assert again.stopped is None and again.skipped == 2 and llm.calls == []


def test_prepare_leaving_a_sparse_giant_is_told_the_limit_and_repaired(tmp_path):
    sparse = replies.PREPARE + 'open("data/train.csv", "r+b").truncate(3 << 30)\n'
    answers = [replies.topics_reply(), replies.proposal_reply(), replies.task_reply(prepare_py=sparse),
               replies.repair_reply(prepare_py=replies.PREPARE)]
    summary, llm = run(tmp_path, answers)
    entry = only(summary)
    assert entry.status == "accepted" and entry.rounds == 2, entry.report.rejections
    feedback = " ".join(llm.calls[-1][-1]["content"].split())
    assert "prepare_failed" in feedback and "data/train.csv is 3 GiB apparent size, over the 1 GiB limit" in feedback


def test_a_killed_run_resumes_without_asking_again(tmp_path):
    child = start_child(tmp_path / "bank", 2)
    child.kill()
    child.wait()
    assert TaskBank(tmp_path / "bank").entries() == []

    summary, llm = run(tmp_path, [replies.proposal_reply(), replies.task_reply()], n=2)
    assert summary.replayed == 2 and len(llm.calls) == 2  # the first task's answers came from the log
    assert len(summary.accepted) + len(summary.rejected) == 2 and len(TaskBank(tmp_path / "bank").entries()) == 2


def test_ctrl_c_finishes_the_current_step_and_starts_nothing_new(tmp_path):
    child = start_child(tmp_path / "bank", 3)
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0 and out.split() == ["interrupted", "(Ctrl-C)", "1", "2"], out
    [entry] = TaskBank(tmp_path / "bank").entries()  # the task under validation was judged and recorded
    assert entry.status == "accepted"


def test_a_dead_endpoint_stops_the_run_and_records_nothing(tmp_path):
    llm = OpenAIChat(OpenAIChatConfig(model="m", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout_s=2))
    summary = synthesize(tmp_path / "bank", 2, llm, config=SynthesisConfig(structured="off"))
    assert "unreachable" in summary.stopped and summary.accepted == summary.rejected == []
    assert TaskBank(tmp_path / "bank").entries() == []


class ByStep:
    """Answers by the pipeline step the prompt asks for, whatever order threads ask in."""

    name = "by-step"

    def complete(self, messages, tools=None, *, response_format=None):
        prompt = messages[-1]["content"]
        text = (replies.topics_reply(3) if prompt.startswith("List") else
                replies.proposal_reply() if "Propose one dataset" in prompt else replies.task_reply())
        return Reply(text=text, usage=Usage(prompt_tokens=1, completion_tokens=1, calls=1))


class RefusesTasks(ByStep):
    """An endpoint that refuses the task prompt as too long (HTTP 400)."""

    def complete(self, messages, tools=None, *, response_format=None):
        if messages[-1]["content"].startswith("Write an ML research task"):
            raise LLMRequestRejected("HTTP 400: this model's maximum context length is 8192 tokens")
        return super().complete(messages, tools, response_format=response_format)


def test_a_prompt_the_endpoint_refuses_rejects_that_task_only(tmp_path):
    summary = synthesize(tmp_path / "bank", 2, RefusesTasks(), config=ONE_AT_A_TIME)
    assert summary.stopped is None and summary.reasons() == {"llm_failed": 2}
    assert "maximum context length" in summary.rejected[0].report.rejections[0].detail


def test_many_tasks_in_flight_share_the_validation_workers(tmp_path):
    summary = synthesize(tmp_path / "bank", 3, ByStep(), config=SynthesisConfig(in_flight=3, workers=2))
    entries = summary.accepted + summary.rejected
    assert len({e.task_id for e in entries}) == 3 and summary.stopped is None
    assert len(summary.accepted) == 1  # one task, three topics: the others are near-duplicates of the first
    assert [e.report.rejections[0].reason for e in summary.rejected] == ["duplicate", "duplicate"]
    assert (tmp_path / "bank" / CALLS).read_text().count("\n") == 7


def test_replies_are_parsed_from_prose_fences_and_named_code_blocks():
    text = ('Here is the task.\n```json\n{"name": "n", "statement": "s", "target": "t", "kind": "regression", '
            '"metrics": [{"name": "rmse", "direction": "min"}]}\n```\n**prepare.py**\n```python\nd = {"a": 1}\n```\n'
            "```python baseline.py\nprint(1)\n```\n```python\n# reference.py\nprint(2)\n```")
    spec = parse_reply(text, TaskSpec, TaskSpec.missing)
    assert spec.metrics[0].name == "rmse" and spec.files["prepare.py"] == 'd = {"a": 1}\n'
    assert spec.files["baseline.py"] == "print(1)\n" and spec.files["reference.py"].endswith("print(2)\n")
    with pytest.raises(ValueError, match="missing or empty: files.prepare.py"):
        parse_reply('{"name": "n", "statement": "s", "target": "t", "kind": "regression", "metrics": '
                    '[{"name": "rmse", "direction": "min"}], "files": {}}', TaskSpec, TaskSpec.missing)
    with pytest.raises(ValueError, match="field 'kind'"):
        parse_reply('{"kind": "clustering"}', TaskSpec)
    code_first = '```python prepare.py\nCOLUMNS = {"x": 1}\n```\n```json\n{"dataset_id": "sklearn/wine"}\n```'
    assert parse_reply(code_first, Proposal).dataset_id == "sklearn/wine"  # never a dict from inside the code


def test_the_call_log_survives_a_line_torn_by_a_kill(tmp_path):
    log = CallLog(tmp_path)
    recorder = Recorder(ScriptedLLM(["a", "b"]), log)
    recorder.complete([{"role": "user", "content": "1"}], task_id="t", purpose="p")
    with log.path.open("ab") as f:
        f.write('{"task_id": "t", "purpose": "p", "reply": "\u00e9'.encode()[:-1])  # cut inside a character
    again = Recorder(ScriptedLLM(["b"]), CallLog(tmp_path))
    again.complete([{"role": "user", "content": "2"}], task_id="t", purpose="p")
    reread = CallLog(tmp_path)
    assert [reread.get(r.key).reply for r in again.used("t")] == ["b"] and again.replayed == 0
    assert reread.get(recorder.used("t")[0].key).reply == "a"


def test_topics_drop_placeholders_and_duplicates_fill_from_the_taxonomy_and_stay_put(tmp_path):
    junk = json.dumps({"topics": [{"area": "text classification", "topic": "<one sentence>"},
                                  {"area": "tabular regression", "topic": "Which target transform helps most?"},
                                  {"area": "tabular regression", "topic": "Which target transform helps most ?"}]})
    llm = ScriptedLLM([junk, junk, junk])
    recorder = Recorder(llm, CallLog(tmp_path))
    topics = sample_topics(tmp_path, 6, 0, recorder, "json_schema")
    assert len(topics) == 6 and [t.source for t in topics].count("llm") == 1 and len(llm.calls) == 3
    assert len({t.topic for t in topics}) == 6 and diversity(topics).areas >= 5
    again = Recorder(ScriptedLLM([]), CallLog(tmp_path))
    assert sample_topics(tmp_path, 6, 0, again, "json_schema") == topics  # kept: no call, same order


@pytest.mark.parametrize(("flags", "message"), [
    (["--llm"], "--llm needs --model"),
    (["--model", "m"], "add --llm"),
    (["--llm", "--model", "m", "--structured", "xml"], "--structured xml: choose one of auto, json_schema"),
    (["--llm", "--model", "m", "--families", "text_classification"], "--families picks procedural families"),
    (["--llm", "--model", "m", "--max-cost", "5"], "--max-cost needs the model's prices"),
])
def test_bad_llm_flags_say_the_fix(tmp_path, flags, message):
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "bank"), *flags])
    assert result.exit_code == 1 and message in result.output, result.output


@llm_local
@pytest.mark.slow
@pytest.mark.timeout(900)  # a 135M model on one thread writing code: minutes
def test_generate_llm_runs_against_the_real_local_server(tmp_path):
    """The command a user types, against the real server: every task accepted or rejected with a reason."""
    from synthml.agents.serve import local_server

    with local_server(port=0) as server:
        result = CliRunner().invoke(app, [
            "generate", "--llm", "--base-url", server.base_url, "--model", server.model, "--n", "2",
            "--max-rounds", "2", "--max-tokens", "600", "--in-flight", "1", "--workers", "1", "--timeout", "300",
            "--out", str(tmp_path / "bank")])
    assert result.exit_code == 0, result.output
    assert "of 2 accepted" in result.output and "this run:" in result.output
    entries = TaskBank(tmp_path / "bank").entries()
    assert len(entries) == 2
    for entry in entries:
        assert entry.status == "accepted" or entry.report.rejections[0].detail
        assert entry.usage.calls >= 1 and entry.usage.completion_tokens > 0
    calls = [json.loads(line) for line in (tmp_path / "bank" / CALLS).read_text().splitlines()]
    assert calls and all(c["response_format"]["type"] == "json_object" for c in calls)  # llama.cpp's form, probed
