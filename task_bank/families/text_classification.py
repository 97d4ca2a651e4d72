"""Text classification: label documents, with all classes, the three commonest, or one class against
the rest, optionally from fewer training documents."""

import random
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import render

LABEL_SETS = ("all", "top_3", "one_vs_rest")
OTHER = "other"

BASELINE = '''"""Baseline: $doc. Writes validation_predictions.csv and submission.csv."""
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline

TARGET, TEXT = $target, $text

train = pd.read_csv("data/train.csv")
model = make_pipeline(CountVectorizer(max_features=200), MultinomialNB()).fit(train[TEXT].fillna(""), train[TARGET])
for split, out in (("validation", "validation_predictions.csv"), ("test", "submission.csv")):
    rows = pd.read_csv(f"data/{split}.csv")
    pd.DataFrame({"id": rows["id"], TARGET: model.predict(rows[TEXT].fillna(""))}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''

REFERENCE = '''"""Reference solution: $doc."""
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

TARGET, TEXT = $target, $text


def fit(rows):
    words = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2, max_features=100_000)
    classifier = LinearSVC(C=1.0, class_weight=$class_weight)
    return make_pipeline(words, classifier).fit(rows[TEXT].fillna(""), rows[TARGET])


train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
for model, rows, out in ((fit(train), validation, "validation_predictions.csv"),
                         (fit(pd.concat([train, validation])), test, "submission.csv")):
    pd.DataFrame({"id": rows["id"], TARGET: model.predict(rows[TEXT].fillna(""))}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    knobs = {"metric": common.pick(rng, common.CLASSIFICATION_METRICS),
             "train_fraction": common.train_fraction(rng, entry),
             "label_set": common.pick(rng, LABEL_SETS)}
    if knobs["label_set"] == "one_vs_rest":
        knobs["positive_rank"] = rng.randrange(3)
    return knobs


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    target, text = entry.target, _text_column(entry)
    frame = common.clean_table(entry, table, seed, classification=True)
    frame, notes, docs = _relabel(entry, frame, knobs)
    train, validation, test = common.split_table(frame, target, seed, classification=True,
                                                 train_fraction=knobs["train_fraction"])
    baseline_doc = "multinomial naive Bayes on counts of the 200 most frequent words"
    balanced = knobs["metric"] != "accuracy"
    reference_doc = ("tf-idf of words and word pairs with a linear support vector machine"
                     f"{' (balanced class weights)' if balanced else ''}, refit on train + validation")
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: classify documents by {target}", target=target,
        intro=f"Classify each document (column `{text}`) of the {entry.title} corpus by `{target}` "
              f"({common.classes_text(frame[target])}).",
        kind="classification", metrics=common.metrics(knobs["metric"], common.CLASSIFICATION_METRICS),
        train=train, validation=validation, test=test,
        notes=tuple(n for n in (*notes, common.train_fraction_note(knobs["train_fraction"])) if n),
        column_docs=docs, training_timeout=900,
        baseline_code=render(BASELINE, {"doc": baseline_doc}, target=target, text=text),
        baseline_summary=baseline_doc,
        reference_code=render(REFERENCE, {"doc": reference_doc}, target=target, text=text,
                              class_weight="balanced" if balanced else None),
        reference_summary=reference_doc,
        family=FAMILY.name, topic=_topic(knobs), knobs=knobs, dataset=entry)


def _relabel(entry: DatasetEntry, frame: pd.DataFrame, knobs: dict[str, Any]):
    """(frame, notes, column docs) for the knob's label set."""
    target = entry.target
    counts = frame[target].astype(str).value_counts()
    ranked = sorted(counts.index, key=lambda label: (-counts[label], label))
    if knobs["label_set"] == "top_3":
        common.require(len(ranked) > 3, entry, "top_3 needs more than three classes")
        kept = frame[frame[target].astype(str).isin(ranked[:3])].reset_index(drop=True)
        return kept, [f"Only the three commonest classes are kept ({', '.join(ranked[:3])})."], {}
    if knobs["label_set"] == "one_vs_rest":
        common.require(len(ranked) > 2 and OTHER not in ranked, entry, "one_vs_rest needs three or more classes")
        positive = ranked[knobs["positive_rank"]]
        labels = frame[target].astype(str).where(frame[target].astype(str) == positive, OTHER)
        note = f"One class against the rest: `{target}` is `{positive}` or `{OTHER}` (any other class)."
        return frame.assign(**{target: labels}), [note], {target: f"`{positive}` or `{OTHER}`"}
    return frame, [], {}


def _text_column(entry: DatasetEntry) -> str:
    return common.feature_names(entry)[0]


def _topic(knobs: dict[str, Any]) -> str:
    if knobs["label_set"] == "one_vs_rest":
        return "Detecting one topic among many in news text (an imbalanced binary text task)."
    if knobs["train_fraction"] < 1:
        return "Text classification from few labelled documents."
    return f"Feature extraction and linear models for document classification, judged by {knobs['metric']}."


def _accepts(entry: DatasetEntry) -> bool:
    return len(common.feature_names(entry)) == 1 and entry.rows >= 200


FAMILY = Family("text_classification", ("text",), sample_knobs, build, _accepts)
