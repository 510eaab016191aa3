"""The journey on real data from ../shared/data (skipped with a reason when absent)."""
import time

import pytest
import torch

from ssl_core.data.datasets import load_idx_folder
from ssl_core.data.splits import SplitConfig, make_split
from ssl_core.data.user_images import load_folder
from ssl_core.engine.downstream import DownstreamConfig, train_downstream
from ssl_core.engine.inference import predict, prepare_photo
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from tests.conftest import shared


@pytest.fixture(scope="module")
def flowers():
    started = time.monotonic()
    dataset = load_folder(shared("flowers"), size=32)
    print(f"flowers decoded in {time.monotonic() - started:.1f} s")
    return dataset


def test_flowers_folder_loads_every_photo(flowers):
    assert flowers.class_names == ("daisy", "dandelion", "rose", "sunflower", "tulip")
    assert flowers.class_counts() == {"daisy": 764, "dandelion": 1052, "rose": 784, "sunflower": 733, "tulip": 984}
    assert flowers.images.shape == (4317, 3, 32, 32) and not flowers.skipped


def test_flowers_journey_pretext_downstream_and_a_photo(flowers):
    split = make_split(flowers.labels, SplitConfig(test_fraction=0.2, labels_per_class=40, seed=0))
    pool = split.pool[torch.randperm(len(split.pool), generator=torch.Generator().manual_seed(0))[:1500]]
    pretrained = pretrain(PretrainConfig(epochs=3, image_size=24), flowers.images[pool],
                          flowers.images[split.test[:400]])
    assert pretrained.evaluation.value > 0.4  # rotation, chance 0.25
    for mode in ("finetune", "scratch"):
        result = train_downstream(mode, pretrained, flowers.images[split.labeled], flowers.labels[split.labeled],
                                  flowers.images[split.test], flowers.labels[split.test], 5,
                                  DownstreamConfig(epochs=10))
        assert result.evaluation.accuracy > 0.3  # chance 0.2
    photo_path = next((shared("flowers") / "sunflower").iterdir())
    photo = prepare_photo(photo_path.read_bytes(), 24, 3)
    probs = predict(result.model, photo.tensor)
    assert probs.shape == (1, 5) and abs(float(probs.sum()) - 1) < 1e-5


def test_mnist_rotation_features_beat_chance_with_few_labels():
    mnist = load_idx_folder(shared("mnist"), "mnist", tuple("0123456789"), False)
    split = make_split(mnist.labels, SplitConfig(test_fraction=0.2, labels_per_class=10, seed=0))
    pretrained = pretrain(PretrainConfig(epochs=2, image_size=16), mnist.images[split.pool[:3000]],
                          mnist.images[split.test[:500]], allow_flip=False)
    assert pretrained.evaluation.value > 0.6
    probe = train_downstream("linear", pretrained, mnist.images[split.labeled], mnist.labels[split.labeled],
                             mnist.images[split.test], mnist.labels[split.test], 10, DownstreamConfig(epochs=20),
                             allow_flip=False)
    assert probe.evaluation.accuracy > 0.4  # chance 0.1
