"""A user's photo, as the model sees it, and what the models make of it."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from ssl_core.analysis.stats import above_chance
from ssl_core.analysis.verdict import guessing
from ssl_core.data.augment import normalise
from ssl_core.data.images import decode_image, square_resize
from ssl_core.engine.downstream import MODE_TITLES
from ssl_core.engine.models import evaluating


@dataclass(frozen=True, eq=False)
class PreparedPhoto:
    tensor: torch.Tensor  # (1, C, S, S) uint8
    view: np.ndarray  # (S, S, 3) uint8: exactly what the model gets
    colourful: bool = False  # the upload had real colour (a photo, not a scan of ink on paper)
    ink_on_plain: bool = True  # mostly dark background with light strokes, as digit datasets are


@dataclass(frozen=True, eq=False)
class PhotoModel:
    """One compared model as the photo panel shows it: its calibrated answer and, where it is not
    clearly above chance on the test images, the plain caveat that it is guessing."""

    mode: str
    title: str
    model: nn.Module
    temperature: float = 1.0
    caveat: str = ""
    headline: bool = False  # the model the result's headline names: its answer comes first


def photo_models(models: Mapping[str, nn.Module], temperatures: Mapping[str, float], accuracies: Mapping[str, float],
                 chance: float | None = None, n_test: int | None = None, headline: str | None = None
                 ) -> list[PhotoModel]:
    """Every compared model, the headline one first and scratch last; a caveat on each model whose
    test accuracy is not clearly above `chance` on `n_test` images."""
    order = sorted(models, key=lambda m: (m != headline, m == "scratch"))
    out = []
    for mode in order:
        caveat = ""
        if chance is not None and n_test and mode in accuracies and not above_chance(accuracies[mode], n_test, chance):
            caveat = (f"{guessing(MODE_TITLES[mode], accuracies[mode], n_test, chance)} (chance {chance:.0%}): "
                      "its answer here is a guess.")
        out.append(PhotoModel(mode, MODE_TITLES[mode], models[mode], temperatures.get(mode, 1.0), caveat,
                              mode == headline))
    return out


COLOUR_SPREAD = 24  # mean channel spread (0-255) above which an image counts as colourful


def prepare_photo(data: bytes, image_size: int, channels: int, digit_like: bool = False) -> PreparedPhoto:
    """Decode (raising `ImageError`), crop to a square, resize; grey and
    light-on-dark for digit datasets, which are white ink on black."""
    image = square_resize(decode_image(data), image_size)
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    colourful = float((rgb.max(-1) - rgb.min(-1)).mean()) > COLOUR_SPREAD
    ink_on_plain = True
    if channels == 1:
        grey = np.asarray(image.convert("L"), dtype=np.uint8)
        if digit_like:
            border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]]).mean()
            if border > grey.mean():  # dark ink on light paper: invert to match the training digits
                grey = 255 - grey
            ink_on_plain = float((grey < 64).mean()) > 0.5
        tensor = torch.from_numpy(grey.copy())[None, None]
        view = np.asarray(Image.fromarray(grey, "L").convert("RGB"))
    else:
        array = np.asarray(image, dtype=np.uint8)
        tensor = torch.from_numpy(array.copy()).permute(2, 0, 1)[None]
        view = array
    return PreparedPhoto(tensor, view, colourful, ink_on_plain)


def domain_note(domain: str, num_classes: int, photo: PreparedPhoto) -> str:
    """A warning when the photo is plainly not what the model was trained on; '' otherwise."""
    if not domain or (not photo.colourful and photo.ink_on_plain):
        return ""
    return (f"This model only knows {domain}. It answers with one of its {num_classes} classes whatever the "
            "photo shows, so the bars say what this looks most like to it, not what it is.")


@torch.inference_mode()
def predict(model: nn.Module, images: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """uint8 images (B, C, S, S) -> class probabilities (B, K) on the CPU, the logits divided by the
    model's held-out `temperature` (`calibration`)."""
    with evaluating(model):
        device = next(model.parameters()).device
        probs = (model(normalise(images.to(device))).float() / temperature).softmax(-1).cpu()
    return probs
