import pytest
import torch

from ssl_core.datasets import ImageDataset, load_digits
from ssl_core.downstream import DownstreamConfig, train_downstream
from ssl_core.jobs import DONE, JobRegistry
from ssl_core.pretrain import PretrainConfig, pretrain
from ssl_core.runs import check_downstream_data, comparison_work
from ssl_core.splits import SplitConfig, make_split
from ssl_core.verdict import comparison_verdict


@pytest.fixture(scope="module")
def setup():
    digits = load_digits()
    split = make_split(digits.labels, SplitConfig(labels_per_class=10))
    pretrained = pretrain(PretrainConfig(epochs=4, image_size=16), digits.images[split.pool],
                          digits.images[split.test], allow_flip=False)
    return digits, split, pretrained


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


def test_comparison_job_trains_every_mode(setup):
    digits, split, pretrained = setup
    work = comparison_work(digits, split, pretrained, ["linear", "finetune", "scratch"], DownstreamConfig(epochs=2))
    job = JobRegistry().start("downstream", "t", work)
    assert job.join(120)
    snap = job.snapshot()
    assert snap.status == DONE and set(snap.result) == {"linear", "finetune", "scratch"}
    assert {p["run"] for p in snap.epochs} == {"SSL linear probe", "SSL fine-tuned", "from scratch"}


def test_one_class_dataset_explains_downstream_needs_two():
    images = torch.zeros(10, 1, 8, 8, dtype=torch.uint8)
    dataset = ImageDataset("one", images, torch.zeros(10, dtype=torch.int64), ("cats",))
    split = make_split(dataset.labels, SplitConfig())
    with pytest.raises(ValueError, match="at least two classes"):
        check_downstream_data(dataset, split)


def test_verdict_says_where_ssl_helps_and_where_not():
    text = comparison_verdict({"linear": 0.70, "finetune": 0.90, "scratch": 0.80}, 100)
    assert "10.0 points worse" in text and "beats training from scratch by **10.0 points**" in text
    assert "on par" in comparison_verdict({"finetune": 0.805, "scratch": 0.80}, 100)
