"""A user's photo, as the model sees it, and what the models make of it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from ssl_core.augment import normalise
from ssl_core.images import decode_image, square_resize


@dataclass(frozen=True, eq=False)
class PreparedPhoto:
    tensor: torch.Tensor  # (1, C, S, S) uint8
    view: np.ndarray  # (S, S, 3) uint8: exactly what the model gets
    colourful: bool = False  # the upload had real colour (a photo, not a scan of ink on paper)
    ink_on_plain: bool = True  # mostly dark background with light strokes, as digit datasets are


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
def predict(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """uint8 images (B, C, S, S) -> class probabilities (B, K) on the CPU."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    probs = model(normalise(images.to(device))).float().softmax(-1).cpu()
    model.train(was_training)
    return probs
