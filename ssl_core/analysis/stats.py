"""How sure can we be? Intervals for accuracy differences, and chance levels.

Two models scored on the same test images make paired outcomes: a difference
is judged by resampling test images (and seeds, when there are several), not
by comparing two accuracies as if they were independent. That is what lets a
page say "helped" only when the interval excludes zero.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

RESAMPLES = 4000
LEVEL = 0.95
Z95 = 1.959964


@dataclass(frozen=True)
class Difference:
    """Accuracy of A minus accuracy of B (fractions), averaged over seeds, with a 95% interval."""

    mean: float
    low: float
    high: float
    n_test: int
    n_seeds: int
    method: str

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def to_json(self) -> dict:
        return {"mean": self.mean, "ci95": [self.low, self.high]}


def paired_difference(a: torch.Tensor, b: torch.Tensor, resamples: int = RESAMPLES, seed: int = 0) -> Difference:
    """Paired bootstrap of accuracy(A) - accuracy(B).

    `a`, `b`: per-image outcomes (True = correct), `(N,)` for one seed or `(S, N)` for S seeds
    scored on the same N test images. Each resample draws N test images with replacement and,
    with several seeds, S seeds with replacement, so the interval covers both the test set's
    sampling noise and the training runs' spread. Deterministic for a given `seed`.
    """
    a, b = torch.as_tensor(a).bool(), torch.as_tensor(b).bool()
    if a.ndim == 1:
        a, b = a[None], b[None]
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] == 0:
        raise ValueError(f"need two equal (seeds, images) outcome arrays, got {tuple(a.shape)} and {tuple(b.shape)}")
    d = a.double() - b.double()  # (S, N) in {-1, 0, 1}
    s, n = d.shape
    generator = torch.Generator().manual_seed(seed)
    estimates = []
    for start in range(0, resamples, max(1, 2**22 // n)):  # bounded memory for large test sets
        r = min(resamples, start + max(1, 2**22 // n)) - start
        seed_pick = torch.randint(0, s, (r, s), generator=generator)
        seed_weight = torch.zeros(r, s, dtype=torch.float64).scatter_add_(1, seed_pick, torch.ones(r, s,
                                                                                                  dtype=torch.float64))
        per_image = seed_weight @ d / s  # (r, N): the resampled seeds' mean difference on each image
        image_pick = torch.randint(0, n, (r, n), generator=generator)
        estimates.append(per_image.gather(1, image_pick).mean(1))
    estimates = torch.cat(estimates)
    tail = (1 - LEVEL) / 2
    low, high = torch.quantile(estimates, torch.tensor([tail, 1 - tail], dtype=torch.float64)).tolist()
    method = "paired bootstrap over test images" + (f" and {s} seeds" if s > 1 else "")
    return Difference(float(d.mean()), low, high, n, s, method)


def difference_from_accuracies(a: Sequence[float], b: Sequence[float], n_test: int) -> Difference:
    """A conservative normal interval when only accuracies were kept (no per-image outcomes):
    the two accuracies are treated as independent (pairing would narrow the interval) and the
    spread of the per-seed differences is added."""
    if len(a) != len(b) or not a or n_test < 1:
        raise ValueError("need one accuracy per seed for each side, and a test set")
    pa, pb = float(np.mean(a)), float(np.mean(b))
    variance = (pa * (1 - pa) + pb * (1 - pb)) / n_test
    if len(a) > 1:
        variance += float(np.var(np.subtract(a, b), ddof=1)) / len(a)
    half = Z95 * math.sqrt(variance)
    return Difference(pa - pb, pa - pb - half, pa - pb + half, n_test, len(a),
                      "normal approximation from the accuracies")


def chance_level(test_labels: torch.Tensor, num_classes: int) -> float:
    """The accuracy of always answering the commonest test class (1/K when balanced)."""
    labels = torch.as_tensor(test_labels)
    if not len(labels):
        return 1 / max(num_classes, 1)
    return float(torch.bincount(labels, minlength=num_classes).max()) / len(labels)


def chance_class(test_labels: torch.Tensor, num_classes: int) -> int | None:
    """The class that always answering scores `chance_level`; None when several tie (balanced classes)."""
    labels = torch.as_tensor(test_labels)
    if not len(labels):
        return None
    counts = torch.bincount(labels, minlength=num_classes)
    top = counts.max()
    return int(counts.argmax()) if int((counts == top).sum()) == 1 else None


def wilson_low(accuracy: float, n: int) -> float:
    """One-sided 95% lower bound of an accuracy measured on n images (Wilson score)."""
    if n < 1:
        return 0.0
    z = 1.644854
    centre = accuracy + z * z / (2 * n)
    spread = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def above_chance(accuracy: float, n_test: int, chance: float) -> bool:
    """Clearly above chance: the one-sided 95% lower bound beats always-the-commonest-class."""
    return wilson_low(accuracy, n_test) > chance
