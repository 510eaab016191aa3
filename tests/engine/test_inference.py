import io

import pytest
import torch
from PIL import Image, ImageDraw

from ssl_core.data.images import ImageError
from ssl_core.engine.inference import domain_note, predict, prepare_photo
from ssl_core.engine.models import Classifier, small_cnn
from tests.conftest import image_bytes


def test_photo_is_cropped_and_resized_as_the_model_sees_it():
    photo = prepare_photo(image_bytes(size=(60, 30)), 16, 3)
    assert photo.tensor.shape == (1, 3, 16, 16) and photo.tensor.dtype == torch.uint8
    assert photo.view.shape == (16, 16, 3)


def test_digit_photos_are_grey_and_inverted_to_light_ink():
    image = Image.new("L", (40, 40), 250)
    image.paste(10, (15, 5, 25, 35))  # dark stroke on white paper
    out = io.BytesIO()
    image.save(out, "PNG")
    photo = prepare_photo(out.getvalue(), 8, 1, digit_like=True)
    grey = photo.tensor[0, 0]
    assert photo.tensor.shape == (1, 1, 8, 8)
    assert grey[4, 4] > 200 and grey[0, 0] < 20  # stroke bright, paper dark, like the training digits


def test_bad_photo_raises_image_error():
    with pytest.raises(ImageError):
        prepare_photo(b"not an image", 16, 3)


def test_predict_gives_probabilities():
    model = Classifier(small_cnn(3), 5)
    probs = predict(model, prepare_photo(image_bytes(), 16, 3).tensor)
    assert probs.shape == (1, 5) and torch.allclose(probs.sum(), torch.tensor(1.0))
    assert model.training  # mode restored


def test_a_colour_photo_on_a_digits_model_is_flagged_and_a_digit_is_not():
    photo = prepare_photo(image_bytes(size=(64, 64)), 28, 1, digit_like=True)  # random colour noise
    assert photo.colourful
    assert domain_note("handwritten digits (0-9)", 10, photo).startswith("This model only knows handwritten digits")
    ink = Image.new("L", (64, 64), 255)  # dark ink on white paper, as people photograph digits
    ImageDraw.Draw(ink).line([(32, 8), (32, 56)], fill=0, width=6)
    out = io.BytesIO()
    ink.save(out, "PNG")
    digit = prepare_photo(out.getvalue(), 28, 1, digit_like=True)
    assert not digit.colourful and digit.ink_on_plain
    assert domain_note("handwritten digits (0-9)", 10, digit) == ""
    assert domain_note("", 5, photo) == ""  # a user's own classes: no domain to compare with
