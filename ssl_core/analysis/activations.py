"""What the layers look at: the first layer's filters, and each block's response to one image.

Everything comes out as uint8 pictures `(N, C, h, w)` ready for an image grid, so the pages draw
them without knowing about weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ssl_core.data.augment import normalise, resize_all
from ssl_core.engine.models import Backbone, evaluating


def _to_uint8(x: torch.Tensor) -> torch.Tensor:
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def first_filters(backbone: Backbone) -> torch.Tensor:
    """The first convolution's kernels `(F, C, k, k)` as pictures: grey 0.5 is zero weight, each kernel
    scaled by its own largest magnitude, so its pattern shows whatever its size."""
    conv = next(m for m in backbone.modules() if isinstance(m, nn.Conv2d))
    w = conv.weight.detach().float().cpu()
    scale = w.flatten(1).abs().max(1).values.clamp_min(1e-8)[:, None, None, None]
    return _to_uint8(0.5 + 0.5 * w / scale)


def first_layer_change(before: Backbone, after: Backbone) -> float:
    """How far the first convolution moved: the size of the change relative to the size of the
    starting weights (0 means untouched)."""
    first = [next(m for m in net.modules() if isinstance(m, nn.Conv2d)).weight.detach().float().cpu()
             for net in (before, after)]
    return float((first[1] - first[0]).norm() / first[0].norm().clamp_min(1e-12))


@dataclass(frozen=True, eq=False)
class BlockResponse:
    block: int
    channels: tuple[int, ...]  # which channels, strongest mean response first
    maps: torch.Tensor  # (top, 1, h, w) uint8, each channel scaled to its own range
    size: int  # h (= w)
    width: int  # channels in the block


@torch.inference_mode()
def block_responses(backbone: Backbone, image: torch.Tensor, image_size: int, top: int = 8) -> list[BlockResponse]:
    """One uint8 image `(1, C, H, W)` through every block: the `top` most active channels of each."""
    device = next(backbone.parameters()).device
    with evaluating(backbone):
        x = normalise(resize_all(image, image_size).to(device))
        responses = []
        for block, layer in enumerate(backbone.blocks, start=1):
            x = layer(x)
            maps = x[0].float().cpu()
            order = maps.mean(dim=(1, 2)).argsort(descending=True)[:top]
            chosen = maps[order]
            low = chosen.flatten(1).min(1).values[:, None, None]
            high = chosen.flatten(1).max(1).values[:, None, None]
            scaled = (chosen - low) / (high - low).clamp_min(1e-8)
            responses.append(BlockResponse(block, tuple(order.tolist()), _to_uint8(scaled[:, None]), maps.shape[-1],
                                           maps.shape[0]))
    return responses


def clearest(images: torch.Tensor, among: int = 200) -> int:
    """The index, among the first `among` uint8 images, of the one with the most contrast: a default picture
    that shows something (a bold digit, not a faint blur)."""
    candidates = images[:among].float().flatten(1)
    return int(candidates.std(1).argmax()) if len(candidates) else 0
