import io

import numpy as np
import pytest
from PIL import Image

from ssl_core.data.images import ImageError, decode_image
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


def test_a_huge_header_on_a_tiny_file_is_refused_before_decoding():
    """A PNG whose header claims 100,000 x 100,000 pixels, with no pixel data behind it."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
    data = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 10)) + chunk(b"IEND", b"")
    with pytest.raises(ImageError, match="too large"):
        decode_image(data)


def test_a_file_over_the_size_limit_is_refused_unread():
    from ssl_core.data.images import MAX_FILE_BYTES

    with pytest.raises(ImageError, match="file too large"):
        decode_image(b"\xff\xd8" + b"\0" * MAX_FILE_BYTES)


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "PNG16"])
def test_a_large_photo_is_decoded_reduced_not_at_full_size(kind):
    """What the models see is at most 128 px: a 48-megapixel picture comes back at most 2,048 px on its
    long side (JPEG decoded at a fraction of its size, other formats shrunk right after loading), with its
    proportions and colour."""
    from ssl_core.data.images import DECODE_SIDE

    image = Image.new("I;16" if kind == "PNG16" else "RGB", (8000, 6000), 40000 if kind == "PNG16" else (200, 30, 60))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG" if kind == "JPEG" else "PNG")
    decoded = decode_image(buffer.getvalue())
    assert DECODE_SIDE <= max(decoded.size) <= 2 * DECODE_SIDE and decoded.mode == "RGB"
    assert abs(decoded.size[0] / decoded.size[1] - 8000 / 6000) < 0.01
    expected = (155, 155, 155) if kind == "PNG16" else (200, 30, 60)
    assert np.abs(np.asarray(decoded).astype(int) - expected).max() <= 3


@pytest.mark.parametrize("size", [(1, 1), (10_000, 10), (10, 10_000)])
def test_extreme_shapes_become_the_training_square(size):
    from ssl_core.data.images import square_resize

    image = square_resize(decode_image(image_bytes(size=size)), 32)
    assert image.size == (32, 32) and image.mode == "RGB"


def test_a_palette_image_without_transparency_keeps_its_colours():
    image = Image.new("P", (4, 4))
    image.putpalette([255, 0, 0] * 256)
    out = io.BytesIO()
    image.save(out, "PNG")
    assert decode_image(out.getvalue()).getpixel((0, 0)) == (255, 0, 0)


@pytest.mark.parametrize("data", [
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,  # an iPhone HEIC's first bytes
])
def test_svg_and_heic_are_named_as_unreadable_formats(data):
    with pytest.raises(ImageError, match="unrecognised format"):
        decode_image(data)


def test_a_multi_page_tiff_gives_its_first_page():
    pages = [Image.new("RGB", (8, 8), colour) for colour in ((0, 0, 255), (255, 0, 0))]
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:])
    assert decode_image(out.getvalue()).getpixel((0, 0)) == (0, 0, 255)
