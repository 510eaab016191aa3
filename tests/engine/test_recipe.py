from dataclasses import replace

import pytest
import torch

from ssl_core.data.datasets import ImageDataset, load_digits, load_mnist_10k
from ssl_core.engine.recipe import calibrate, recommend


def photos(n: int, size: int, classes: int = 2) -> ImageDataset:
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(n) % classes
    return ImageDataset("photos", images, labels, tuple(f"c{k}" for k in range(classes)))


@pytest.mark.parametrize("stored", [16, 32, 64])
def test_photos_are_never_trained_at_16_px(stored):
    recipe = recommend(photos(200, stored), "cpu")
    assert recipe.pretext.image_size >= 32
    assert any("32 px" in reason for reason in recipe.reasons)


def test_digits_train_at_their_own_size_with_few_labels():
    recipe = recommend(load_mnist_10k(), "cpu")
    assert recipe.pretext.image_size == 28 and recipe.pretext.backbone == "small_cnn"
    assert recipe.labels_per_class == 2 and recipe.downstream.block == 3
    assert recommend(load_digits(), "cpu").pretext.image_size == 16  # 8 px digits are upscaled


def test_a_tiny_dataset_gets_batches_no_larger_than_itself():
    tiny = photos(10, 64)
    recipe = recommend(tiny, "cpu", n_pool=8, n_test=2)
    assert recipe.pretext.batch_size <= 8
    assert recipe.downstream.batch_size <= recipe.labels_per_class * tiny.num_classes
    assert recipe.labels_per_class * tiny.num_classes <= 8


@pytest.mark.parametrize("budget", [20, 60])
def test_the_prediction_respects_the_time_budget(budget):
    recipe = recommend(load_digits(), "cpu", time_budget_s=budget)
    assert recipe.seconds <= budget
    assert recipe.pretext_seconds > 0 and recipe.comparison_seconds > 0


def test_a_larger_budget_buys_more_epochs():
    short = recommend(load_mnist_10k(), "cpu", time_budget_s=40)
    longer = recommend(load_mnist_10k(), "cpu", time_budget_s=200)
    assert longer.pretext.epochs > short.pretext.epochs >= 1
    assert longer.seconds <= 200


def test_calibration_is_measured_once_and_leaves_the_random_state_alone():
    config = recommend(load_digits(), "cpu").pretext
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    speed = calibrate(config, 1, 10, 16)
    assert torch.equal(torch.rand(3), expected)
    assert speed.pretext_step > 0 and speed.downstream_step > 0 and speed.eval_image > 0
    assert calibrate(config, 1, 10, 16) is speed  # cached: a page rerun does not retime


def test_the_calibration_times_the_precision_training_will_use(monkeypatch):
    from ssl_core.engine import precision
    from ssl_core.engine.precision import Precision

    monkeypatch.setattr(precision, "_chosen", {})
    monkeypatch.setattr(precision, "time_variants", lambda *a, **k: {Precision.FP32: 1.0,
                                                                       Precision.CHANNELS_LAST: 0.5})
    config = recommend(load_digits(), "cpu").pretext
    speed = calibrate(replace(config, batch_size=8), 1, 10, 8)  # a shape not calibrated before in this process
    assert speed.precision is Precision.CHANNELS_LAST and speed.fp32_step == 1.0
    forced = calibrate(replace(config, batch_size=8, precision="fp32"), 1, 10, 8)
    assert forced.precision is Precision.FP32


def test_a_precision_named_on_the_command_line_is_the_one_the_epochs_are_timed_in():
    """`--precision fp32` with `--recipe auto`: the recipe times fp32 steps and says so, instead of fitting
    epochs to a faster variant's speed that training then does not use."""
    recipe = recommend(load_digits(), "cpu", precision="fp32")
    assert recipe.pretext.precision == "fp32"
    assert "fp32 training steps: as asked" in recipe.reasons and not any("bf16" in r for r in recipe.reasons)


def test_digits_on_a_cpu_fit_the_shorter_budget_and_say_how_steps_run():
    from ssl_core.engine.recipe import GREY_CPU_BUDGET_S

    recipe = recommend(load_mnist_10k(), "cpu")
    assert recipe.seconds <= GREY_CPU_BUDGET_S
    assert any("training steps" in reason for reason in recipe.reasons)


def test_the_recipe_names_its_pretext_task_and_the_sweep_behind_it_for_photos():
    recipe = recommend(photos(200, 64), "cpu")
    assert recipe.pretext.task == "rotation" and recipe.reasons[0].startswith("rotation: on photos")
    assert recommend(load_mnist_10k(), "cpu").reasons[0].startswith("rotation: the task that shows the promise")
