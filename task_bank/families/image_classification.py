"""Small-image classification (8x8 digits as pixel columns): all classes or a subset, optionally from
fewer images, noisy pixels or images downsampled to 4x4.

Ladder: the commonest label; logistic regression on the standardised pixels; gradient boosting on the pixels
with its defaults; the reference, an RBF support vector machine that may train on copies of each image
shifted by a pixel (the structure a table of pixels hides from boosting)."""

import random
from typing import Any

import numpy as np
import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common, disguise
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import docstring, ladder, render, score_code, trivial_script

TWISTS = ("none", "none", "noise", "downsample")
SUBSET_SIZES = (5, 6, 7)
"""Classes in a label subset: three or four digits are often told apart almost perfectly by the baseline,
leaving no room to improve on it."""
NOISE_STD = 4.0
"""Gaussian pixel noise, in the units of the 0-16 intensities."""

_SIMPLE = '''$docstring
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core in the sandbox: more OpenMP threads only contend

import pandas as pd
$imports

TARGET = $target

train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
pixels = [c for c in train.columns if c not in ("id", TARGET)]
for known, rows, out in ((train, validation, "validation_predictions.csv"),
                         (pd.concat([train, validation]), test, "submission.csv")):
    model = $model.fit(known[pixels], known[TARGET])
    pd.DataFrame({"id": rows["id"], TARGET: model.predict(rows[pixels])}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''
BASELINE = ("a logistic regression on the standardised pixels",
            "from sklearn.linear_model import LogisticRegression\nfrom sklearn.pipeline import make_pipeline\n"
            "from sklearn.preprocessing import StandardScaler",
            "make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))")
DEFAULT = ("histogram gradient boosting on the pixels with scikit-learn's defaults",
           "from sklearn.ensemble import HistGradientBoostingClassifier",
           "HistGradientBoostingClassifier(random_state=0)")

REFERENCE = '''$docstring
import numpy as np
import pandas as pd
$metrics_import
from sklearn.svm import SVC

TARGET = $target
GRID = [(c, shifts) for shifts in (False, True) for c in (3.0, 10.0, 30.0)]
"""(C, whether training adds each image shifted by one pixel four ways) of the RBF machines tried."""


$score

def augmented(x, y):
    """The images, then each shifted one pixel left, right, up and down (the edge filled with 0)."""
    side = round(x.shape[1] ** 0.5)
    images, out = x.reshape(-1, side, side), [x]
    for axis, step in ((1, 1), (1, -1), (2, 1), (2, -1)):
        moved = np.roll(images, step, axis=axis)
        edge = [slice(None)] * 3
        edge[axis] = 0 if step == 1 else -1
        moved[tuple(edge)] = 0
        out.append(moved.reshape(len(x), -1))
    return np.concatenate(out), np.tile(y, 5)


def fit(x, y, c, shifts):
    return SVC(C=c, gamma="scale").fit(*(augmented(x, y) if shifts else (x, y)))


train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
pixels = [c for c in train.columns if c not in ("id", TARGET)]
x, y = train[pixels].to_numpy(float), train[TARGET].to_numpy()
predictions = {key: fit(x, y, *key).predict(validation[pixels].to_numpy(float)) for key in GRID}
scores = {key: score(validation[TARGET], p) for key, p in predictions.items()}
best = max(GRID, key=lambda key: scores[key])  # ties: the first
print(f"validation scores {scores}: C={best[0]}, shifted copies {best[1]}; refitting on train + validation")
pd.DataFrame({"id": validation["id"], TARGET: predictions[best]}).to_csv("validation_predictions.csv", index=False)
known = pd.concat([train, validation], ignore_index=True)
model = fit(known[pixels].to_numpy(float), known[TARGET].to_numpy(), *best)
pd.DataFrame({"id": test["id"], TARGET: model.predict(test[pixels].to_numpy(float))}).to_csv("submission.csv",
                                                                                           index=False)
print("wrote validation_predictions.csv and submission.csv")
'''
REFERENCE_DOC = ("an RBF support vector machine on the pixels, its C and whether to train on copies of each image "
                 "shifted by one pixel chosen on validation, refit on train + validation")


def sample_knobs(rng: random.Random, entry: DatasetEntry) -> dict[str, Any]:
    classes: str | list[int] = "all"
    if rng.random() < 0.5:
        classes = sorted(rng.sample(range(10), rng.choice(SUBSET_SIZES)))
    return {"metric": common.pick(rng, common.CLASSIFICATION_METRICS),
            "train_fraction": common.train_fraction(rng, entry),
            "classes": classes, "twist": common.pick(rng, TWISTS)}


def build(entry: DatasetEntry, table: pd.DataFrame, knobs: dict[str, Any], seed: int, task_id: str) -> TaskDraft:
    target = entry.target
    frame = common.clean_table(entry, table, seed, classification=True)
    if knobs["classes"] != "all":
        frame = frame[frame[target].astype(str).isin([str(c) for c in knobs["classes"]])].reset_index(drop=True)
        common.require(frame[target].nunique() == len(knobs["classes"]), entry, "a chosen class has no images")
    frame = disguise.disguise(frame, target, seed, "image")
    frame, notes, docs = _twist(frame, target, knobs["twist"], seed)
    train, validation, test = common.split_table(entry, frame, seed, classification=True,
                                                 train_fraction=knobs["train_fraction"])
    side = round((frame.shape[1] - 1) ** 0.5)
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: classify {side}x{side} images", target=target,
        intro=f"Classify {side}x{side} grey-level images, given as one column per pixel, by `{target}` "
              f"({common.classes_text(frame[target])}).",
        kind="classification", metrics=common.metrics(knobs["metric"], common.CLASSIFICATION_METRICS),
        train=train, validation=validation, test=test, column_docs=docs,
        notes=tuple(n for n in (disguise.statement_note("image"), *notes,
                                common.train_fraction_note(knobs["train_fraction"])) if n),
        **_scripts(target, knobs["metric"]), family=FAMILY.name, topic=_topic(knobs), knobs=knobs, dataset=entry)


def _scripts(target: str, metric: str) -> dict[str, str]:
    """The ladder's fields: the commonest label, logistic regression, boosting, the tuned RBF machine."""
    simple = []
    for rung, (doc, imports, model) in (("Baseline", BASELINE), ("Default solution", DEFAULT)):
        text = (f"{rung}: {doc}, fit on train for validation and on train + validation for test. Writes "
                "validation_predictions.csv and submission.csv.")
        simple.append((render(_SIMPLE, {"docstring": docstring(text), "imports": imports, "model": model},
                              target=target), doc))
    reference = render(REFERENCE, {"docstring": docstring(f"Reference solution: {REFERENCE_DOC}."),
                                   **score_code(metric)}, target=target)
    return ladder(trivial_script(target, "classification"), simple[0], simple[1], (reference, REFERENCE_DOC))


def _twist(frame: pd.DataFrame, target: str, twist: str, seed: int):
    """(frame, notes, column docs) after the twist."""
    pixels = [c for c in frame.columns if c != target]
    values = frame[pixels].to_numpy(float)
    if twist == "noise":
        noisy = np.clip(values + np.random.default_rng(seed).normal(0, NOISE_STD, values.shape), 0, 16).round(2)
        note = (f"The pixels carry sensor noise: Gaussian noise with standard deviation {NOISE_STD:g} was added to "
                "every pixel (then clipped to 0-16) in every split.")
        return frame.assign(**dict(zip(pixels, noisy.T, strict=True))), [note], {}
    if twist == "downsample":
        side = round(len(pixels) ** 0.5)
        blocks = values.reshape(len(frame), side // 2, 2, side // 2, 2).mean(axis=(2, 4)).reshape(len(frame), -1)
        names = [f"q{i}" for i in range(blocks.shape[1])]
        note = f"Low resolution: each image was downsampled to {side // 2}x{side // 2} by averaging 2x2 blocks."
        docs = {n: f"mean intensity (0-16) of block row {i // (side // 2)}, column {i % (side // 2)}"
                for i, n in enumerate(names)}
        return pd.DataFrame(blocks, columns=names).assign(**{target: frame[target].to_numpy()}), [note], docs
    return frame, [], {}


def _topic(knobs: dict[str, Any]) -> str:
    if knobs["twist"] == "noise":
        return "Robust image classification under pixel noise."
    if knobs["twist"] == "downsample":
        return "Image classification at very low resolution."
    return "Classifying small images from raw pixels with classical models."


def _accepts(entry: DatasetEntry) -> bool:
    side = round((len(entry.columns) - 1) ** 0.5)
    return side * side == len(entry.columns) - 1 and side % 2 == 0 and common.enough_rows(entry)


FAMILY = Family("image_classification", ("image",), sample_knobs, build, _accepts)
