"""The shared augmentation: resizing once, normalising, a shifted crop, a flip, all seeded."""
import pytest
import torch

from ssl_core.data.augment import MEAN, STD, augment, normalise, random_crop, random_flip, resize_all


def test_resizing_keeps_uint8_and_is_skipped_at_the_same_size():
    images = torch.randint(0, 256, (5, 3, 20, 20), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert resize_all(images, 20) is images
    small = resize_all(images, 8, chunk=2)  # in chunks, as a large dataset is
    assert small.shape == (5, 3, 8, 8) and small.dtype == torch.uint8
    flat = torch.full((2, 1, 16, 16), 77, dtype=torch.uint8)
    assert torch.equal(resize_all(flat, 4), torch.full((2, 1, 4, 4), 77, dtype=torch.uint8))


def test_normalising_maps_mid_grey_near_zero():
    grey = torch.full((1, 1, 2, 2), round(MEAN * 255), dtype=torch.uint8)
    assert normalise(grey).abs().max() < 1 / (255 * STD)
    assert normalise(torch.full((1, 1, 1, 1), 255, dtype=torch.uint8)).item() == pytest.approx((1 - MEAN) / STD)


def test_a_crop_shifts_each_image_by_at_most_pad_pixels():
    x = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8).repeat(6, 1, 1, 1)
    out = random_crop(x, 2, torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    for image in out:
        top_left = image[0, 0, 0].item()  # edge-replicated: the top-left pixel comes from a 3x3 corner block
        assert top_left in {x[0, 0, r, c].item() for r in range(3) for c in range(3)}
    assert torch.equal(random_crop(x, 0, torch.Generator()), x)


def test_a_flip_mirrors_some_images_and_leaves_the_others():
    x = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4).repeat(32, 1, 1, 1)
    out = random_flip(x, torch.Generator().manual_seed(0))
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert (mirrored | kept).all() and mirrored.any() and kept.any()


def test_augment_is_reproducible_from_its_generator_and_flips_only_where_allowed():
    images = torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    a = augment(images, torch.Generator().manual_seed(5), flip=True)
    b = augment(images, torch.Generator().manual_seed(5), flip=True)
    assert torch.equal(a, b) and a.dtype == torch.float32
    no_pad = augment(images, torch.Generator().manual_seed(5), flip=False, pad_fraction=0)
    assert torch.equal(no_pad, normalise(images))
