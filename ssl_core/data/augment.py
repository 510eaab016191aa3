"""Batch preparation on the training device: resize once, then crop, flip and
normalise whole batches with tensor indexing (no per-image PIL work)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

MEAN, STD = 0.5, 0.25


def resize_all(images: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    """(N, C, H, W) uint8 -> (N, C, size, size) uint8, done once before training."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = torch.empty((len(images), images.shape[1], size, size), dtype=torch.uint8, device=images.device)
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk].float()
        part = F.interpolate(part, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start:start + chunk] = part.round().clamp(0, 255).to(torch.uint8)
    return out


def normalise(images: torch.Tensor) -> torch.Tensor:
    return (images.float() / 255 - MEAN) / STD


def random_crop(images: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by up to `pad` pixels (edge-replicated): a crop after padding."""
    if pad <= 0:
        return images
    b, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad), mode="replicate")
    offset = torch.randint(0, 2 * pad + 1, (b, 2), generator=generator, device=images.device)
    rows = (offset[:, 0, None] + torch.arange(h, device=images.device))[:, :, None]
    cols = (offset[:, 1, None] + torch.arange(w, device=images.device))[:, None, :]
    batch = torch.arange(b, device=images.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    flip = torch.rand(len(images), generator=generator, device=images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def augment(images: torch.Tensor, generator: torch.Generator, flip: bool, pad_fraction: float = 0.125) -> torch.Tensor:
    """uint8 batch -> normalised float batch with crop (and flip where the data allows)."""
    x = normalise(images)
    x = random_crop(x, int(round(images.shape[-1] * pad_fraction)), generator)
    return random_flip(x, generator) if flip else x
