import torch

from ssl_core.data.datasets import UNLABELED
from ssl_core.data.splits import SplitConfig, make_split


def test_split_is_deterministic_stratified_and_disjoint():
    labels = torch.arange(10).repeat_interleave(50)
    a = make_split(labels, SplitConfig(test_fraction=0.2, labels_per_class=5, seed=3))
    b = make_split(labels, SplitConfig(test_fraction=0.2, labels_per_class=5, seed=3))
    assert torch.equal(a.test, b.test) and torch.equal(a.labeled, b.labeled)
    assert torch.bincount(labels[a.test]).tolist() == [10] * 10
    assert torch.bincount(labels[a.labeled]).tolist() == [5] * 10
    assert not set(a.test.tolist()) & set(a.pool.tolist())
    assert set(a.labeled.tolist()) <= set(a.pool.tolist())
    assert len(a.test) + len(a.pool) == len(labels)
    c = make_split(labels, SplitConfig(test_fraction=0.2, labels_per_class=5, seed=4))
    assert not torch.equal(a.labeled, c.labeled)


def test_unlabeled_images_join_the_pool_only():
    labels = torch.tensor([0, 0, 0, 1, 1, 1, UNLABELED, UNLABELED])
    split = make_split(labels, SplitConfig(test_fraction=0.34, labels_per_class=1))
    assert {6, 7} <= set(split.pool.tolist())
    assert not {6, 7} & (set(split.test.tolist()) | set(split.labeled.tolist()))


def test_too_few_images_in_a_class_warns_and_uses_what_exists():
    labels = torch.tensor([0] * 20 + [1] * 3)
    split = make_split(labels, SplitConfig(test_fraction=0.2, labels_per_class=10), ("big", "small"))
    assert torch.bincount(labels[split.labeled]).tolist() == [10, 2]
    assert any("'small' has only 2" in w for w in split.warnings)


def test_label_fraction():
    labels = torch.arange(2).repeat_interleave(100)
    split = make_split(labels, SplitConfig(test_fraction=0.5, labels_per_class=None, label_fraction=0.1))
    assert torch.bincount(labels[split.labeled]).tolist() == [5, 5]
