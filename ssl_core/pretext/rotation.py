"""Rotation prediction (Gidaris et al., "Unsupervised Representation Learning by
Predicting Image Rotations", ICLR 2018).

Each image appears in the batch under every chosen rotation, which the paper
found clearly better than one random rotation per image. Rotations by multiples
of 90 degrees are exact (`torch.rot90`), so there is no interpolation cue.
"""
from __future__ import annotations

import torch
from torch import nn

from ssl_core.models import Classifier
from ssl_core.pretext.base import PretextSample, PretextTask, to_display

VALID_ANGLES = (0, 90, 180, 270)


class RotationTask(PretextTask):
    name = "rotation"

    def __init__(self, angles: tuple[int, ...] = VALID_ANGLES) -> None:
        angles = tuple(sorted(set(int(a) % 360 for a in angles)))
        if len(angles) < 2 or any(a not in VALID_ANGLES for a in angles):
            raise ValueError(f"choose at least two angles from {VALID_ANGLES}, got {angles}")
        self.angles = angles

    @property
    def num_classes(self) -> int:
        return len(self.angles)

    def label_name(self, label: int) -> str:
        return f"{self.angles[label]}°"

    def rotate(self, images: torch.Tensor, label: int) -> torch.Tensor:
        return torch.rot90(images, self.angles[label] // 90, dims=(-2, -1))

    def make_batch(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = torch.cat([self.rotate(images, k) for k in range(self.num_classes)])
        targets = torch.arange(self.num_classes, device=images.device).repeat_interleave(len(images))
        return inputs, targets

    def build_model(self, backbone: nn.Module) -> nn.Module:
        return Classifier(backbone, self.num_classes)

    def preview(self, images: torch.Tensor, generator: torch.Generator) -> list[PretextSample]:
        return [PretextSample(to_display(self.rotate(image, k)), f"label {k}: {self.label_name(k)}")
                for image in images for k in range(self.num_classes)]

    def describe(self) -> str:
        return f"rotation: predict which of {', '.join(self.label_name(k) for k in range(self.num_classes))}"
