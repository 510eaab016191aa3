from dataclasses import replace

import pytest

from ssl_core.app.settings import DownstreamSettings, Settings
from ssl_core.engine.downstream import DownstreamConfig, Transfer
from ssl_core.engine.pretrain import PretrainConfig
from ssl_core.engine.recipe import Recipe
from ssl_core.pretext import TASKS


def test_switching_tasks_and_back_keeps_each_tasks_settings():
    start = Settings("builtin:mnist-10k")
    assert start.pretext.settings == TASKS["rotation"].Settings()  # spelled out, never None
    jigsaw = start.with_task("jigsaw", TASKS["jigsaw"].Settings(grid=3))
    rotation = jigsaw.with_task("rotation", TASKS["rotation"].Settings(angles=(90, 180)))
    back = rotation.with_task("jigsaw")
    assert back.pretext.task == "jigsaw" and back.pretext.settings.grid == 3
    assert back.with_task("rotation").pretext.settings.angles == (90, 180)
    assert back.settings_of("inpainting") == TASKS["inpainting"].Settings()  # never chosen: its defaults


def test_equal_choices_compare_equal_whether_the_task_settings_were_spelled_out():
    assert Settings(None, PretrainConfig(task="jigsaw")) == Settings(
        None, PretrainConfig(task="jigsaw", settings=TASKS["jigsaw"].Settings()))


def test_a_recommendation_keeps_the_task_and_takes_the_training_budget_and_comparison():
    chosen = Settings("builtin:mnist-10k").with_task("jigsaw", TASKS["jigsaw"].Settings(grid=3))
    chosen = replace(chosen, downstream=DownstreamSettings(Transfer.ALL, seeds=3))
    recipe = Recipe(PretrainConfig(image_size=32, epochs=12, lr=1e-3),
                    DownstreamConfig(epochs=25, block=2, batch_size=8), 5, 1.0, 1.0, ())
    new = chosen.recommended("tv:cifar10", recipe)
    assert new.dataset == "tv:cifar10" and new.pretext.task == "jigsaw" and new.pretext.settings.grid == 3
    assert (new.pretext.image_size, new.pretext.epochs, new.pretext.lr) == (32, 12, 1e-3)
    assert new.split.labels_per_class == 5
    assert new.downstream == DownstreamSettings(Transfer.BOTH, block=2, epochs=25, batch_size=8)  # seeds back to 1
    assert new.downstream.config().batch_size == 8 and new.downstream.modes == ("linear", "finetune", "scratch")


def test_a_transfer_read_from_a_widget_or_a_link_becomes_the_enum():
    assert DownstreamSettings("joint").transfer is Transfer.JOINT
    with pytest.raises(ValueError):
        DownstreamSettings("magic")
