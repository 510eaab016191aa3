import torch

from ssl_core.data.augment import normalise
from ssl_core.engine.models import small_cnn
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.pretext import make_task
from ssl_core.pretext.inpainting import InpaintingSettings


def test_the_centre_hole_is_blanked_and_the_rest_is_kept():
    task = make_task("inpainting", InpaintingSettings(mask="centre", hole=0.5))
    images = normalise(torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8))
    inputs, targets = task.make_batch(images, torch.Generator())
    mask = targets[:, -1:]
    assert mask[0, 0].sum() == 8 * 8 and mask[0, 0, 4:12, 4:12].all()
    assert (inputs * mask).abs().max() == 0  # mid-grey inside the hole
    assert torch.equal(inputs * (1 - mask), images * (1 - mask))
    assert torch.equal(targets[:, :-1], images)


def test_random_blocks_differ_between_images():
    task = make_task("inpainting", InpaintingSettings(mask="blocks", hole=0.5))
    _, targets = task.make_batch(torch.zeros(8, 1, 32, 32), torch.Generator().manual_seed(0))
    masks = targets[:, -1]
    assert (masks.flatten(1).sum(1) >= 8 * 8).all()
    assert len({tuple(m.flatten().tolist()) for m in masks}) > 1


def test_only_the_hole_counts():
    task = make_task("inpainting")
    images = normalise(torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8))
    _, targets = task.make_batch(images, torch.Generator())
    mask = targets[:, -1:]
    perfect = targets[:, :-1].clone()
    assert task.loss(perfect, targets) == 0
    wrong_outside = perfect + (1 - mask) * 5
    assert task.loss(wrong_outside, targets) == 0
    painted, truth, region = task.reconstruct(wrong_outside, targets)
    assert torch.equal(painted, truth)  # outside the hole the output is the visible image


def test_inpainting_beats_the_mean_colour_on_smooth_images():
    ramp = torch.linspace(0, 255, 16)
    g = torch.Generator().manual_seed(0)
    flip = torch.rand(300, generator=g) < 0.5
    images = torch.where(flip[:, None, None, None], ramp[None, None, :, None], ramp[None, None, None, :])
    images = images.expand(300, 1, 16, 16).round().to(torch.uint8)
    result = pretrain(PretrainConfig(task="inpainting", epochs=8, image_size=16, batch_size=32),
                      images[:256], images[256:], allow_flip=False)
    assert result.evaluation.value > result.evaluation.baseline + 3


def test_showcase_shows_the_hole_filled_by_the_network():
    task = make_task("inpainting")
    model = task.build_model(small_cnn(1))
    samples = task.showcase(model, torch.randint(0, 256, (2, 1, 16, 16), dtype=torch.uint8))
    assert [s.caption for s in samples] == ["input", "network", "truth"] * 2


def test_a_network_that_paints_the_hidden_pixels_wins_the_guessing_game():
    task = make_task("inpainting")
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    quiz = task.quiz(images, torch.Generator().manual_seed(1))
    outputs = quiz.targets[:, :-1]
    assert task.choose(outputs, quiz).tolist() == [q.answer for q in quiz.questions]
