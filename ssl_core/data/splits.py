"""Deterministic train/test/labeled splits.

The held-out test set is stratified over labeled images; everything else
(unlabeled images included) forms the pool for the pretext task, and a small
labeled subset of the pool feeds the downstream task.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SplitConfig:
    test_fraction: float = 0.2
    labels_per_class: int | None = 10  # None: use label_fraction
    label_fraction: float = 1.0
    seed: int = 0


@dataclass(frozen=True, eq=False)
class Split:
    test: torch.Tensor  # indices into the dataset
    pool: torch.Tensor  # pretext images: everything not in test
    labeled: torch.Tensor  # downstream training images, a subset of pool
    warnings: tuple[str, ...] = ()
    config: SplitConfig | None = None  # how it was made: repeating over seeds draws more labeled sets

    def counts(self) -> dict[str, int]:
        return {"test": len(self.test), "unlabeled pool": len(self.pool), "labeled": len(self.labeled)}


def make_split(labels: torch.Tensor, config: SplitConfig, class_names: tuple[str, ...] = ()) -> Split:
    if not 0.0 <= config.test_fraction < 1.0:
        raise ValueError("test fraction must be in [0, 1)")
    generator = torch.Generator().manual_seed(config.seed)
    test = []
    num_classes = int(labels.max()) + 1 if (labels >= 0).any() else 0
    for cls in range(num_classes):
        members = torch.nonzero(labels == cls).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        n_test = int(round(len(members) * config.test_fraction))
        if config.test_fraction > 0 and len(members) >= 2:
            n_test = max(1, min(n_test, len(members) - 1))
        test.append(members[:n_test])
    test_idx = torch.sort(torch.cat(test)).values if test else torch.zeros(0, dtype=torch.int64)
    in_test = torch.zeros(len(labels), dtype=torch.bool)
    in_test[test_idx] = True
    pool = torch.nonzero(~in_test).flatten()
    labeled, warnings = labeled_subset(labels, pool, config.labels_per_class, config.label_fraction, config.seed,
                                       class_names)
    return Split(test_idx, pool, labeled, warnings, config)


def labeled_subset(labels: torch.Tensor, pool: torch.Tensor, per_class: int | None, fraction: float = 1.0,
                   seed: int = 0, class_names: tuple[str, ...] = ()) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Labeled images drawn from the pool, per class: `per_class` each, or `fraction` of each class.

    For one seed the subsets are nested: 10 per class contains the 1 per class."""
    generator = torch.Generator().manual_seed(seed + 7919)
    chosen, warnings = [], []
    pool_labels = labels[pool]
    num_classes = int(labels.max()) + 1 if (labels >= 0).any() else 0
    for cls in range(num_classes):
        members = pool[pool_labels == cls]
        members = members[torch.randperm(len(members), generator=generator)]
        want = per_class if per_class is not None else int(round(len(members) * fraction))
        want = max(want, 1) if len(members) else 0
        if want > len(members):
            name = class_names[cls] if cls < len(class_names) else str(cls)
            warnings.append(f"class '{name}' has only {len(members)} training images; "
                            f"using all of them instead of {want}")
        chosen.append(members[:want])
    labeled = torch.sort(torch.cat(chosen)).values if chosen else torch.zeros(0, dtype=torch.int64)
    return labeled, tuple(warnings)
