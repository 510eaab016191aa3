"""Context prediction (Doersch, Gupta & Efros, "Unsupervised Visual Representation
Learning by Context Prediction", ICCV 2015).

The image is divided into a 3×3 grid; the network gets the centre patch and one of
its eight neighbours and must say which neighbour it is. A gap and random jitter
between the patches keep it from matching edges or continuing lines, and each
patch is normalised on its own, so it has to recognise parts of things.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ssl_core.engine.models import TileClassifier
from ssl_core.pretext.base import ClassificationTask, PretextSample, TaskSettings, option, stretch, to_display
from ssl_core.pretext.tiles import assemble, cut_tiles, grey_some, normalise_tiles

CENTRE = 4
NEIGHBOURS = (0, 1, 2, 3, 5, 6, 7, 8)  # grid cells around the centre, row by row
NAMES = ("top left", "top", "top right", "left", "right", "bottom left", "bottom", "bottom right")
CELL_CONTENT = 64.0  # a grid cell whose pixels span less than this (of 255) is taken for empty


@dataclass(frozen=True)
class ContextSettings(TaskSettings):
    gap: float = option(0.25, "Share of each cell left out between the patches, so edges and lines that run "
                        "across do not give the answer away.", low=0.0, high=0.5)
    grey_fraction: float = option(0.3, "Share of colour images turned grey, against the colour-fringe shortcut "
                                  "the paper found.", low=0.0, high=1.0)


class ContextTask(ClassificationTask):
    name = "context"
    title = "Context prediction"
    Settings = ContextSettings
    explanation = ("The network gets the **centre patch** of a 3×3 grid and **one of its eight neighbours**, with "
                   "a gap and random jitter between them, and must say where the neighbour sits (Doersch, Gupta "
                   "& Efros 2015). Knowing that an ear sits above an eye needs a notion of objects.")
    gallery_group = 2

    @property
    def num_classes(self) -> int:
        return len(NEIGHBOURS)

    def label_name(self, label: int) -> str:
        return NAMES[label]

    def make_batch(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        device = images.device
        images = grey_some(images, self.settings.grey_fraction, generator)
        labels = torch.randint(0, self.num_classes, (len(images),), generator=generator, device=device)
        cells = torch.stack([torch.full_like(labels, CENTRE), torch.tensor(NEIGHBOURS, device=device)[labels]], 1)
        return normalise_tiles(cut_tiles(images, 3, self.settings.gap, cells, generator)), labels

    def build_model(self, backbone: nn.Module) -> nn.Module:
        return TileClassifier(backbone, 2, self.num_classes)

    quiz_ask = "The left patch is the centre of the image. Where around it was the right one cut from?"
    quiz_why = ("Parts of things sit in known places: a digit's loop above or below its stem, petals around a "
                "flower's centre.")

    def quiz_usable(self, images: torch.Tensor) -> torch.Tensor:
        """Images with something in nearly every cell of the grid: on a digit the corners are often empty, and a
        blank patch could have come from anywhere."""
        b, c, h, w = images.shape
        cells = images[..., :h - h % 3, :w - w % 3].float().reshape(b, c, 3, h // 3, 3, w // 3)
        spread = cells.amax(dim=(1, 3, 5)) - cells.amin(dim=(1, 3, 5))  # (B, 3, 3)
        return (spread > CELL_CONTENT).flatten(1).sum(1) >= 8

    def quiz_picture(self, network_input: torch.Tensor) -> np.ndarray:
        centre, patch = stretch(network_input).cpu()
        gap = torch.ones(centre.shape[0], centre.shape[1], max(2, centre.shape[2] // 3))
        return to_display(torch.cat([centre, gap, patch], 2))

    def render(self, images: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> list[PretextSample]:
        samples = []
        for image, pair, label in zip(images, inputs, targets.tolist()):
            samples.append(PretextSample(to_display(image), "original"))
            picture = assemble(stretch(pair), 3, [CENTRE, NEIGHBOURS[label]], empty=0.85)
            samples.append(PretextSample(to_display(picture), f"label {label}: {NAMES[label]}"))
        return samples

    def describe(self) -> str:
        return "context prediction: where does the patch sit around the centre (8 places)"
