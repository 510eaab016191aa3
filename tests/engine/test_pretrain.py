"""Pretraining's records: the "before" network a run starts from, a network scored like a fresh run, checkpoints."""
import pytest
import torch

from ssl_core.engine.pretrain import PretrainConfig, initial_backbone, pretrain, scored


def images(n: int = 24, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_the_starting_network_follows_the_seed_and_leaves_the_global_random_state_alone():
    config = PretrainConfig(image_size=8, seed=3)
    torch.manual_seed(0)
    before = torch.rand(1)
    a, b = initial_backbone(config, 1), initial_backbone(config, 1)
    torch.manual_seed(0)
    assert torch.rand(1) == before  # asking for it consumed nothing
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    other = initial_backbone(PretrainConfig(image_size=8, seed=4), 1)
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), other.state_dict().values()))


def test_a_trained_network_scored_again_gets_the_same_figure_and_each_epoch_leaves_a_checkpoint():
    config = PretrainConfig(image_size=8, epochs=2, batch_size=8)
    saved = []
    result = pretrain(config, images(), images(8, seed=1), allow_flip=False,
                      checkpoint=lambda epoch, model: saved.append(epoch))
    assert saved == [1, 2]
    again = scored(config, result.model, 1, images(8, seed=1), "digits")
    assert again.dataset == "digits" and again.evaluation.value == pytest.approx(result.evaluation.value)
    assert not again.model.training  # scored in eval mode
