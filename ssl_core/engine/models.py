"""Backbones that expose their blocks, and the linear heads put on top.

Every backbone is a stack of four blocks. `feature_map(x, block)` returns the
spatial output of any block (what a decoder reads), `features(x, block)` the
same pooled to a small grid (what the linear probe reads: RotNet found the
middle blocks transfer best, the last one worst), and `forward(x)` the last
block pooled to one vector (what the classification heads read).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


class Backbone(nn.Module):
    def __init__(self, blocks: list[nn.Module], widths: list[int], in_channels: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.widths = list(widths)
        self.in_channels = in_channels

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    @property
    def num_features(self) -> int:
        return self.widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=(-2, -1))

    def feature_map(self, x: torch.Tensor, block: int | None = None) -> torch.Tensor:
        """Spatial output `(B, C, h, w)` of block `block` (1-based; default the last)."""
        block = block or self.num_blocks
        if not 1 <= block <= self.num_blocks:
            raise ValueError(f"block must be in 1..{self.num_blocks}")
        for layer in self.blocks[:block]:
            x = layer(x)
        return x

    def features(self, x: torch.Tensor, block: int, grid: int = 2) -> torch.Tensor:
        """Output of block `block` (1-based), average-pooled to a `grid` x `grid` map, flattened."""
        return F.adaptive_avg_pool2d(self.feature_map(x, block), grid).flatten(1)

    def feature_dim(self, block: int, grid: int = 2) -> int:
        return self.widths[block - 1] * grid * grid


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _conv_stack(in_channels: int, widths: tuple[int, ...], convs_per_block: int) -> Backbone:
    blocks, cin = [], in_channels
    for i, width in enumerate(widths):
        layers = [layer for k in range(convs_per_block) for layer in _conv(cin if k == 0 else width, width)]
        if i < len(widths) - 1:
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
        blocks.append(nn.Sequential(*layers))
        cin = width
    return Backbone(blocks, list(widths), in_channels)


def small_cnn(in_channels: int, widths: tuple[int, ...] = (16, 32, 64, 128)) -> Backbone:
    """Four conv-BN-ReLU blocks with 2x2 max-pooling between them: trains in seconds on a CPU."""
    return _conv_stack(in_channels, widths, convs_per_block=1)


def wide_cnn(in_channels: int) -> Backbone:
    """Two convolutions per block and more channels: more capacity for larger images, slower."""
    return _conv_stack(in_channels, (64, 128, 256, 256), convs_per_block=2)


def resnet18(in_channels: int) -> Backbone:
    """torchvision's ResNet-18 for small images: 3x3 stem at stride 1, no max-pool."""
    from torchvision.models import resnet18 as tv_resnet18

    net = tv_resnet18(weights=None)
    stem = nn.Sequential(nn.Conv2d(in_channels, 64, 3, padding=1, bias=False), net.bn1, net.relu)
    blocks = [nn.Sequential(stem, net.layer1), net.layer2, net.layer3, net.layer4]
    return Backbone(blocks, [64, 128, 256, 512], in_channels)


BACKBONES: dict[str, Callable[[int], Backbone]] = {
    "small_cnn": small_cnn,
    "wide_cnn": wide_cnn,
    "resnet18": resnet18,
}


def make_backbone(name: str, in_channels: int) -> Backbone:
    if name not in BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; choose from {sorted(BACKBONES)}")
    return BACKBONES[name](in_channels)


class Classifier(nn.Module):
    """A backbone read at one block (`block`, default the last), average-pooled to a `grid` x `grid`
    map, with a linear head. `frozen=True` is the linear probe: no gradients reach the backbone and
    its batch-norm statistics stay fixed.

    Downstream uses `grid=2` both from scratch and fine-tuned (the same network either way): keeping
    where things are beats a global average on digits, e.g. 1 label/class from scratch 34.5% vs 30.9%
    (assets/results/downstream-design.md)."""

    def __init__(self, backbone: Backbone, num_classes: int, block: int | None = None, grid: int = 1,
                 frozen: bool = False) -> None:
        super().__init__()
        self.backbone = backbone
        self.block = block or backbone.num_blocks
        self.grid = grid
        self.frozen = frozen
        if frozen:
            backbone.requires_grad_(False)
        self.head = nn.Linear(backbone.feature_dim(self.block, grid), num_classes)

    def train(self, mode: bool = True) -> "Classifier":
        super().train(mode)
        if self.frozen:
            self.backbone.eval()  # frozen means frozen batch-norm statistics too
        return self

    def freeze(self, frozen: bool) -> None:
        """Switch between training the head alone and training everything (LP-FT)."""
        self.frozen = frozen
        self.backbone.requires_grad_(not frozen)
        self.train(self.training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.frozen:
            with torch.no_grad():
                features = self.backbone.features(x, self.block, self.grid)
        else:
            features = self.backbone.features(x, self.block, self.grid)
        return self.head(features)


class TileClassifier(nn.Module):
    """Context-free network for tile tasks (jigsaw, context prediction): the shared backbone embeds
    each tile alone, an MLP reads the embeddings side by side. Input `(B, T, C, t, t)`."""

    def __init__(self, backbone: Backbone, n_tiles: int, num_classes: int, hidden: int = 256) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Sequential(nn.Linear(backbone.num_features * n_tiles, hidden), nn.ReLU(inplace=True),
                                  nn.Linear(hidden, num_classes))

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        features = self.backbone(tiles.flatten(0, 1))
        return self.head(features.reshape(len(tiles), -1))


class Decoder(nn.Module):
    """Backbone plus an upsampling decoder back to the input size, for tasks that predict pixels
    (colorization, inpainting). It reads only the last block's map, with no skip connections, so
    everything it paints has to pass through the features that later transfer."""

    def __init__(self, backbone: Backbone, out_channels: int) -> None:
        super().__init__()
        self.backbone = backbone
        widths = backbone.widths[::-1]  # deepest first
        self.stages = nn.ModuleList(nn.Sequential(*_conv(cin, cout)) for cin, cout in zip(widths, widths[1:]))
        self.out = nn.Conv2d(widths[-1], out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        h = self.backbone.feature_map(x)
        for stage in self.stages:
            h = stage(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.out(F.interpolate(h, size=size, mode="bilinear", align_corners=False))


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """`model` in eval mode for the block (batch norm on its running statistics, no dropout), then back in the
    mode it was in, even after an error: a model scored in the middle of its training goes on training."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
