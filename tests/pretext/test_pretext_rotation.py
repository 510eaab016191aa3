import pytest
import torch

from ssl_core.pretext import RotationTask, make_task
from ssl_core.pretext.rotation import RotationSettings


def images(n=3, c=3, s=12):
    return torch.arange(n * c * s * s, dtype=torch.float32).reshape(n, c, s, s)


@pytest.mark.parametrize("angles", [(0, 90, 180, 270), (90, 180), (0, 180)])
def test_rotating_back_by_the_label_restores_the_image_exactly(angles):
    task = RotationTask(RotationSettings(angles))
    x = images()
    inputs, targets = task.make_batch(x, torch.Generator())
    assert inputs.shape == (len(angles) * 3, 3, 12, 12)
    for sample, label, original in zip(inputs, targets, x.repeat(len(angles), 1, 1, 1)):
        back = torch.rot90(sample, -task.angles[int(label)] // 90, dims=(-2, -1))
        assert torch.equal(back, original)


def test_all_rotations_of_an_image_are_in_the_same_batch():
    task = RotationTask()
    _, targets = task.make_batch(images(5), torch.Generator())
    assert torch.bincount(targets).tolist() == [5, 5, 5, 5]


def test_bad_angles_are_refused():
    with pytest.raises(ValueError, match="one of"):
        RotationSettings((0, 45))
    with pytest.raises(ValueError, match="at least two"):
        RotationSettings((90,))




def test_settings_are_normalised_and_subsets_train_fewer_classes():
    assert RotationSettings((270, 90, 450)).angles == (90, 270)
    task = make_task("rotation", RotationSettings((90, 180)))
    assert task.num_classes == 2 and task.views_per_image == 2 and task.label_name(1) == "180°"


def test_explain_names_the_rotation_the_model_believes():
    from ssl_core.engine.models import small_cnn

    task = RotationTask()
    model = task.build_model(small_cnn(1))
    text = task.explain(model, torch.randn(1, 1, 16, 16))
    assert text.startswith("Pretext model: rotated by **") and "% sure" in text


def test_a_network_that_knows_the_rotation_wins_the_guessing_game():
    task = make_task("rotation")
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    quiz = task.quiz(images, torch.Generator().manual_seed(1))
    outputs = torch.nn.functional.one_hot(quiz.targets, 4).float()
    assert task.choose(outputs, quiz).tolist() == [q.answer for q in quiz.questions]
