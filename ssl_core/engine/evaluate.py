"""Accuracy, loss, confusion and per-example outcomes of a classifier, without gradients."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ssl_core.engine import precision
from ssl_core.engine.calibration import fit_temperature
from ssl_core.engine.models import evaluating


@dataclass(frozen=True, eq=False)
class Evaluation:
    accuracy: float
    loss: float
    confusion: torch.Tensor  # (K, K) counts, rows = truth, columns = prediction
    correct: torch.Tensor  # (N,) bool, in the order scored: paired comparisons of two models need it
    predictions: torch.Tensor | None = None  # (N,) class indices, in the same order: the mistakes gallery
    temperature: float = 1.0  # softmax(logits / T) reads as a probability on these images (`calibration`)

    @property
    def n(self) -> int:
        return int(self.confusion.sum())


@torch.inference_mode()
def evaluate(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], num_classes: int) -> Evaluation:
    with evaluating(model):
        confusion = None
        hits, predicted, all_logits, truths = [], [], [], []
        loss_sum, n = 0.0, 0
        for inputs, targets in batches:
            with precision.inference(model, inputs.device):
                logits = model(inputs).float()
            loss_sum += F.cross_entropy(logits, targets, reduction="sum").item()
            predictions = logits.argmax(1)
            hits.append(predictions == targets)
            predicted.append(predictions)
            all_logits.append(logits.cpu())
            truths.append(targets.cpu())
            pairs = targets * num_classes + predictions
            counts = torch.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
            confusion = counts if confusion is None else confusion + counts
            n += len(targets)
    if confusion is None:
        return Evaluation(float("nan"), float("nan"), torch.zeros(num_classes, num_classes, dtype=torch.int64),
                          torch.zeros(0, dtype=torch.bool), torch.zeros(0, dtype=torch.int64))
    confusion = confusion.cpu()
    return Evaluation(float(confusion.diag().sum()) / n, loss_sum / n, confusion, torch.cat(hits).cpu(),
                      torch.cat(predicted).cpu(), fit_temperature(torch.cat(all_logits), torch.cat(truths)))
