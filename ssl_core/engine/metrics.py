"""What a training run reports besides its loss: one headline metric per objective."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Metric:
    key: str  # epoch records carry `train_<key>` and `test_<key>`
    label: str  # axis and metric titles
    fraction: bool = True  # a share in 0..1, shown as a percentage; otherwise a plain number
    unit: str = ""

    def format(self, value: float) -> str:
        return f"{value:.1%}" if self.fraction else f"{value:.1f}{self.unit}"


ACCURACY = Metric("accuracy", "accuracy")
PSNR = Metric("psnr", "PSNR", fraction=False, unit=" dB")


def psnr(output: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of pixels in [0, 1], per image (over `mask` where given)."""
    error = (output - truth).square()
    if mask is None:
        mse = error.flatten(1).mean(1)
    else:
        mask = mask.expand_as(error)
        mse = (error * mask).flatten(1).sum(1) / mask.flatten(1).sum(1).clamp_min(1)
    return -10 * torch.log10(mse.clamp_min(1e-10))
