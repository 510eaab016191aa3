"""Colorization (Zhang, Isola & Efros, "Colorful Image Colorization", ECCV 2016).

The network sees the lightness of a colour image (the L channel of Lab, as a grey
picture) and paints its colour (the a and b channels). Knowing that grass is green
and sky blue needs knowing grass and sky. This is the paper's regression variant
(smooth L1 on ab), which paints muted colours where several are plausible; the
paper's classification over colour bins paints bolder ones.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ssl_core.data.augment import MEAN, STD
from ssl_core.engine.models import Decoder
from ssl_core.pretext.base import PretextSample, ReconstructionTask, TaskSettings, option, pixels, to_display

AB_SCALE = 110.0  # a and b span about ±110 for sRGB colours
WHITE = (0.95047, 1.0, 1.08883)  # D65
RGB_TO_XYZ = ((0.4124564, 0.3575761, 0.1804375), (0.2126729, 0.7151522, 0.0721750),
              (0.0193339, 0.1191920, 0.9503041))
XYZ_TO_RGB = ((3.2404542, -1.5371385, -0.4985314), (-0.9692660, 1.8760108, 0.0415560),
              (0.0556434, -0.2040259, 1.0572252))
DELTA = 6 / 29


def _mix(matrix: tuple, x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", torch.tensor(matrix, dtype=x.dtype, device=x.device), x)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [0, 1] -> Lab (L in 0..100, a and b about ±110)."""
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055).pow(2.4))
    xyz = _mix(RGB_TO_XYZ, linear) / torch.tensor(WHITE, dtype=rgb.dtype, device=rgb.device)[:, None, None]
    f = torch.where(xyz > DELTA ** 3, xyz.clamp_min(1e-12).pow(1 / 3), xyz / (3 * DELTA ** 2) + 4 / 29)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Inverse of `rgb_to_lab`, clipped to [0, 1]."""
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], 1)
    xyz = torch.where(f > DELTA, f.pow(3), 3 * DELTA ** 2 * (f - 4 / 29))
    linear = _mix(XYZ_TO_RGB, xyz * torch.tensor(WHITE, dtype=lab.dtype, device=lab.device)[:, None, None])
    linear = linear.clamp(0, 1)
    return torch.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear.clamp_min(1e-12).pow(1 / 2.4) - 0.055)


@dataclass(frozen=True)
class ColorizationSettings(TaskSettings):
    loss: str = option("smooth_l1", "smooth_l1 forgives large errors where several colours fit (a red or a "
                       "blue car); mse punishes them and paints greyer.", choices=("smooth_l1", "mse"))


COLOURFUL = 12.0  # mean channel spread (of 255) below which a photo reads as grey


class ColorizationTask(ReconstructionTask):
    name = "colorization"
    title = "Colorization"
    Settings = ColorizationSettings
    explanation = ("The network sees only the **lightness** of a colour image and must **paint its colours** "
                   "(Zhang, Isola & Efros 2016): the a and b channels of Lab. To know grass is green and sky "
                   "blue it must know grass and sky.")
    baseline_label = "one mean colour everywhere"
    gallery_group = 2

    @classmethod
    def unavailable(cls, channels: int) -> str:
        return "" if channels == 3 else "Colorization needs colour images; this dataset is greyscale."

    def make_batch(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if images.shape[1] != 3:
            raise ValueError(self.unavailable(images.shape[1]))
        rgb = pixels(images)
        lab = rgb_to_lab(rgb)
        lightness = lab[:, :1] / 100
        inputs = ((lightness - MEAN) / STD).expand(-1, 3, -1, -1)
        return inputs, torch.cat([lightness, lab[:, 1:] / AB_SCALE, rgb], 1)  # the true colours, for scoring

    def build_model(self, backbone: nn.Module) -> nn.Module:
        return Decoder(backbone, 2)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.settings.loss == "mse":
            return F.mse_loss(outputs, targets[:, 1:3])
        return F.smooth_l1_loss(outputs, targets[:, 1:3], beta=0.1)

    def reconstruct(self, outputs: torch.Tensor, targets: torch.Tensor):
        painted = lab_to_rgb(torch.cat([targets[:, :1] * 100, outputs.clamp(-1, 1) * AB_SCALE], 1))
        return painted, targets[:, 3:], None

    def trivial_output(self, targets: torch.Tensor) -> torch.Tensor:
        return targets[:, 1:3].mean(dim=(0, 2, 3), keepdim=True).expand(len(targets), -1, *targets.shape[-2:])

    quiz_ask = "This is the lightness of a colour image. Which colours are its own?"

    def quiz_usable(self, images: torch.Tensor) -> torch.Tensor:
        """Colourful images only: a grey photo's four colourings would all look the same."""
        if images.shape[1] != 3:
            return torch.zeros(len(images), dtype=torch.bool)
        spread = images.amax(1).float() - images.amin(1).float()  # per pixel, 0 for grey
        return spread.flatten(1).mean(1) > COLOURFUL
    quiz_why = "Real colours keep to what things are (green leaves, a yellow centre); the turned hues paint purple grass."

    def quiz_candidates(self, targets: torch.Tensor) -> torch.Tensor:
        """The true colours and the same colours turned around the colour wheel (a, b rotated by
        90°, 180° and 270°): same lightness and saturation, wrong hues."""
        a, b = targets[:, 1], targets[:, 2]
        return torch.stack([torch.stack(pair, 1) for pair in ((a, b), (-b, a), (-a, -b), (b, -a))])

    def render(self, images: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> list[PretextSample]:
        truth = targets[:, 3:]
        return [sample for i in range(len(images)) for sample in (
            PretextSample(to_display(pixels(inputs[i])), "input: lightness only"),
            PretextSample(to_display(truth[i]), "target: its colours"))]

    def describe(self) -> str:
        return "colorization: paint the colours of a grey image (Lab ab)"
