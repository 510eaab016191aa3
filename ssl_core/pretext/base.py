"""The interface every pretext task implements.

A pretext task turns unlabeled images into (input, pseudo-label) pairs with
tensor operations on the training device, builds the network that solves it
around a shared backbone, and renders a few samples for the gallery.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class PretextSample:
    """One gallery tile: a picture (H, W, 3 uint8) and its caption."""

    image: np.ndarray
    caption: str


class PretextTask(ABC):
    name: str = ""

    @property
    @abstractmethod
    def num_classes(self) -> int: ...

    @abstractmethod
    def label_name(self, label: int) -> str: ...

    @abstractmethod
    def make_batch(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Images `(B, C, H, W)` float, normalised -> (network inputs, int64 pseudo-labels)."""

    @abstractmethod
    def build_model(self, backbone: nn.Module) -> nn.Module:
        """The pretext network: the backbone plus this task's head."""

    @abstractmethod
    def preview(self, images: torch.Tensor, generator: torch.Generator) -> list[PretextSample]:
        """Gallery samples for images `(B, C, H, W)` uint8."""

    def describe(self) -> str:
        return f"{self.name}: {self.num_classes} pseudo-classes"


def to_display(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) uint8 or float in [0, 1] -> (H, W, 3) uint8 for st.image."""
    if image.dtype != torch.uint8:
        image = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    return image.permute(1, 2, 0).contiguous().cpu().numpy()
