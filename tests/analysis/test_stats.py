import pytest
import torch

from ssl_core.analysis.stats import (above_chance, chance_level, difference_from_accuracies, paired_difference,
                                     wilson_low)


def outcomes(n: int, accuracy: float, seed: int) -> torch.Tensor:
    return torch.rand(n, generator=torch.Generator().manual_seed(seed)) < accuracy


def test_a_clear_win_has_an_interval_above_zero():
    a, b = outcomes(2000, 0.9, 0), outcomes(2000, 0.6, 1)
    d = paired_difference(a, b)
    assert d.mean == pytest.approx(a.float().mean() - b.float().mean())
    assert 0 < d.low < d.mean < d.high and d.excludes_zero
    assert d.to_json() == {"mean": d.mean, "ci95": [d.low, d.high]}


def test_identical_models_give_a_zero_width_interval_and_a_tie_straddles_zero():
    a = outcomes(500, 0.7, 0)
    same = paired_difference(a, a)
    assert same.low == same.mean == same.high == 0 and not same.excludes_zero
    tie = paired_difference(a, outcomes(500, 0.7, 1))
    assert tie.low < 0 < tie.high


def test_pairing_narrows_the_interval_when_the_models_agree_on_most_images():
    a = outcomes(400, 0.8, 0)
    b = a.clone()
    b[:12] = ~b[:12]  # the same model but for a dozen images
    paired = paired_difference(a, b)
    unpaired = difference_from_accuracies([a.float().mean().item()], [b.float().mean().item()], 400)
    assert paired.high - paired.low < (unpaired.high - unpaired.low) / 2


def test_seeds_are_resampled_too():
    a = torch.stack([outcomes(300, p, s) for s, p in enumerate((0.9, 0.5, 0.9))])
    b = torch.stack([outcomes(300, 0.7, 10 + s) for s in range(3)])
    across = paired_difference(a, b)
    one = paired_difference(a[0], b[0])
    assert across.n_seeds == 3 and "3 seeds" in across.method
    assert across.high - across.low > one.high - one.low  # the unstable seed widens it


def test_the_bootstrap_is_deterministic_and_checks_its_input():
    a, b = outcomes(100, 0.8, 0), outcomes(100, 0.6, 1)
    assert paired_difference(a, b) == paired_difference(a, b)
    with pytest.raises(ValueError):
        paired_difference(a, b[:50])


def test_chance_is_the_commonest_class_share():
    assert chance_level(torch.tensor([0, 1, 1, 1]), 2) == 0.75
    assert chance_level(torch.arange(10), 10) == pytest.approx(0.1)


def test_above_chance_needs_a_margin_that_shrinks_with_the_test_set():
    assert not above_chance(0.535, 361, 0.5)  # the cats-vs-dogs "win" of the issue
    assert above_chance(0.60, 361, 0.5)
    assert not above_chance(0.55, 100, 0.5) and above_chance(0.55, 5000, 0.5)
    assert wilson_low(0.5, 0) == 0.0
