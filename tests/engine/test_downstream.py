import pytest
import torch

from ssl_core.app.runs import check_downstream_data
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import SplitConfig, make_split
from ssl_core.engine.downstream import DownstreamConfig, train_downstream
from ssl_core.engine.train import Callbacks
from tests.conftest import digits_setup as setup  # noqa: F401 (a fixture)


def run(mode, setup, **config):
    digits, split, pretrained = setup
    return train_downstream(mode, pretrained, digits.images[split.labeled], digits.labels[split.labeled],
                            digits.images[split.test], digits.labels[split.test], 10,
                            DownstreamConfig(**{"epochs": 15, **config}), allow_flip=False)


def test_linear_probe_learns_and_leaves_the_pretrained_backbone_untouched(setup):
    before = [p.clone() for p in setup[2].backbone.parameters()]
    result = run("linear", setup, block=3)
    assert result.evaluation.accuracy > 0.5  # 10 classes: chance is 0.1
    assert all(torch.equal(a, b) for a, b in zip(before, setup[2].backbone.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(before, result.model.backbone.parameters()))


def test_finetune_changes_a_copy_of_the_backbone(setup):
    before = [p.clone() for p in setup[2].backbone.parameters()]
    result = run("finetune", setup)
    assert result.evaluation.accuracy > 0.5
    assert all(torch.equal(a, b) for a, b in zip(before, setup[2].backbone.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(before, result.model.backbone.parameters()))


@pytest.mark.parametrize("mode", ["linear", "finetune", "scratch"])
def test_a_mode_gives_the_same_model_whatever_ran_before(setup, mode):
    first = run(mode, setup, epochs=1, min_steps=3)
    torch.rand(1000)  # another mode's head, or anything else, drawing from the global generator
    second = run(mode, setup, epochs=1, min_steps=3)
    assert all(torch.equal(a, b) for a, b in zip(first.model.state_dict().values(),
                                                  second.model.state_dict().values()))


def test_scratch_baseline_has_the_same_architecture(setup):
    result = run("scratch", setup)
    assert result.evaluation.confusion.shape == (10, 10)
    ours = [p.shape for p in result.model.backbone.parameters()]
    assert ours == [p.shape for p in setup[2].backbone.parameters()]


def test_finetuning_trains_the_head_first_then_everything_and_reports_one_run(setup):
    digits, split, pretrained = setup
    epochs = []

    class Record(Callbacks):
        def on_start(self, total_steps):
            epochs.append(("start", total_steps))

        def on_epoch(self, event):
            epochs.append((event.epoch, event.epochs, event.step))

    train_downstream("finetune", pretrained, digits.images[split.labeled], digits.labels[split.labeled],
                     digits.images[split.test], digits.labels[split.test], 10,
                     DownstreamConfig(epochs=3, batch_size=50, min_steps=1), Record(), allow_flip=False)
    assert epochs[0] == ("start", 12)  # 100 labels in batches of 50: 2 steps x 3 epochs, twice
    assert [e[0] for e in epochs[1:]] == [1, 2, 3, 4, 5, 6] and {e[1] for e in epochs[1:]} == {6}
    assert [e[2] for e in epochs[1:]] == [2, 4, 6, 8, 10, 12]


def test_one_class_dataset_explains_downstream_needs_two():
    images = torch.zeros(10, 1, 8, 8, dtype=torch.uint8)
    dataset = ImageDataset("one", images, torch.zeros(10, dtype=torch.int64), ("cats",))
    split = make_split(dataset.labels, SplitConfig())
    with pytest.raises(ValueError, match="at least two classes"):
        check_downstream_data(dataset, split)


def test_each_mode_trains_what_it_should_at_its_rate(setup):
    from ssl_core.engine.downstream import build_classifier, param_groups

    config = DownstreamConfig()
    pretrained = setup[2]
    probe = build_classifier("linear", pretrained, 10, config)
    (group,) = param_groups("linear", probe, True, config)
    assert group["lr"] == config.probe_lr and list(group["params"]) == list(probe.head.parameters())
    finetune = build_classifier("finetune", pretrained, 10, config)
    head, backbone = param_groups("finetune", finetune, False, config)
    assert backbone["lr"] == config.lr * config.backbone_lr_scale and "lr" not in head
    scratch = build_classifier("scratch", pretrained, 10, config)
    (everything,) = param_groups("scratch", scratch, False, config)
    assert len(list(everything["params"])) == len(list(scratch.parameters()))


def test_each_transfer_trains_its_modes_then_scratch_and_reads_as_its_value():
    from ssl_core.engine.downstream import MODE_TITLES, Transfer

    assert Transfer("all").compared == ("linear", "finetune", "joint", "scratch")
    assert Transfer.BOTH.modes == ("linear", "finetune") and Transfer.JOINT.compared == ("joint", "scratch")
    assert all(set(t.compared) <= set(MODE_TITLES) for t in Transfer)
    assert f"{Transfer.LINEAR}" == "linear" == Transfer.LINEAR  # a link, a flag and JSON read the plain value
    with pytest.raises(ValueError):
        Transfer("magic")
