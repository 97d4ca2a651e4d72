"""Text classification: label documents, with all classes, the three commonest, or one class against
the rest, optionally from fewer training documents.

Ladder: the commonest label; naive Bayes on word counts; tf-idf + a linear SVM with their defaults; the
reference, which adds word pairs (and character n-grams for short texts) and tunes C and class weights on
validation. On long news articles the default already scores about 97-99%, and the reference is rarely
reliably above it; on short texts (tweets) it is."""

import random
from typing import Any

import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common, disguise
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import docstring, ladder, render, score_code, trivial_script

LABEL_SETS = ("all", "top_3", "one_vs_rest")
OTHER = "other"

_SIMPLE = '''$docstring
import pandas as pd
$imports
from sklearn.pipeline import make_pipeline

TARGET, TEXT = $target, $text

train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
for known, rows, out in ((train, validation, "validation_predictions.csv"),
                         (pd.concat([train, validation]), test, "submission.csv")):
    model = make_pipeline($model).fit(known[TEXT].fillna(""), known[TARGET])
    pd.DataFrame({"id": rows["id"], TARGET: model.predict(rows[TEXT].fillna(""))}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''
BASELINE = ("Baseline: multinomial naive Bayes on word counts over the full vocabulary, fit on train for validation "
            "and on train + validation for test", "from sklearn.feature_extraction.text import CountVectorizer\n"
            "from sklearn.naive_bayes import MultinomialNB", "CountVectorizer(), MultinomialNB()")
DEFAULT = ("Default solution: tf-idf of words with a linear support vector machine, both with scikit-learn's "
           "defaults, fit on train for validation and on train + validation for test",
           "from sklearn.feature_extraction.text import TfidfVectorizer\nfrom sklearn.svm import LinearSVC",
           "TfidfVectorizer(), LinearSVC()")

REFERENCE = '''$docstring
import numpy as np
import pandas as pd
$metrics_import
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_union
from sklearn.svm import LinearSVC

TARGET, TEXT = $target, $text
GRID = [(c, weight) for weight in (None, "balanced") for c in (0.1, 0.3, 1.0, 3.0)]
"""(C, class weights) of the support vector machines tried on validation."""


$score

def features():
    """Tf-idf (sublinear counts) of words and word pairs; for short texts, where words are few, also of
    character 2- to 5-grams within words (spelling, punctuation, emoji)."""
    words = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    if not SHORT:
        return words
    return make_union(words, TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(2, 5), min_df=2))


def texts(rows):
    return rows[TEXT].fillna("").to_numpy()


train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
SHORT = train[TEXT].fillna("").str.len().median() < 500
words = features().fit(texts(train))
x, x_validation = words.transform(texts(train)), words.transform(texts(validation))
predictions = {(c, w): LinearSVC(C=c, class_weight=w).fit(x, train[TARGET]).predict(x_validation) for c, w in GRID}
scores = {key: score(validation[TARGET], p) for key, p in predictions.items()}
best = max(GRID, key=lambda key: scores[key])  # ties: the first
print(f"validation scores {scores}: C={best[0]}, class weights {best[1]}; refitting on train + validation")
pd.DataFrame({"id": validation["id"], TARGET: predictions[best]}).to_csv("validation_predictions.csv", index=False)
known = pd.concat([train, validation], ignore_index=True)
words = features().fit(texts(known))
model = LinearSVC(C=best[0], class_weight=best[1]).fit(words.transform(texts(known)), known[TARGET])
pd.DataFrame({"id": test["id"], TARGET: model.predict(words.transform(texts(test)))}).to_csv("submission.csv",
                                                                                           index=False)
print("wrote validation_predictions.csv and submission.csv")
'''
REFERENCE_DOC = ("tf-idf of words and word pairs (for short texts, of character 2- to 5-grams too) with a linear "
                 "support vector machine, its C and class weights (none or balanced) chosen on validation, refit on "
                 "train + validation")


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
    frame = disguise.disguise(frame, target, seed, "text")
    train, validation, test = common.split_table(entry, frame, seed, classification=True,
                                                 train_fraction=knobs["train_fraction"])
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: classify documents by {target}", target=target,
        intro=f"Classify each document (column `{text}`) of the {entry.title} corpus by `{target}` "
              f"({common.classes_text(frame[target])}).",
        kind="classification", metrics=common.metrics(knobs["metric"], common.CLASSIFICATION_METRICS),
        train=train, validation=validation, test=test,
        notes=tuple(n for n in (disguise.statement_note("text"), *notes,
                                common.train_fraction_note(knobs["train_fraction"])) if n),
        column_docs=docs, training_timeout=900, **_scripts(target, text, knobs["metric"]),
        family=FAMILY.name, topic=_topic(knobs), knobs=knobs, dataset=entry)


def _scripts(target: str, text: str, metric: str) -> dict[str, str]:
    """The ladder's fields: the commonest label, naive Bayes, tf-idf + linear SVM, the tuned reference."""
    simple = [(render(_SIMPLE, {"docstring": docstring(f"{doc}. Writes validation_predictions.csv and "
                                                        "submission.csv."), "imports": imports, "model": model},
                      target=target, text=text), doc.split(": ", 1)[1]) for doc, imports, model in (BASELINE, DEFAULT)]
    reference = render(REFERENCE, {"docstring": docstring(f"Reference solution: {REFERENCE_DOC}."),
                                   **score_code(metric)}, target=target, text=text)
    return ladder(trivial_script(target, "classification"), simple[0], simple[1], (reference, REFERENCE_DOC))


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
    return len(common.feature_names(entry)) == 1 and common.enough_rows(entry)


FAMILY = Family("text_classification", ("text",), sample_knobs, build, _accepts)
