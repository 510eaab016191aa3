import numpy as np
import pytest
import torch

from ssl_core.analysis.projection import (AT_CHANCE, LESS, MORE, SAME, BeforeAfter, FeatureMap, Separability,
                                          before_after, project, separability)
from ssl_core.analysis.stats import paired_difference
from ssl_core.data.datasets import load_digits
from ssl_core.engine.models import make_backbone
from ssl_core.engine.pretrain import PretrainConfig, initial_backbone, pretrain
from tests.conftest import clusters


def test_pca_puts_two_separated_classes_apart_on_its_first_axis():
    features, labels = clusters(200, spread=0.05)
    points = project(features, "pca")
    first = points[:, 0]
    assert points.shape == (200, 2)
    assert first[labels == 0].max() < first[labels == 1].min() or first[labels == 1].max() < first[labels == 0].min()


def test_tsne_maps_a_few_points_and_is_reproducible():
    features, _ = clusters(60)
    a, b = project(features, "tsne", seed=3), project(features, "tsne", seed=3)
    assert a.shape == (60, 2) and np.isfinite(a).all() and np.allclose(a, b)
    with pytest.raises(ValueError, match="unknown projection"):
        project(features, "umap")


def test_separability_is_high_for_separated_classes_and_low_for_random_features():
    features, labels = clusters(200, spread=0.05)
    good = separability(features, labels, 2)
    assert good.knn_accuracy == 1.0 and good.silhouette > 0.5
    g = torch.Generator().manual_seed(0)
    noise = torch.nn.functional.normalize(torch.randn(200, 16, generator=g), dim=1)
    bad = separability(noise, torch.randint(0, 2, (200,), generator=g), 2)
    assert bad.knn_accuracy < 0.7 and abs(bad.silhouette) < 0.1


def outcome_of(before: float, after: float, n: int = 400, chance: float = 0.5) -> str:
    def fake(share: float, shift: int) -> FeatureMap:  # shifted: each side gets images the other misses
        correct = (torch.arange(n) < share * n).roll(shift)
        return FeatureMap("", np.zeros((n, 2)), Separability(share, 0.0, correct))

    b, a = fake(before, 0), fake(after, 40)
    difference = paired_difference(a.separability.correct, b.separability.correct)
    return BeforeAfter(torch.arange(n), torch.zeros(n, dtype=torch.long), b, a, difference, chance, 3, "pca").outcome


def test_the_verdict_needs_an_interval_that_excludes_zero_and_names_chance():
    assert outcome_of(0.6, 0.9) == MORE
    assert outcome_of(0.9, 0.6) == LESS
    assert outcome_of(0.80, 0.81) == SAME
    assert outcome_of(0.50, 0.52) == AT_CHANCE


def test_the_random_weights_are_the_ones_pretraining_started_from():
    digits = load_digits()
    config = PretrainConfig(epochs=1, image_size=8, lr=1e-30, seed=4)  # a step this small moves no weight
    trained = pretrain(config, digits.images[:64], digits.images[64:96])
    start = initial_backbone(config, 1)
    for before, after in zip(start.parameters(), trained.backbone.parameters()):
        assert torch.allclose(before, after, atol=1e-12)
    other = make_backbone("small_cnn", 1)
    assert not all(torch.equal(a, b) for a, b in zip(other.parameters(), start.parameters()))


def test_before_after_maps_the_same_held_out_images_under_both_networks():
    digits = load_digits()
    trained = pretrain(PretrainConfig(epochs=2, image_size=8), digits.images[:1200], digits.images[1200:1300])
    test_x, test_y = digits.images[1200:], digits.labels[1200:].clone()
    test_y[:50] = -1  # unlabeled images are left off the map
    result = before_after(trained, test_x, test_y, 10, block=2, limit=300)
    assert len(result.indices) == 300 and len(set(result.indices.tolist())) == 300
    assert (test_y[result.indices] >= 0).all() and torch.equal(result.labels, test_y[result.indices])
    assert result.before.points.shape == result.after.points.shape == (300, 2)
    assert result.before.separability.knn_accuracy > 0.5  # random conv features already sort digits a little
    assert "95% interval" in result.summary() and "k-NN accuracy" in result.summary()
    assert result.outcome in (MORE, LESS, SAME)
    with pytest.raises(ValueError, match="at least 3 labeled"):
        before_after(trained, test_x[:5], torch.full((5,), -1), 10, block=2)
