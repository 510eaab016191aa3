"""Super-resolution as a pretext task (the POSTECH lecture's list; Ledig et al., "Photo-Realistic Single Image
Super-Resolution", CVPR 2017, for the task itself).

The image is shrunk by `factor` and enlarged back, which blurs away its fine detail; the network must put
the detail back. It predicts the missing detail (the sharp image minus the blurry one), so a network that
learned nothing returns the blurry enlargement itself: that is the baseline its PSNR is held against, and
everything above it had to come from knowing what images look like at full resolution.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ssl_core.engine.models import Decoder
from ssl_core.pretext.base import PretextSample, ReconstructionTask, TaskSettings, option, pixels, to_display


@dataclass(frozen=True)
class SuperResolutionSettings(TaskSettings):
    factor: int = option(2, "How much the image is shrunk before it is enlarged again: 4 blurs away more detail "
                         "(a harder puzzle).", choices=(2, 4))


class SuperResolutionTask(ReconstructionTask):
    name = "superres"
    title = "Super-resolution"
    Settings = SuperResolutionSettings
    explanation = ("The image is **shrunk and enlarged again**, which blurs away its fine detail, and the network "
                   "must **paint the detail back**. Only a network that knows what sharp images look like (edges, "
                   "strokes, textures) does better than the blurry enlargement itself.")
    baseline_label = "the blurry enlargement"
    gallery_group = 2
    quiz_ask = "This image was shrunk and enlarged again. Which of these is the sharp original?"
    quiz_why = ("The original has crisp edges where the blurry one has soft ones; the others are the blurry image, "
                "blurrier still, or crisp edges borrowed from another image.")
    quiz_same_class = True  # one wrong answer borrows another image's detail

    def blur(self, images: torch.Tensor) -> torch.Tensor:
        """Shrunk by `factor` (averaging each block of pixels) and enlarged back to the same size."""
        size = images.shape[-2:]
        small = F.interpolate(images, scale_factor=1 / self.settings.factor, mode="area")
        return F.interpolate(small, size=size, mode="bilinear", align_corners=False)

    def make_batch(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        blurry = self.blur(images)
        return blurry, torch.cat([images, blurry], 1)  # the truth, and what the detail is added to

    def build_model(self, backbone: nn.Module) -> nn.Module:
        return Decoder(backbone, backbone.in_channels)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        truth, blurry = targets.chunk(2, 1)
        return F.mse_loss(outputs, truth - blurry)

    def reconstruct(self, outputs: torch.Tensor, targets: torch.Tensor):
        truth, blurry = targets.chunk(2, 1)
        return pixels(blurry + outputs), pixels(truth), None

    def trivial_output(self, targets: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(targets.chunk(2, 1)[0])  # no detail added: the blurry enlargement

    def quiz_candidates(self, targets: torch.Tensor) -> torch.Tensor:
        """The true detail; none (the blurry image); the detail taken away (blurrier still); another image's
        detail (sharp-looking, but with edges that do not belong)."""
        truth, blurry = targets.chunk(2, 1)
        detail = truth - blurry
        wrong = [torch.zeros_like(detail), -detail] + ([detail.roll(1, 0)] if len(detail) > 1 else [])
        return torch.stack([detail, *wrong])

    def render(self, images: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> list[PretextSample]:
        truth = pixels(targets.chunk(2, 1)[0])
        return [sample for i in range(len(images)) for sample in (
            PretextSample(to_display(pixels(inputs[i])), f"input: shrunk ×{self.settings.factor}, enlarged"),
            PretextSample(to_display(truth[i]), "target: the sharp image"))]

    def describe(self) -> str:
        return f"super-resolution: paint back the detail lost shrinking ×{self.settings.factor}"
