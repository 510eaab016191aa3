"""Watching the real task while the pretext task trains (RotNet's Figure 5a, solo-learn's online k-NN).

After every pretext epoch the backbone's features of the labeled images vote, by k-NN, for the class
of held-out images. Nothing is trained, so the figure only says how well the current features sort
the real classes, and it costs a few forward passes. Where an epoch is so short that even that
would be more than COST_SHARE of the training time (tiny datasets, cheap tasks), it skips epochs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ssl_core.data.augment import resize_all
from ssl_core.engine.features import embed, knn_predict
from ssl_core.engine.models import Backbone

PROBE_KEY = "probe_knn"  # epoch records: k-NN accuracy on the real labels after that epoch
PROBE_START_KEY = "probe_knn_start"  # the first epoch's record also carries the score before any training
BANK_CAP = 2000  # labeled images that vote, at most
QUERY_CAP = 500  # held-out images scored, at most
COST_SHARE = 0.05  # the probe's time stays under this share of the run's time (and one probe more)


@dataclass(frozen=True, eq=False)
class ProbeData:
    """Labeled images that vote and labeled held-out images to score; the pretext task never sees
    their labels."""

    bank_images: torch.Tensor  # (N, C, H, W) uint8
    bank_labels: torch.Tensor
    query_images: torch.Tensor
    query_labels: torch.Tensor
    num_classes: int
    block: int = 3

    @classmethod
    def usable(cls, bank_images: torch.Tensor, bank_labels: torch.Tensor, query_images: torch.Tensor,
               query_labels: torch.Tensor, num_classes: int, block: int = 3) -> "ProbeData | None":
        """Capped (a fixed random subset of each side); None without two labeled classes or held-out images."""
        bank, query = bank_labels >= 0, query_labels >= 0
        if len(bank_labels[bank].unique()) < 2 or not bool(query.any()):
            return None
        generator = torch.Generator().manual_seed(0)
        b = torch.nonzero(bank).flatten()
        b = b[torch.randperm(len(b), generator=generator)[:BANK_CAP]]
        q = torch.nonzero(query).flatten()
        q = q[torch.randperm(len(q), generator=generator)[:QUERY_CAP]]
        return cls(bank_images[b], bank_labels[b], query_images[q], query_labels[q], num_classes, block)


class KnnProbe:
    """The probe for one run: images resized and moved to the device once, scored on any backbone."""

    def __init__(self, data: ProbeData, image_size: int, device: torch.device, share: float = COST_SHARE) -> None:
        self.data, self.image_size, self.share = data, image_size, share
        self.started, self.spent = time.perf_counter(), 0.0
        self.bank = resize_all(data.bank_images, image_size).to(device)
        self.bank_labels = data.bank_labels.to(device)
        self.queries = resize_all(data.query_images, image_size).to(device)
        self.query_labels = data.query_labels.to(device)

    def within_budget(self, backbone: Backbone, last: bool = False) -> float | None:
        """The score, or None when probing now would take it over its share of the time so far
        (the last epoch is always scored)."""
        if not last and self.spent > self.share * (time.perf_counter() - self.started):
            return None
        started = time.perf_counter()
        value = self(backbone)
        self.spent += time.perf_counter() - started
        return value

    def __call__(self, backbone: Backbone) -> float:
        block = min(self.data.block, backbone.num_blocks)
        bank = embed(backbone, self.bank, self.image_size, block)
        queries = embed(backbone, self.queries, self.image_size, block)
        predicted = knn_predict(bank, self.bank_labels, queries, self.data.num_classes)
        return float((predicted == self.query_labels).float().mean())
