"""Nearest neighbours in feature space, under the random and the pretrained network."""
from ssl_core.analysis.neighbours import BACKBONES, feature_bank, neighbours
from tests.conftest import digits_setup  # noqa: F401 (a fixture)


def test_an_image_of_the_bank_finds_itself_first_under_both_networks(digits_setup):
    digits, split, pretrained = digits_setup
    pool = split.pool[:200]
    bank = feature_bank(pretrained, digits.images[pool], digits.labels[pool], block=3, limit=150)
    assert len(bank.images) == 150 and set(bank.features) == set(BACKBONES)
    found = neighbours(bank, bank.images[7:8], k=5)
    for name, result in found.items():
        assert len(result.indices) == 5 and result.indices[0] == 7, name
        assert result.similarities[0] >= max(result.similarities) - 1e-5
        assert list(result.similarities) == sorted(result.similarities, reverse=True)


def test_a_block_past_the_last_reads_the_last(digits_setup):
    digits, split, pretrained = digits_setup
    bank = feature_bank(pretrained, digits.images[split.pool[:20]], digits.labels[split.pool[:20]], block=99)
    assert bank.block == pretrained.backbone.num_blocks
