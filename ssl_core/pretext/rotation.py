"""Rotation prediction (Gidaris et al., "Unsupervised Representation Learning by
Predicting Image Rotations", ICLR 2018).

Each image appears in the batch under every chosen rotation, which the paper
found clearly better than one random rotation per image. Rotations by multiples
of 90 degrees are exact (`torch.rot90`), so there is no interpolation cue.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ssl_core.engine.models import Classifier, evaluating
from ssl_core.pretext.base import ClassificationTask, PretextSample, TaskSettings, option, pixels, to_display

VALID_ANGLES = (0, 90, 180, 270)


@dataclass(frozen=True)
class RotationSettings(TaskSettings):
    angles: tuple[int, ...] = option(VALID_ANGLES, "The rotations the network must tell apart; 90° against "
                                     "270° needs it to know which way is up.", choices=VALID_ANGLES)

    def __post_init__(self) -> None:
        object.__setattr__(self, "angles", tuple(sorted({int(a) % 360 for a in self.angles})))
        super().__post_init__()
        if len(self.angles) < 2:
            raise ValueError(f"choose at least two angles from {VALID_ANGLES}")


class RotationTask(ClassificationTask):
    name = "rotation"
    title = "Rotation"
    Settings = RotationSettings
    explanation = ("The network sees each image under every chosen rotation **in the same batch** and must say "
                   "which one it is (RotNet, Gidaris et al. 2018). To tell 90° from 270° it must know what is up.")

    @property
    def angles(self) -> tuple[int, ...]:
        return self.settings.angles

    @property
    def num_classes(self) -> int:
        return len(self.angles)

    @property
    def views_per_image(self) -> int:
        return self.num_classes

    @property
    def gallery_group(self) -> int:
        return self.num_classes

    quiz_ask = "Which way was this image turned?"
    quiz_why = ("Things have an up: a digit's strokes lean and close the way handwriting does, a flower stands on its "
                "stem, the sky is on top.")

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

    def render(self, images: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> list[PretextSample]:
        n = len(images)
        return [PretextSample(to_display(pixels(inputs[k * n + i])), f"label {k}: {self.label_name(k)}")
                for i in range(n) for k in range(self.num_classes)]

    def explain(self, model: nn.Module, image: torch.Tensor) -> str:
        with torch.inference_mode():
            with evaluating(model):
                belief = model(image).float().softmax(-1)[0].cpu()
        best = int(belief.argmax())
        return f"Pretext model: rotated by **{self.label_name(best)}** ({belief[best]:.0%} sure)"

    def describe(self) -> str:
        return f"rotation: predict which of {', '.join(self.label_name(k) for k in range(self.num_classes))}"
