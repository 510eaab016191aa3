"""Nearest neighbours: the training images a backbone finds most similar to a photo, before and after
pretraining. Features of the bank are computed once and reused for every query."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ssl_core.engine.features import embed, nearest
from ssl_core.engine.models import Backbone
from ssl_core.engine.pretrain import PretrainResult, initial_backbone

BANK_CAP = 5000  # training images searched, at most (a fixed random subset)
BACKBONES = ("random weights", "after pretraining")


@dataclass(frozen=True, eq=False)
class FeatureBank:
    images: torch.Tensor  # (N, C, H, W) uint8
    labels: torch.Tensor  # (N,), -1 where unlabeled
    backbones: dict[str, Backbone]  # BACKBONES -> backbone
    features: dict[str, torch.Tensor]  # BACKBONES -> (N, D)
    block: int
    image_size: int


@dataclass(frozen=True)
class Neighbours:
    indices: tuple[int, ...]  # into the bank, most similar first
    similarities: tuple[float, ...]


def feature_bank(pretrained: PretrainResult, images: torch.Tensor, labels: torch.Tensor, block: int,
                 limit: int = BANK_CAP) -> FeatureBank:
    keep = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:limit].sort().values
    images, labels = images[keep], labels[keep]
    block = min(block, pretrained.backbone.num_blocks)
    backbones = {BACKBONES[0]: initial_backbone(pretrained.config, pretrained.in_channels).to(pretrained.device),
                 BACKBONES[1]: pretrained.backbone}
    size = pretrained.config.image_size
    return FeatureBank(images, labels, backbones,
                       {name: embed(net, images, size, block) for name, net in backbones.items()}, block, size)


def neighbours(bank: FeatureBank, image: torch.Tensor, k: int = 8) -> dict[str, Neighbours]:
    """The `k` bank images nearest to one uint8 image `(1, C, H, W)`, under each backbone."""
    found = {}
    for name, net in bank.backbones.items():
        index, similarity = nearest(bank.features[name], embed(net, image, bank.image_size, bank.block), k)
        found[name] = Neighbours(tuple(index[0].tolist()), tuple(similarity[0].tolist()))
    return found
