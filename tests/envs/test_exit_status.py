"""MLGym's exit status strings, read as a kind and a reason."""

import json

import pytest

from synthml.envs.exit_status import INFRA_STATUS, ExitStatus


@pytest.mark.parametrize(("text", "kind", "reason", "scored"), [
    ("submitted", "submitted", None, True),
    ("autosubmission (max_steps)", "autosubmission", "max_steps", True),
    ("submission_not_found (submit)", "submission_not_found", "submit", False),
    ("evaluation_error (cost_limit)", "evaluation_error", "cost_limit", False),
    ("infra_error", "infra_error", None, False),
])
def test_a_status_reads_as_its_kind_and_reason_and_stays_mlgyms_text(text, kind, reason, scored):
    status = ExitStatus(text)
    assert (status.kind, status.reason, status.scored) == (kind, reason, scored)
    assert status == text and json.dumps({"exit_status": status}) == json.dumps({"exit_status": text})
    assert ExitStatus.of(kind, reason) == text


def test_a_submission_a_limit_forced_says_which_limit():
    assert ExitStatus("submitted").forced_by("cost_limit") == "autosubmission (cost_limit)"
    assert ExitStatus("submission_not_found (submit)").forced_by("step_limit") == "submission_not_found (step_limit)"
    assert ExitStatus("autosubmission (max_steps)").forced_by("step_limit") == "autosubmission (max_steps)"
    assert INFRA_STATUS.kind == "infra_error" and not INFRA_STATUS.scored


def test_text_that_is_no_status_is_refused_or_read_as_none():
    with pytest.raises(ValueError, match="expected one of submitted, autosubmission"):
        ExitStatus("submited")
    assert ExitStatus.parse("stopped") is None and ExitStatus.parse(None) is None
