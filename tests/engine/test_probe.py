import torch

from ssl_core.data.datasets import load_digits
from ssl_core.engine.models import small_cnn
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.engine.probe import BANK_CAP, PROBE_KEY, PROBE_START_KEY, KnnProbe, ProbeData
from ssl_core.engine.train import Callbacks


def digits_probe(block: int = 3) -> ProbeData:
    digits = load_digits()
    return ProbeData.usable(digits.images[:200], digits.labels[:200], digits.images[1500:], digits.labels[1500:], 10,
                            block)


def test_probe_data_needs_two_labeled_classes_and_is_capped():
    x = torch.zeros(10, 1, 8, 8, dtype=torch.uint8)
    assert ProbeData.usable(x, torch.zeros(10, dtype=torch.long), x, torch.zeros(10, dtype=torch.long), 2) is None
    assert ProbeData.usable(x, torch.full((10,), -1), x, torch.zeros(10, dtype=torch.long), 2) is None
    assert ProbeData.usable(x, torch.arange(10) % 2, x, torch.full((10,), -1), 2) is None
    big = torch.zeros(BANK_CAP + 10, 1, 8, 8, dtype=torch.uint8)
    labels = torch.arange(BANK_CAP + 10) % 2
    labels[:5] = -1
    data = ProbeData.usable(big, labels, x, torch.arange(10) % 2, 2)
    assert len(data.bank_images) == BANK_CAP and (data.bank_labels >= 0).all()


def test_the_probe_scores_a_backbone_without_training_it():
    probe = KnnProbe(digits_probe(), 16, torch.device("cpu"))
    net = small_cnn(1)
    before = [p.clone() for p in net.parameters()]
    score = probe(net)
    assert 0.3 < score <= 1.0  # random conv features of digits already vote well above 10%
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_a_probe_over_its_time_budget_waits_but_the_last_epoch_is_always_scored():
    probe = KnnProbe(digits_probe(), 8, torch.device("cpu"), share=0.0)
    net = small_cnn(1)
    assert probe.within_budget(net) is not None  # nothing spent yet
    assert probe.within_budget(net) is None
    assert probe.within_budget(net, last=True) is not None


def test_pretraining_reports_the_probe_from_before_the_first_epoch_to_the_last():
    digits = load_digits()
    epochs = []

    class Record(Callbacks):
        def on_epoch(self, event) -> None:
            epochs.append(event.metrics)

    pretrain(PretrainConfig(epochs=3, image_size=8), digits.images[:1200], digits.images[1500:], Record(),
             probe=digits_probe())
    assert PROBE_START_KEY in epochs[0] and all(PROBE_START_KEY not in e for e in epochs[1:])
    assert PROBE_KEY in epochs[-1]
    assert all(0 <= e[key] <= 1 for e in epochs for key in (PROBE_KEY, PROBE_START_KEY) if key in e)
    assert "test_accuracy" in epochs[-1]  # the pretext's own held-out score is still there
