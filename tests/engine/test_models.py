import pytest
import torch

from ssl_core.engine.models import BACKBONES, Classifier, make_backbone


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("channels, size", [(1, 8), (3, 16)])
def test_backbones_expose_every_block(name, channels, size):
    backbone = make_backbone(name, channels).eval()
    x = torch.randn(2, channels, size, size)
    assert backbone(x).shape == (2, backbone.num_features)
    for block in range(1, backbone.num_blocks + 1):
        assert backbone.features(x, block).shape == (2, backbone.feature_dim(block))


def test_unknown_backbone_lists_the_valid_ones():
    with pytest.raises(KeyError, match="resnet18"):
        make_backbone("vgg", 3)


def test_probe_keeps_the_backbone_frozen_in_train_mode():
    backbone = make_backbone("small_cnn", 1)
    probe = Classifier(backbone, 10, block=2, grid=2, frozen=True).train()
    assert not backbone.training and probe.head.training
    assert probe.head.in_features == backbone.feature_dim(2, 2)
    before = backbone.blocks[0][1].running_mean.clone()
    probe(torch.randn(8, 1, 16, 16) * 5 + 3).sum().backward()
    assert torch.equal(before, backbone.blocks[0][1].running_mean)
    assert all(p.grad is None for p in backbone.parameters()) and probe.head.weight.grad is not None


def test_unfreezing_lets_gradients_and_statistics_reach_the_backbone():
    backbone = make_backbone("small_cnn", 1)
    model = Classifier(backbone, 10, grid=2, frozen=True)
    model.freeze(False)
    model.train()
    before = backbone.blocks[0][1].running_mean.clone()
    model(torch.randn(8, 1, 16, 16) * 5 + 3).sum().backward()
    assert backbone.training and not torch.equal(before, backbone.blocks[0][1].running_mean)
    assert all(p.grad is not None for p in backbone.parameters())


def test_classifier_output():
    assert Classifier(make_backbone("small_cnn", 3), 5)(torch.randn(3, 3, 16, 16)).shape == (3, 5)
    assert Classifier(make_backbone("small_cnn", 3), 5, grid=2).head.in_features == 128 * 4
