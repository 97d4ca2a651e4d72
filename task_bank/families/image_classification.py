"""Small-image classification (8x8 digits as pixel columns): all classes or a subset, optionally from
fewer images, noisy pixels or images downsampled to 4x4."""

import random
from typing import Any

import numpy as np
import pandas as pd

from synthml.task_bank.catalog import DatasetEntry
from synthml.task_bank.draft import TaskDraft
from synthml.task_bank.families import common
from synthml.task_bank.families.family import Family
from synthml.task_bank.families.scripts import render

TWISTS = ("none", "none", "noise", "downsample")
SUBSET_SIZES = (5, 6, 7)
"""Classes in a label subset: three or four digits are often told apart almost perfectly by the baseline,
leaving no room to improve on it."""
NOISE_STD = 4.0
"""Gaussian pixel noise, in the units of the 0-16 intensities."""

BASELINE = '''"""Baseline: $doc. Writes validation_predictions.csv and submission.csv."""
import pandas as pd
from sklearn.neighbors import NearestCentroid

TARGET = $target

train = pd.read_csv("data/train.csv")
pixels = [c for c in train.columns if c not in ("id", TARGET)]
model = NearestCentroid().fit(train[pixels], train[TARGET])
for split, out in (("validation", "validation_predictions.csv"), ("test", "submission.csv")):
    rows = pd.read_csv(f"data/{split}.csv")
    pd.DataFrame({"id": rows["id"], TARGET: model.predict(rows[pixels])}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''

REFERENCE = '''"""Reference solution: $doc."""
import pandas as pd
from sklearn.svm import SVC

TARGET = $target

train, validation, test = (pd.read_csv(f"data/{split}.csv") for split in ("train", "validation", "test"))
pixels = [c for c in train.columns if c not in ("id", TARGET)]
for fit_rows, rows, out in ((train, validation, "validation_predictions.csv"),
                            (pd.concat([train, validation]), test, "submission.csv")):
    model = SVC(C=10, gamma="scale").fit(fit_rows[pixels], fit_rows[TARGET])
    pd.DataFrame({"id": rows["id"], TARGET: model.predict(rows[pixels])}).to_csv(out, index=False)
print("wrote validation_predictions.csv and submission.csv")
'''


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
    frame, notes, docs = _twist(frame, target, knobs["twist"], seed)
    train, validation, test = common.split_table(frame, target, seed, classification=True,
                                                 train_fraction=knobs["train_fraction"])
    side = round((frame.shape[1] - 1) ** 0.5)
    baseline_doc = "a nearest-centroid classifier on the raw pixels"
    reference_doc = "an RBF support vector machine on the pixels, refit on train + validation"
    return TaskDraft(
        task_id=task_id, name=f"{entry.title}: classify {side}x{side} images", target=target,
        intro=f"Classify {side}x{side} grey-level images, given as one column per pixel, by `{target}` "
              f"({common.classes_text(frame[target])}).",
        kind="classification", metrics=common.metrics(knobs["metric"], common.CLASSIFICATION_METRICS),
        train=train, validation=validation, test=test, column_docs=docs,
        notes=tuple(n for n in (*notes, common.train_fraction_note(knobs["train_fraction"])) if n),
        baseline_code=render(BASELINE, {"doc": baseline_doc}, target=target), baseline_summary=baseline_doc,
        reference_code=render(REFERENCE, {"doc": reference_doc}, target=target), reference_summary=reference_doc,
        family=FAMILY.name, topic=_topic(knobs), knobs=knobs, dataset=entry)


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
    return side * side == len(entry.columns) - 1 and side % 2 == 0


FAMILY = Family("image_classification", ("image",), sample_knobs, build, _accepts)
