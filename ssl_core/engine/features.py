"""Feature space: what a backbone makes of images, and how well that space sorts the real classes.

The views that look inside a network (embedding maps, nearest neighbours, the live probe) all read
features the same way: one block, average-pooled to the grid the linear probe reads, L2-normalised,
compared by cosine similarity. k-NN follows the weighted vote used by InstDisc and solo-learn
(k=20, temperature 0.07), which needs no training, so it can be measured after every epoch.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ssl_core.data.augment import normalise, resize_all
from ssl_core.engine.models import Backbone, evaluating

GRID = 2  # what the downstream heads read (DownstreamConfig.grid)
KNN_K = 20
KNN_TEMPERATURE = 0.07


@torch.inference_mode()
def embed(backbone: Backbone, images: torch.Tensor, image_size: int, block: int | None = None, grid: int = GRID,
          batch_size: int = 512) -> torch.Tensor:
    """uint8 images `(N, C, H, W)` -> L2-normalised features `(N, D)` of `block` (default the last), on the
    backbone's device. Batch-norm statistics are the trained ones (eval mode)."""
    block = min(block or backbone.num_blocks, backbone.num_blocks)
    device = next(backbone.parameters()).device
    with evaluating(backbone):
        parts = [backbone.features(normalise(resize_all(images[start:start + batch_size], image_size).to(device)), block,
                                   grid).float()
                 for start in range(0, len(images), batch_size)]
    if not parts:
        return torch.zeros(0, backbone.feature_dim(block, grid), device=device)
    return F.normalize(torch.cat(parts), dim=1)


def knn_predict(bank: torch.Tensor, bank_labels: torch.Tensor, queries: torch.Tensor, num_classes: int,
                k: int = KNN_K, temperature: float = KNN_TEMPERATURE, exclude_self: bool = False) -> torch.Tensor:
    """Each query's class by a similarity-weighted vote of its `k` nearest bank features (normalised
    inputs). `exclude_self` for leave-one-out when the queries are the bank."""
    similarity = queries @ bank.T
    if exclude_self:
        similarity.fill_diagonal_(float("-inf"))
    k = max(1, min(k, len(bank) - int(exclude_self)))
    top, index = similarity.topk(k, dim=1)
    weights = (top / temperature).exp()
    votes = torch.zeros(len(queries), num_classes, device=queries.device)
    votes.scatter_add_(1, bank_labels[index], weights)
    return votes.argmax(1)


def knn_correct(features: torch.Tensor, labels: torch.Tensor, num_classes: int, k: int = KNN_K) -> torch.Tensor:
    """Leave-one-out k-NN over one labeled set: per image, whether its neighbours vote for its class."""
    if len(features) < 2:
        return torch.zeros(len(features), dtype=torch.bool)
    return (knn_predict(features, labels, features, num_classes, k, exclude_self=True) == labels).cpu()


def nearest(bank: torch.Tensor, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The `k` most similar bank rows for each query: (indices, cosine similarities), both `(Q, k)`."""
    similarity, index = (queries @ bank.T).topk(min(k, len(bank)), dim=1)
    return index, similarity


def collapse_level(outputs: torch.Tensor) -> float:
    """0 when normalised embeddings spread over all their dimensions, 1 when they all point one way
    (lightly's `max(0, 1 - sqrt(d) * mean std)`): a contrastive loss that collapsed stops learning."""
    if len(outputs) < 2:
        return float("nan")
    z = F.normalize(outputs.float(), dim=1)
    return max(0.0, 1.0 - math.sqrt(z.shape[1]) * float(z.std(0).mean()))
