import pytest
import torch

from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.pretext import context as context_module
from ssl_core.pretext import make_task
from ssl_core.pretext.context import NAMES, NEIGHBOURS, ContextSettings


def cell_coded_images(n: int, size: int = 30) -> torch.Tensor:
    """Each 3x3 grid cell filled with its own number, so a tile tells which cell it came from."""
    cell = size // 3
    rows = torch.arange(size) // cell
    codes = (rows[:, None] * 3 + rows[None, :]).float()
    return codes.expand(n, 1, size, size).clone()


def test_the_pair_is_the_centre_and_the_neighbour_named_by_the_label(monkeypatch):
    monkeypatch.setattr(context_module, "normalise_tiles", lambda tiles: tiles)  # keep the cell codes readable
    task = make_task("context", ContextSettings(gap=0.3, grey_fraction=0.0))
    inputs, labels = task.make_batch(cell_coded_images(64), torch.Generator().manual_seed(0))
    assert inputs.shape == (64, 2, 1, 7, 7) and set(labels.tolist()) == set(range(8))
    centre = inputs[:, 0].flatten(1)
    neighbour = inputs[:, 1].flatten(1)
    assert (centre == 4).all()  # whole tile inside the centre cell despite the jitter
    expected = torch.tensor(NEIGHBOURS)[labels].float()
    assert torch.equal(neighbour, expected[:, None].expand_as(neighbour))


def test_patches_are_normalised_one_by_one():
    task = make_task("context")
    inputs, _ = task.make_batch(torch.rand(8, 3, 30, 30), torch.Generator().manual_seed(1))
    assert inputs.mean(dim=(2, 3, 4)).abs().max() < 1e-4


def test_gallery_puts_the_neighbour_where_the_label_says():
    task = make_task("context")
    samples = task.preview(torch.randint(0, 256, (2, 3, 30, 30), dtype=torch.uint8), torch.Generator())
    assert [s.caption for s in samples][0] == "original"
    assert any(samples[1].caption.endswith(name) for name in NAMES)


def test_context_prediction_learns_above_chance_on_digits(digits_setup):
    dataset, split, _ = digits_setup
    result = pretrain(PretrainConfig(task="context", epochs=6, image_size=24, batch_size=32),
                      dataset.images[split.pool], dataset.images[split.test], allow_flip=False)
    assert result.evaluation.baseline == pytest.approx(1 / 8)
    assert result.evaluation.value > 0.3  # chance 12.5%


def test_a_network_that_knows_where_the_patch_sits_wins_the_guessing_game():
    task = make_task("context")
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    quiz = task.quiz(images, torch.Generator().manual_seed(1))
    outputs = torch.nn.functional.one_hot(quiz.targets, 8).float()
    assert task.choose(outputs, quiz).tolist() == [q.answer for q in quiz.questions]
