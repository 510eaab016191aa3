import pytest
import torch

from ssl_core.engine import precision
from ssl_core.engine.models import make_backbone
from ssl_core.engine.precision import Precision
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.engine.train import LoopConfig
from ssl_core.pretext import make_task


def rotation_batch(channels: int = 1, size: int = 16, n: int = 16):
    task = make_task("rotation", None, 0)
    images = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    inputs, targets = task.training_batch(images, torch.Generator().manual_seed(0))
    return task, task.build_model(make_backbone("small_cnn", channels)), inputs, targets


@pytest.fixture(autouse=True)
def fresh_choices(monkeypatch):
    monkeypatch.delenv(precision.ENV, raising=False)
    monkeypatch.setattr(precision, "_chosen", {})


def test_timing_the_variants_leaves_the_model_and_random_state_untouched():
    task, model, inputs, targets = rotation_batch()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = torch.get_rng_state()
    times = precision.time_variants(model, inputs, targets, task.loss, precision.candidates(torch.device("cpu")))
    assert set(times) >= {Precision.FP32, Precision.CHANNELS_LAST}
    assert all(0 < t < 10 for t in times.values())
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert precision.of(model) is Precision.FP32  # timing copies; the model keeps its own format


def test_the_fastest_variant_is_chosen_only_when_clearly_faster(monkeypatch):
    task, model, inputs, targets = rotation_batch()
    cpu = (Precision.FP32, Precision.CHANNELS_LAST, Precision.BF16)
    monkeypatch.setattr(precision, "candidates", lambda device: cpu)
    fake = {Precision.FP32: 1.0, Precision.CHANNELS_LAST: 0.95, Precision.BF16: 0.5}
    monkeypatch.setattr(precision, "time_variants", lambda *args, **kwargs: dict(fake))
    assert precision.choose(model, inputs, targets, task.loss) is Precision.BF16
    monkeypatch.setattr(precision, "_chosen", {})
    fake = {Precision.FP32: 1.0, Precision.CHANNELS_LAST: 0.95, Precision.BF16: 1.4}  # 5% faster: not worth it
    assert precision.choose(model, inputs, targets, task.loss) is Precision.FP32
    assert precision.timings(model, inputs) == fake


def test_a_choice_is_measured_once_per_network_and_batch_shape(monkeypatch):
    task, model, inputs, targets = rotation_batch()
    calls = []

    def timed(*args, **kwargs):
        calls.append(1)
        return {Precision.FP32: 1.0}

    monkeypatch.setattr(precision, "time_variants", timed)
    for _ in range(3):
        precision.choose(model, inputs, targets, task.loss)
    assert len(calls) == 1
    precision.choose(model, inputs[:8], targets[:8], task.loss)  # another batch shape is timed again
    assert len(calls) == 2


def test_a_named_or_forced_precision_is_used_without_measuring(monkeypatch):
    task, model, inputs, targets = rotation_batch()
    monkeypatch.setattr(precision, "time_variants", lambda *a, **k: pytest.fail("measured"))
    assert precision.choose(model, inputs, targets, task.loss, "fp32") is Precision.FP32
    assert precision.choose(model, inputs, targets, task.loss, "channels_last") is Precision.CHANNELS_LAST
    monkeypatch.setenv(precision.ENV, "channels_last")
    assert precision.choose(model, inputs, targets, task.loss) is Precision.CHANNELS_LAST


def test_bf16_is_refused_where_the_cpu_lacks_it(monkeypatch):
    task, model, inputs, targets = rotation_batch()
    monkeypatch.setattr(precision, "bf16_supported", lambda device: False)
    assert Precision.BF16 not in precision.candidates(torch.device("cpu"))
    assert precision.choose(model, inputs, targets, task.loss, "bf16") is Precision.FP32


def test_an_unknown_precision_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="fp32, channels_last, bf16"):
        LoopConfig(precision="fp8")


@pytest.mark.parametrize("name", ["fp32", "channels_last", "bf16"])
def test_every_variant_trains_and_the_model_keeps_it(name):
    if name == "bf16" and not precision.bf16_supported(torch.device("cpu")):
        pytest.skip("this CPU has no native bf16")
    images = torch.randint(0, 256, (96, 1, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    result = pretrain(PretrainConfig(epochs=1, image_size=16, device="cpu", precision=name), images[:64], images[64:])
    assert precision.of(result.model) is Precision(name)
    weight = result.model.backbone.blocks[1][0].weight
    assert (weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()) == (name != "fp32")
    assert 0 <= result.evaluation.value <= 1
    with precision.inference(result.model, torch.device("cpu")):
        assert torch.is_autocast_enabled("cpu") == (name == "bf16")


def test_bf16_on_real_digits_learns_like_fp32():
    """The same short run in fp32 and bf16: held-out rotation accuracy within a few points."""
    if not precision.bf16_supported(torch.device("cpu")):
        pytest.skip("this CPU has no native bf16")
    from ssl_core.data.datasets import load_mnist_10k

    digits = load_mnist_10k()
    scores = {}
    for name in ("fp32", "bf16"):
        config = PretrainConfig(epochs=2, image_size=16, device="cpu", precision=name)
        scores[name] = pretrain(config, digits.images[:1500], digits.images[9000:9500]).evaluation.value
    assert scores["fp32"] > 0.5 and abs(scores["bf16"] - scores["fp32"]) < 0.06
