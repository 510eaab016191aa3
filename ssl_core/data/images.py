"""Decoding of untrusted image bytes into clean RGB pictures.

Every image a user hands us (an upload, a zip member, a file in a folder) goes
through `decode_image`, so the rules live in one place: validate by decoding,
refuse decompression bombs, apply EXIF orientation, composite transparency on
white and scale (never clip) 16-bit data.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MAX_FILE_BYTES = 50 * 1024 * 1024
# Every use shrinks images to at most 128 px (the gallery shows 256 px): a larger picture is decoded at a
# fraction of its size where the format allows (JPEG's DCT scaling) and shrunk right after otherwise, so an
# 81-megapixel photo costs megabytes, not a gigabyte of intermediate arrays.
DECODE_SIDE = 1024
UNREDUCIBLE = ("1", "P", "I;16", "I;16B", "I;16L", "I;16N")  # modes `Image.reduce` refuses


class ImageError(ValueError):
    """An input that is not a usable image; the message is meant for the user."""


def decode_image(data: bytes, max_pixels: int | None = None) -> Image.Image:
    """Decode bytes into an RGB image, or raise `ImageError` saying why not."""
    if not data:
        raise ImageError("empty file (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"file too large ({len(data) / 2**20:.0f} MB, limit {MAX_FILE_BYTES // 2**20} MB)")
    limit = max_pixels or Image.MAX_IMAGE_PIXELS or 89_478_485
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limit:
                raise ImageError(f"image too large ({width}x{height} pixels, limit {limit:,})")
            image.seek(0)  # first frame of animations
            image.draft(image.mode, (DECODE_SIDE, DECODE_SIDE))  # JPEG: decode at 1/2 to 1/8 scale, no smaller
            image.load()
            if max(image.size) > 2 * DECODE_SIDE:
                factor = max(image.size) // DECODE_SIDE
                image = image.reduce(factor) if image.mode not in UNREDUCIBLE else to_rgb(image).reduce(factor)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("image too large (decompression-bomb limit)") from None
    except UnidentifiedImageError:
        raise ImageError("not an image (unrecognised format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"broken or truncated image ({exc})") from None
    except Exception as exc:  # Pillow's decoders raise TypeError, IndexError... on damaged files (tests/test_fuzz.py)
        raise ImageError(f"broken image ({type(exc).__name__}: {exc})") from None
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # a malformed EXIF block should not reject a readable picture
        pass
    try:
        return to_rgb(image)
    except Exception as exc:  # a pixel format Pillow reads but cannot convert
        raise ImageError(f"unsupported pixel format {image.mode} ({exc})") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to RGB without losing alpha or 16-bit range."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max() > 255 or mode.startswith("I;16") else 255.0
        array = np.clip(array / top * 255.0, 0, 255).round().astype(np.uint8)
        return Image.fromarray(array, "L").convert("RGB")
    if mode == "F":
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        array = (array - low) / (high - low or 1.0) * 255.0
        return Image.fromarray(array.round().astype(np.uint8), "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def square_resize(image: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square and resize: what the models see."""
    return ImageOps.fit(image, (size, size), Image.Resampling.BILINEAR)
