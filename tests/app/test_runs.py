"""The work a page hands to a job: checks with a message before anything trains, and what may transfer where."""
from dataclasses import replace

import pytest
import torch

from ssl_core.app.runs import (TALK_SETUP, check_downstream_data, check_pretext_data, continuable, trained_as,
                               transfer_problem)
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import SplitConfig, make_split
from ssl_core.engine.pretrain import PretrainConfig
from tests.conftest import digits_setup  # noqa: F401 (a fixture)


def grey(n: int, classes: int = 2) -> ImageDataset:
    images = torch.zeros(n, 1, 8, 8, dtype=torch.uint8)
    return ImageDataset("tiny", images, torch.arange(n) % classes, tuple(f"c{i}" for i in range(classes)))


def test_too_few_images_or_a_colour_task_on_grey_images_is_a_message():
    one = grey(1)
    with pytest.raises(ValueError, match="at least 2 training images"):
        check_pretext_data(one, make_split(one.labels, SplitConfig(test_fraction=0.5)), PretrainConfig())
    many = grey(20)
    with pytest.raises(ValueError, match="Colorization needs colour images"):
        check_pretext_data(many, make_split(many.labels, SplitConfig()), PretrainConfig(task="colorization"))


def test_the_comparison_needs_two_labeled_classes_and_a_test_set():
    single = grey(20, classes=1)
    with pytest.raises(ValueError, match="at least two classes"):
        check_downstream_data(single, make_split(single.labels, SplitConfig()))
    two = grey(20)
    check_downstream_data(two, make_split(two.labels, SplitConfig()))


def test_a_model_transfers_only_to_its_own_dataset_and_continues_only_the_same_task(digits_setup):
    digits, _, pretrained = digits_setup
    pretrained.dataset = digits.name
    assert transfer_problem(pretrained, digits) == ""
    assert "trained on 'digits', but the current dataset is 'tiny'" in transfer_problem(pretrained, grey(4))
    assert continuable(pretrained, digits, pretrained.config)
    assert not continuable(pretrained, digits, replace(pretrained.config, task="jigsaw"))
    assert not continuable(pretrained, digits, replace(pretrained.config, seed=pretrained.config.seed + 1))
    assert not continuable(None, digits, pretrained.config)
    assert trained_as(pretrained, pretrained.config)  # presenter mode: this run is the result of these settings
    assert not trained_as(pretrained, replace(pretrained.config, epochs=pretrained.config.epochs + 1))
    other_angles = type(pretrained.task.settings)(angles=(0, 180))
    assert not trained_as(pretrained, replace(pretrained.config, settings=other_angles))


def test_the_talk_preset_is_one_setup_the_forms_and_links_can_hold():
    assert TALK_SETUP.dataset == "builtin:mnist-10k" and TALK_SETUP.split.labels_per_class == 1
    assert TALK_SETUP.downstream.transfer == "linear" and TALK_SETUP.pretext.task == "rotation"
