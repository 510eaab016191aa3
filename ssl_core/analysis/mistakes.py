"""The test images a comparison's models got wrong, side by side, for the mistakes gallery."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ssl_core.analysis.comparison import Comparison

# which images to show: whose mistakes, and whether the other model got them right
KINDS = {"ssl": "the SSL model got wrong", "scratch": "the scratch model got wrong", "both": "both got wrong",
         "ssl_only": "only the SSL model got wrong", "scratch_only": "only the scratch model got wrong"}


@dataclass(frozen=True)
class Mistake:
    position: int  # in the comparison's test set
    truth: int
    ssl: int  # the SSL model's answer
    scratch: int  # the scratch model's answer


@dataclass(frozen=True)
class Mistakes:
    shown: tuple[Mistake, ...]
    counts: dict[str, int]  # kind -> images, before the class filters


def mistakes(comparison: Comparison, ssl_mode: str, test_labels: torch.Tensor, kind: str = "ssl",
             truth: int | None = None, predicted: int | None = None) -> Mistakes:
    """Seed 0's models. `predicted` filters on the answer of the model whose mistakes are asked for
    (the SSL model's for `both`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {sorted(KINDS)}")
    ssl_answers = comparison.runs[ssl_mode][0].evaluation.predictions
    scratch_answers = comparison.runs["scratch"][0].evaluation.predictions
    if ssl_answers is None or scratch_answers is None:
        raise ValueError("these results were kept without each image's answer")
    labels = test_labels.cpu()
    ssl_wrong, scratch_wrong = ssl_answers != labels, scratch_answers != labels
    masks = {"ssl": ssl_wrong, "scratch": scratch_wrong, "both": ssl_wrong & scratch_wrong,
             "ssl_only": ssl_wrong & ~scratch_wrong, "scratch_only": scratch_wrong & ~ssl_wrong}
    mask = masks[kind].clone()
    if truth is not None:
        mask &= labels == truth
    if predicted is not None:
        mask &= (scratch_answers if kind.startswith("scratch") else ssl_answers) == predicted
    shown = tuple(Mistake(int(i), int(labels[i]), int(ssl_answers[i]), int(scratch_answers[i]))
                  for i in torch.nonzero(mask).flatten())
    return Mistakes(shown, {name: int(m.sum()) for name, m in masks.items()})
