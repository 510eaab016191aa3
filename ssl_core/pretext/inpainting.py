"""Inpainting (Pathak et al., "Context Encoders: Feature Learning by Inpainting", CVPR 2016).

A region of the image is blanked out and the network paints it back from the
surroundings. The loss counts only the blanked pixels (the paper's
reconstruction loss; its adversarial term is left out), so the network cannot
score by copying what it sees.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ssl_core.engine.models import Decoder
from ssl_core.pretext.base import (QUIZ_CHOICES, PretextSample, ReconstructionTask, TaskSettings, option, pixels,
                                   to_display)


@dataclass(frozen=True)
class InpaintingSettings(TaskSettings):
    mask: str = option("centre", "centre: one square in the middle, as in the paper; blocks: several random "
                       "squares, which the paper found transfers better.", choices=("centre", "blocks"))
    hole: float = option(0.5, "Side of the square hole as a share of the image side (blocks: each block is half "
                         "of it).", low=0.2, high=0.7)


class InpaintingTask(ReconstructionTask):
    name = "inpainting"
    title = "Inpainting"
    Settings = InpaintingSettings
    explanation = ("A region of the image is **blanked out** and the network must **paint it back** from what "
                   "surrounds it (context encoders, Pathak et al. 2016). Only the blanked pixels count, so it "
                   "has to guess what belongs there, not copy what it sees.")
    baseline_label = "each image's mean visible colour"
    gallery_group = 2

    def masks(self, b: int, size: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        """(B, 1, S, S) float, 1 where the image is blanked."""
        side = max(2, round(size * self.settings.hole))
        span = torch.arange(size, device=device)
        if self.settings.mask == "centre":
            start = (size - side) // 2
            inside = (span >= start) & (span < start + side)
            return (inside[:, None] & inside[None, :]).float().expand(b, 1, size, size)
        block = max(2, side // 2)
        corners = torch.randint(0, size - block + 1, (b, 4, 2), generator=generator, device=device)
        rows = (span[None, None, :] >= corners[..., :1]) & (span[None, None, :] < corners[..., :1] + block)
        cols = (span[None, None, :] >= corners[..., 1:]) & (span[None, None, :] < corners[..., 1:] + block)
        return (rows[..., :, None] & cols[..., None, :]).any(1, keepdim=True).float()

    def make_batch(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        mask = self.masks(len(images), images.shape[-1], generator, images.device)
        return images * (1 - mask), torch.cat([images, mask], 1)  # 0 is mid-grey in normalised units

    def build_model(self, backbone: nn.Module) -> nn.Module:
        return Decoder(backbone, backbone.in_channels)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        truth, mask = targets[:, :-1], targets[:, -1:]
        error = F.mse_loss(outputs, truth, reduction="none") * mask
        return error.sum() / (mask.sum() * truth.shape[1]).clamp_min(1)

    def reconstruct(self, outputs: torch.Tensor, targets: torch.Tensor):
        truth, mask = pixels(targets[:, :-1]), targets[:, -1:]
        return truth * (1 - mask) + pixels(outputs) * mask, truth, mask

    def trivial_output(self, targets: torch.Tensor) -> torch.Tensor:
        truth, mask = targets[:, :-1], targets[:, -1:]
        visible = 1 - mask
        mean = (truth * visible).sum(dim=(2, 3), keepdim=True) / visible.sum(dim=(2, 3), keepdim=True).clamp_min(1)
        return mean.expand_as(truth)

    quiz_ask = "Part of the image is hidden. Which of these fills the hole?"
    quiz_why = "The right fill continues the strokes and colours that meet the hole's edges; the others come from other images."
    quiz_same_class = True  # the wrong fills are other images': of the same class, they are not given away

    def quiz_candidates(self, targets: torch.Tensor) -> torch.Tensor:
        """The true content, and what sits in the same place in up to three other images."""
        truth = targets[:, :-1]
        return torch.stack([truth.roll(shift, 0) for shift in range(min(QUIZ_CHOICES, len(truth)))])

    def render(self, images: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> list[PretextSample]:
        truth = pixels(targets[:, :-1])
        return [sample for i in range(len(images)) for sample in (
            PretextSample(to_display(pixels(inputs[i])), "input: region blanked"),
            PretextSample(to_display(truth[i]), "target: the whole image"))]

    def describe(self) -> str:
        what = "a centre square" if self.settings.mask == "centre" else "random blocks"
        return f"inpainting: paint back {what} ({self.settings.hole:.0%} of the side)"
