import io

import numpy as np
import pytest
from PIL import Image

from ssl_core.images import ImageError, decode_image
from tests.conftest import image_bytes


def test_valid_png_decodes_to_rgb(png_bytes):
    image = decode_image(png_bytes)
    assert image.mode == "RGB" and image.size == (20, 16)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"hello, I am a text file renamed .jpg", "not an image"),
    (b"PK\x03\x04 definitely not a picture", "not an image"),
])
def test_non_images_are_refused_with_reason(data, reason):
    with pytest.raises(ImageError, match=reason):
        decode_image(data)


def test_truncated_jpeg_is_refused():
    data = image_bytes(fmt="JPEG", size=(64, 64))
    with pytest.raises(ImageError, match="truncated|broken"):
        decode_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_not_warned():
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 Mpx > Pillow's 89 Mpx limit, tiny file
    with pytest.raises(ImageError, match="too large"):
        decode_image(out.getvalue())


def test_pixel_limit_is_configurable(png_bytes):
    with pytest.raises(ImageError, match="too large"):
        decode_image(png_bytes, max_pixels=100)


def test_rgba_is_composited_on_white():
    data = image_bytes("RGBA", color=(255, 0, 0, 0))  # fully transparent red
    assert np.asarray(decode_image(data)).min() == 255


def test_palette_with_transparency_is_composited():
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0] * 256)
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)
    assert np.asarray(decode_image(out.getvalue())).min() == 255


def test_cmyk_converts_to_rgb():
    assert decode_image(image_bytes("CMYK", fmt="JPEG")).mode == "RGB"


def test_16_bit_images_are_scaled_not_clipped():
    array = np.array([[0, 1000, 30000, 65535]], dtype=np.uint16)
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    values = np.asarray(decode_image(out.getvalue()))[0, :, 0]
    assert values.tolist() == [0, 4, 117, 255]  # clipping would give [0, 255, 255, 255]


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (30, 10), (0, 0, 255))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    assert decode_image(out.getvalue()).size == (10, 30)


def test_gif_uses_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    red, green, _ = np.asarray(decode_image(out.getvalue()))[0, 0]
    assert red > 200 and green < 50
