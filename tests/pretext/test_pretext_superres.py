import torch

from ssl_core.data.augment import normalise
from ssl_core.engine.models import small_cnn
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.pretext import make_task
from ssl_core.pretext.superres import SuperResolutionSettings


def test_the_input_is_the_image_shrunk_and_enlarged_and_the_target_keeps_the_truth():
    task = make_task("superres", SuperResolutionSettings(factor=2))
    images = normalise(torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)))
    inputs, targets = task.make_batch(images, torch.Generator())
    assert inputs.shape == images.shape and torch.equal(targets[:, :3], images)
    assert (inputs - images).abs().mean() > 0.1  # the fine detail is gone
    flat = torch.full((1, 1, 16, 16), 0.5)
    assert torch.allclose(task.make_batch(flat, torch.Generator())[0], flat)  # nothing to lose, nothing lost


def test_a_larger_factor_loses_more_detail():
    images = normalise(torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)))
    lost = {f: (make_task("superres", SuperResolutionSettings(factor=f)).make_batch(images, torch.Generator())[0]
                - images).square().mean() for f in (2, 4)}
    assert lost[4] > lost[2]


def test_the_baseline_is_the_blurry_image_and_the_true_detail_is_perfect():
    task = make_task("superres")
    images = normalise(torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8))
    inputs, targets = task.make_batch(images, torch.Generator())
    truth, blurry = targets.chunk(2, 1)
    assert task.loss(truth - blurry, targets) == 0
    trivial, _, _ = task.reconstruct(task.trivial_output(targets), targets)
    assert torch.allclose(trivial, task.reconstruct(blurry - blurry, targets)[0])
    assert torch.allclose(task.reconstruct(truth - blurry, targets)[0], task.reconstruct(truth - blurry, targets)[1],
                          atol=1e-5)
    perfect = task.score(truth - blurry, targets)
    baseline = task.score(task.trivial_output(targets), targets)
    assert (perfect > baseline).all()


def test_super_resolution_beats_the_blurry_enlargement_on_sharp_edges():
    """Vertical or horizontal edges at random places: the detail lost is learnable."""
    g = torch.Generator().manual_seed(0)
    n, size = 320, 16
    where = torch.randint(3, size - 3, (n,), generator=g)
    span = torch.arange(size)
    edge = (span[None, :] >= where[:, None]).float()  # (n, size)
    vertical = torch.rand(n, generator=g) < 0.5
    images = torch.where(vertical[:, None, None], edge[:, None, :].expand(n, size, size),
                         edge[:, :, None].expand(n, size, size))
    images = (images[:, None] * 255).to(torch.uint8)
    result = pretrain(PretrainConfig(task="superres", epochs=20, image_size=16, batch_size=32),
                      images[:256], images[256:], allow_flip=False)
    assert result.evaluation.baseline_label == "the blurry enlargement"
    assert result.evaluation.value > result.evaluation.baseline + 1


def test_showcase_and_gallery_show_input_network_truth():
    task = make_task("superres", SuperResolutionSettings(factor=4))
    model = task.build_model(small_cnn(1))
    images = torch.randint(0, 256, (2, 1, 16, 16), dtype=torch.uint8)
    assert [s.caption for s in task.showcase(model, images)] == ["input", "network", "truth"] * 2
    samples = task.preview(images, torch.Generator().manual_seed(0))
    assert [s.caption for s in samples] == ["input: shrunk ×4, enlarged", "target: the sharp image"] * 2


def test_a_network_that_paints_the_true_detail_wins_the_guessing_game():
    task = make_task("superres")
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    quiz = task.quiz(images, torch.Generator().manual_seed(1))
    assert all(len(q.choices) == 4 for q in quiz.questions)
    truth, blurry = quiz.targets.chunk(2, 1)
    assert task.choose(truth - blurry, quiz).tolist() == [q.answer for q in quiz.questions]
    single = task.quiz(images[:1], torch.Generator().manual_seed(1))
    assert len(single.questions[0].choices) == 3  # no other image to borrow detail from
