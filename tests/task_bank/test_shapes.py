"""Procedural shapes (families/shapes.py) and the image family drawn from them: seeded pictures in no public table,
labelled by what was drawn."""

import random

import numpy as np
import pandas as pd
import pytest

from synthml.task_bank.draft import write_task
from synthml.task_bank.families import FAMILIES, image_classification, shapes
from synthml.task_bank.lookup import lookup_probes, neighbour_probe
from synthml.tasks.task import load_task

KNOBS = {"metric": "accuracy", "question": "shape", "side": 12, "noise": 0.05, "kinds": ["disc", "ring", "square"],
         "train_fraction": 1.0}


def test_a_seed_draws_the_same_images_and_another_seed_others():
    first, again = (shapes.draw(50, 12, np.random.default_rng(4)) for _ in range(2))
    other = shapes.draw(50, 12, np.random.default_rng(5))
    assert np.array_equal(first.images, again.images) and not np.array_equal(first.images, other.images)
    assert first.images.shape == (50, 144) and first.images.min() >= 0 and first.images.max() <= 1


def test_labels_are_what_was_drawn():
    """Without noise: a ring is hollow where a disc is not, a shape's ink grows with the count of shapes."""
    rng = np.random.default_rng(0)
    one = shapes.draw(200, 16, rng, kinds=("disc", "ring"), noise=0.0, size=(0.3, 0.3))
    centre_ink = [_ink_at_centre_of_mass(image.reshape(16, 16)) for image in one.images]
    by_kind = pd.Series(centre_ink).groupby(one.kinds).mean()
    assert by_kind["disc"] > 2 * by_kind["ring"], by_kind
    many = shapes.draw(400, 16, rng, kinds=("square",), most=4, noise=0.0, size=(0.15, 0.15))
    ink = pd.Series(many.images.sum(axis=1)).groupby(many.counts).mean()
    assert list(ink.index) == [1, 2, 3, 4] and ink.is_monotonic_increasing, ink


def _ink_at_centre_of_mass(image: np.ndarray) -> float:
    rows, columns = np.indices(image.shape)
    total = image.sum()
    row, column = round((rows * image).sum() / total), round((columns * image).sum() / total)
    return float(image[row, column])


def test_every_kind_stays_within_its_radius_at_any_rotation():
    """A centre at least a radius from the edges keeps the shape wholly inside the image, as the statement says."""
    grid = np.linspace(-2, 2, 401)
    dx, dy = np.meshgrid(grid, grid)
    for kind in shapes.KINDS:
        for angle in np.linspace(0, np.pi, 7):
            covered = shapes._mask(kind, dx, dy, 1.0, angle)
            assert covered.any() and np.hypot(dx, dy)[covered].max() <= 1.0 + 1e-9, kind


def test_an_unknown_kind_is_named():
    with pytest.raises(ValueError, match="unknown shape kind 'star'; known: disc, ring"):
        shapes.draw(1, 8, np.random.default_rng(0), kinds=("star",))


def test_the_image_family_takes_no_dataset_and_its_tasks_hold_no_public_rows(tmp_path):
    family = FAMILIES["image_classification"]
    assert not family.needs_data
    for seed in range(20):
        knobs = family.sample_knobs(random.Random(seed))
        assert set(knobs["kinds"]) <= set(shapes.KINDS) and knobs["question"] in ("shape", "count")
    draft = family.build(None, None, KNOBS, 3, "shapes-test")
    task = load_task(write_task(draft, tmp_path / "task"))
    assert lookup_probes(task) == [] and neighbour_probe(task) is None  # in no catalog: nothing to look up
    assert task.config.provenance.dataset.id == "synthml/shapes"
    assert "background of Gaussian noise with standard deviation 0.05" in " ".join(task.config.description.split())
    labels = pd.read_csv(task.root / "hidden/test_labels.csv")["shape"]
    assert set(labels) == {"disc", "ring", "square"} and len(labels) == image_classification.ROWS // 5
    count = family.build(None, None, KNOBS | {"question": "count", "most": 3}, 3, "count-test")
    assert set(count.train["count"]) == {"1", "2", "3"}
    assert not draft.train.drop(columns="shape").equals(family.build(None, None, KNOBS, 4, "x").train.drop(
        columns="shape"))  # each task its own images
