import pytest
import torch

from ssl_core.data.augment import normalise
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.pretext import make_task
from ssl_core.pretext.colorization import lab_to_rgb, rgb_to_lab


def test_lab_round_trip_and_known_colours():
    rgb = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-4)
    red = rgb_to_lab(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)).flatten()
    assert torch.allclose(red, torch.tensor([53.24, 80.09, 67.20]), atol=0.05)
    grey = rgb_to_lab(torch.full((1, 3, 1, 1), 0.5)).flatten()
    assert grey[1:].abs().max() < 1e-3


def test_the_network_sees_only_lightness_and_the_targets_rebuild_the_image():
    task = make_task("colorization")
    images = torch.randint(0, 256, (5, 3, 16, 16), dtype=torch.uint8)
    inputs, targets = task.make_batch(normalise(images), torch.Generator())
    assert torch.equal(inputs[:, 0], inputs[:, 1]) and torch.equal(inputs[:, 1], inputs[:, 2])
    painted, truth, region = task.reconstruct(targets[:, 1:3], targets)  # the true colours as the output
    assert region is None and torch.allclose(truth, images.float() / 255, atol=2e-3)
    assert torch.allclose(painted, truth, atol=1e-4)
    assert task.score(targets[:, 1:3], targets).min() > 40  # dB: exact up to rounding
    assert task.score(task.trivial_output(targets), targets).max() < 40


def test_grey_images_are_refused_with_the_reason():
    task = make_task("colorization")
    with pytest.raises(ValueError, match="needs colour images"):
        task.make_batch(torch.zeros(2, 1, 8, 8), torch.Generator())


def tinted_images(n: int, size: int = 16, seed: int = 0) -> torch.Tensor:
    """Colour that follows from shape: bright stripes are orange, the background is blue."""
    g = torch.Generator().manual_seed(seed)
    phase = torch.randint(0, 4, (n, 1, 1, 1), generator=g)
    stripes = ((torch.arange(size)[None, None, :, None] + phase) // 2 % 2).float()
    orange, blue = torch.tensor([230.0, 140, 40]), torch.tensor([40.0, 60, 160])
    picture = stripes * orange[None, :, None, None] + (1 - stripes) * blue[None, :, None, None]
    return picture.expand(n, 3, size, size).round().to(torch.uint8)


def test_colorization_learns_colours_that_follow_from_shape():
    result = pretrain(PretrainConfig(task="colorization", epochs=8, image_size=16, batch_size=32),
                      tinted_images(256), tinted_images(32, seed=1), allow_flip=False)
    score = result.evaluation
    assert score.metric.key == "psnr" and score.baseline_label == "one mean colour everywhere"
    assert score.value > score.baseline + 3  # dB better than painting one mean colour


def test_showcase_paints_input_network_and_truth():
    task = make_task("colorization")
    model = task.build_model(__import__("ssl_core.engine.models", fromlist=["small_cnn"]).small_cnn(3))
    samples = task.showcase(model, tinted_images(2))
    assert [s.caption for s in samples] == ["input", "network", "truth"] * 2


def test_a_network_that_paints_the_true_colours_wins_the_guessing_game():
    task = make_task("colorization")
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    quiz = task.quiz(images, torch.Generator().manual_seed(1))
    outputs = quiz.targets[:, 1:3]
    assert task.choose(outputs, quiz).tolist() == [q.answer for q in quiz.questions]
