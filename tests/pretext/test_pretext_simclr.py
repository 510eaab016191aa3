import pytest
import torch

from ssl_core.data.augment import normalise
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.pretext import make_task
from ssl_core.pretext.contrastive import SimCLRSettings, random_views


def test_two_views_of_each_image_share_an_id_and_differ():
    task = make_task("simclr")
    images = normalise(torch.randint(0, 256, (5, 3, 24, 24), dtype=torch.uint8))
    views, ids = task.make_batch(images, torch.Generator().manual_seed(0))
    assert views.shape == (10, 3, 24, 24) and ids.tolist() == [0, 1, 2, 3, 4] * 2
    assert not torch.allclose(views[:5], views[5:])
    assert torch.equal(task.partners(ids), torch.tensor([5, 6, 7, 8, 9, 0, 1, 2, 3, 4]))


def test_a_full_crop_with_no_jitter_is_the_image():
    settings = SimCLRSettings(crop_scale=1.0, jitter=0.0, grey_probability=0.0)
    ramp = torch.linspace(0, 120, 16)
    smooth = (ramp[:, None] + ramp[None, :]).round().to(torch.uint8).expand(3, 3, 16, 16)
    images = normalise(smooth)
    view = random_views(images, settings, torch.Generator().manual_seed(0))
    # the aspect ratio still varies (3:4 to 4:3), so the centre of a smooth image stays within a few levels
    assert (view[..., 6:10, 6:10] - images[..., 6:10, 6:10]).abs().max() < 20 / 255 / 0.25


def test_loss_and_score_reward_finding_the_partner():
    task = make_task("simclr", SimCLRSettings(temperature=0.1))
    ids = torch.arange(4).repeat(2)
    matched = torch.eye(4).repeat(2, 1)  # each view identical to its partner, orthogonal to the rest
    shuffled = torch.eye(8)[:, :4].roll(1, 0) + torch.eye(8)[:, 4:]
    assert task.score(matched, ids).tolist() == [1.0] * 8
    assert task.loss(matched, ids) < task.loss(torch.randn(8, 4, generator=torch.Generator().manual_seed(0)), ids)
    assert task.score(shuffled, ids).sum() < 8


def test_one_image_is_refused():
    with pytest.raises(ValueError, match="at least two images"):
        make_task("simclr").make_batch(torch.zeros(1, 3, 8, 8), torch.Generator())


def test_simclr_learns_to_find_partners_above_chance(digits_setup):
    dataset, split, _ = digits_setup
    result = pretrain(PretrainConfig(task="simclr", epochs=4, image_size=16, batch_size=64),
                      dataset.images[split.pool], dataset.images[split.test], allow_flip=False)
    score = result.evaluation
    assert score.metric.label == "partners found" and score.baseline < 0.01
    assert score.value > 10 * score.baseline


def test_the_gallery_shows_pairs_and_which_pairs_are_negatives():
    task = make_task("simclr")
    samples = task.preview(torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8), torch.Generator())
    assert [s.caption for s in samples[:2]] == ["image 1: view 1", "image 1: view 2"]
    matrix = samples[-1]
    assert "positive" in matrix.caption and matrix.image.shape[:2] == (6 * 12, 6 * 12)


def test_a_held_out_set_that_leaves_one_image_over_is_still_scored():
    from ssl_core.engine.pretrain import pretext_batches

    batches = list(pretext_batches(make_task("simclr"), torch.zeros(129, 1, 8, 8, dtype=torch.uint8), seed=0))
    assert [len(targets) // 2 for _, targets in batches] == [129]
    batches = list(pretext_batches(make_task("simclr"), torch.zeros(257, 1, 8, 8, dtype=torch.uint8), seed=0))
    assert [len(targets) // 2 for _, targets in batches] == [128, 129]


def test_a_network_that_matches_the_views_wins_the_guessing_game():
    task = make_task("simclr")
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    quiz = task.quiz(images, torch.Generator().manual_seed(1))
    outputs = torch.cat([torch.eye(8), torch.eye(8)])  # each image's two views alike
    assert task.choose(outputs, quiz).tolist() == [q.answer for q in quiz.questions]
