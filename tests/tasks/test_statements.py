"""Each statement phrase the expert relies on reads back what was written, in the middle of a statement."""

from synthml.tasks.statements import (
    Costs,
    cost_note,
    history_note,
    read_costs,
    read_history,
    read_submission_target,
    submission_columns,
)


def within(phrase: str) -> str:
    return f"TASK:\nPredict things.\n\n{phrase} and more words.\nSUBMISSION: see below."


def test_submission_target_reads_back():
    assert read_submission_target(within(submission_columns("house value"))) == "house value"
    assert read_submission_target("no format here") is None


def test_costs_read_back_for_any_label_and_costs():
    for positive, missed, false_alarm in [("yes", 5, 1), ("malignant", 7.5, 1), ("1", 20, 2)]:
        note = cost_note("diagnosis", positive, missed, false_alarm)
        assert read_costs(within(note)) == Costs(positive, float(missed), float(false_alarm))
    assert read_costs("Costs are not stated.") is None


def test_history_reads_back():
    assert read_history(within(history_note(1234))) == 1234
    assert read_history("series.csv holds some points") is None
