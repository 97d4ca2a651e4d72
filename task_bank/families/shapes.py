"""Procedural grey-level images of simple shapes, drawn from a seed: no public table holds them, so no lookup.

Each image is `side` x `side` pixels of intensity 0-1 (anti-aliased: drawn at four times the resolution and
averaged), on a background of Gaussian noise. A shape has a kind, a centre anywhere that keeps it inside the
image, a size, a rotation and a brightness, all drawn at random; `draw` returns the images with their kinds
and counts so that a family can ask about either.
"""

from dataclasses import dataclass

import numpy as np

KINDS = ("disc", "ring", "square", "triangle", "cross")
SUPERSAMPLE = 4


@dataclass(frozen=True)
class Drawing:
    images: np.ndarray
    """(n, side * side) intensities, rows of pixels concatenated."""
    kinds: np.ndarray
    """(n,) the kind of each image's first shape."""
    counts: np.ndarray
    """(n,) shapes in each image."""


def draw(n: int, side: int, rng: np.random.Generator, *, kinds: tuple[str, ...] = KINDS,
         most: int = 1, noise: float = 0.1, size: tuple[float, float] = (0.18, 0.32)) -> Drawing:
    """n images of 1 to `most` shapes of the given kinds (one kind per image: its `kinds` label), each of
    radius `size` (a fraction of the side), with pixel noise of standard deviation `noise`."""
    fine = side * SUPERSAMPLE
    grid = (np.arange(fine) + 0.5) / SUPERSAMPLE
    y, x = np.meshgrid(grid, grid, indexing="ij")
    labels = rng.integers(len(kinds), size=n)
    counts = rng.integers(1, most + 1, size=n)
    images = np.zeros((n, side, side))
    for i in range(n):
        canvas = np.zeros((fine, fine))
        for _ in range(counts[i]):
            radius = rng.uniform(*size) * side
            centre = rng.uniform(radius, side - radius, size=2)
            mask = _mask(kinds[labels[i]], x - centre[1], y - centre[0], radius, rng.uniform(0, np.pi))
            canvas = np.maximum(canvas, mask * rng.uniform(0.6, 1.0))
        images[i] = canvas.reshape(side, SUPERSAMPLE, side, SUPERSAMPLE).mean(axis=(1, 3))
    images += rng.normal(0, noise, images.shape)
    return Drawing(np.clip(images, 0, 1).reshape(n, -1).round(3), np.asarray(kinds)[labels], counts)


def _mask(kind: str, dx: np.ndarray, dy: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """Where a shape of the kind, centred at dx = dy = 0 and turned by `angle`, covers the fine grid."""
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    distance = np.hypot(u, v)
    if kind == "disc":
        return distance <= radius
    if kind == "ring":
        return (distance <= radius) & (distance >= 0.55 * radius)
    if kind == "square":
        half = radius / np.sqrt(2)
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    if kind == "triangle":
        edges = [u * np.cos(a) + v * np.sin(a) for a in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3,
                                                          np.pi / 2 + 4 * np.pi / 3)]
        return np.all([e <= radius / 2 for e in edges], axis=0)
    if kind == "cross":
        width, reach = radius * 0.3, radius * 0.95  # an arm's far corner stays within the radius
        return ((np.abs(u) <= width) | (np.abs(v) <= width)) & (np.abs(u) <= reach) & (np.abs(v) <= reach)
    raise ValueError(f"unknown shape kind {kind!r}; known: {', '.join(KINDS)}")
