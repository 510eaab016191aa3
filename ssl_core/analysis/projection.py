"""Embedding maps: held-out images' features projected to 2-D, before and after pretraining.

The map colours points by the true class the pretext task never saw. Pictures can mislead (t-SNE
invents clusters, PCA hides them), so each map comes with numbers that do not depend on the
projection: leave-one-out k-NN accuracy and the silhouette score in the full feature space, and the
change in k-NN accuracy with a paired bootstrap interval over the same images.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ssl_core.analysis.stats import Difference, above_chance, chance_level, paired_difference
from ssl_core.analysis.verdict import interval, points
from ssl_core.engine.features import embed, knn_correct
from ssl_core.engine.pretrain import PretrainResult, initial_backbone

METHODS = {"pca": "PCA", "tsne": "t-SNE"}
MAP_CAP = 3000  # points on a map at most: t-SNE on a CPU stays within seconds
MORE, LESS, SAME, AT_CHANCE = "more separable", "less separable", "no clear change", "at chance"


def project(features: torch.Tensor, method: str = "pca", seed: int = 0) -> np.ndarray:
    """`(N, D)` features -> `(N, 2)` coordinates."""
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; choose from {sorted(METHODS)}")
    x = features.detach().cpu().double().numpy()
    if len(x) < 3:
        return np.zeros((len(x), 2))
    if method == "pca":
        x = x - x.mean(0)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        out = x @ vt[:2].T
        return np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(x) - 1) / 3)
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed, metric="cosine").fit_transform(x)


@dataclass(frozen=True, eq=False)
class Separability:
    """How well the real classes sort in a feature space, without training anything."""

    knn_accuracy: float
    silhouette: float  # -1..1: above 0 when images sit nearer their own class than the next one
    correct: torch.Tensor  # (N,) bool: leave-one-out k-NN, per image


def separability(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> Separability:
    correct = knn_correct(features, labels.to(features.device), num_classes)
    classes = labels.unique()
    silhouette = float("nan")
    if 2 <= len(classes) < len(labels):
        from sklearn.metrics import silhouette_score

        silhouette = float(silhouette_score(features.cpu().numpy(), labels.cpu().numpy(), metric="cosine"))
    return Separability(float(correct.float().mean()) if len(correct) else float("nan"), silhouette, correct)


@dataclass(frozen=True, eq=False)
class FeatureMap:
    title: str
    points: np.ndarray  # (N, 2)
    separability: Separability


@dataclass(frozen=True, eq=False)
class BeforeAfter:
    """The same held-out images in the random-initialised and the pretrained backbone's feature space."""

    indices: torch.Tensor  # rows of the images given, in map order
    labels: torch.Tensor
    before: FeatureMap
    after: FeatureMap
    difference: Difference  # k-NN accuracy after minus before, paired over the images
    chance: float
    block: int
    method: str

    @property
    def outcome(self) -> str:
        n = len(self.labels)
        if not any(above_chance(m.separability.knn_accuracy, n, self.chance) for m in (self.before, self.after)):
            return AT_CHANCE
        if self.difference.excludes_zero:
            return MORE if self.difference.mean > 0 else LESS
        return SAME

    def summary(self) -> str:
        """One sentence with the interval; 'more separable' only when it excludes zero."""
        b, a = self.before.separability.knn_accuracy, self.after.separability.knn_accuracy
        figures = (f"k-NN accuracy in feature space (block {self.block}, {len(self.labels):,} held-out images): "
                   f"{b:.1%} with random weights, {a:.1%} after pretraining: {points(self.difference.mean)} points "
                   f"({interval(self.difference)})")
        return figures + {
            MORE: ": the pretext task made the real classes **easier to tell apart**.",
            LESS: ": the real classes are **harder to tell apart** after pretraining.",
            SAME: ": **no clear change** (the interval includes zero).",
            AT_CHANCE: f": both at **chance level** ({self.chance:.0%}); these features do not sort the classes.",
        }[self.outcome]


def before_after(pretrained: PretrainResult, images: torch.Tensor, labels: torch.Tensor, num_classes: int,
                 block: int, method: str = "pca", limit: int = 1000, seed: int = 0) -> BeforeAfter:
    """Maps of up to `limit` labeled images (a fixed random subset) under both backbones."""
    keep = torch.nonzero(labels >= 0).flatten()
    keep = keep[torch.randperm(len(keep), generator=torch.Generator().manual_seed(seed))[:min(limit, MAP_CAP)]]
    if len(keep) < 3:
        raise ValueError("an embedding map needs at least 3 labeled held-out images")
    chosen, y = images[keep], labels[keep]
    size = pretrained.config.image_size
    random_init = initial_backbone(pretrained.config, pretrained.in_channels).to(pretrained.device)
    maps = []
    for title, backbone in (("random weights", random_init), ("after pretraining", pretrained.backbone)):
        features = embed(backbone, chosen, size, block)
        maps.append(FeatureMap(title, project(features, method, seed), separability(features, y, num_classes)))
    difference = paired_difference(maps[1].separability.correct[None], maps[0].separability.correct[None])
    return BeforeAfter(keep, y, maps[0], maps[1], difference, chance_level(y, num_classes),
                       min(block, pretrained.backbone.num_blocks), method)
