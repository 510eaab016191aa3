"""SSL against the same network from scratch, over one or more seeds, with the verdict.

Every seed draws its own labeled images (the split's seed + k) and its own head
initialisation; all seeds score the same test images, so the difference with
scratch is judged by a paired bootstrap over test images and seeds.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import torch

from ssl_core.analysis.advice import Advice, Situation, advise
from ssl_core.analysis.stats import Difference, chance_class, chance_level, paired_difference
from ssl_core.analysis.verdict import Verdict, chance_note, compare
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import Split, labeled_subset
from ssl_core.engine.downstream import MODE_TITLES, DownstreamConfig, DownstreamResult, train_downstream
from ssl_core.engine.pretrain import PretrainResult
from ssl_core.engine.train import Callbacks

MAX_SEEDS = 5


@dataclass(eq=False)
class Comparison:
    runs: dict[str, list[DownstreamResult]]  # mode -> one result per seed, in seed order
    n_labeled: int
    n_test: int
    chance: float
    labels_per_class: int | None = None
    seeds_wanted: int = 1
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # SSL mode -> verdict, once scratch ran
    pretrained: PretrainResult | None = None  # the pretext model transferred: a newer one makes this stale
    chance_class: str | None = None  # the answer that scores `chance` when always given (None: classes tie)
    n_unlabeled: int | None = None  # the pretext pool the pretrained model learned from (None: not known)

    def accuracies(self, mode: str) -> list[float]:
        return [run.evaluation.accuracy for run in self.runs.get(mode, [])]

    def mean(self, mode: str) -> float:
        return statistics.fmean(self.accuracies(mode))

    def std(self, mode: str) -> float:
        values = self.accuracies(mode)
        return statistics.stdev(values) if len(values) > 1 else 0.0

    @property
    def n_seeds(self) -> int:
        return min((len(runs) for runs in self.runs.values()), default=0)

    def difference(self, mode: str) -> Difference | None:
        """`mode` minus scratch over the seeds both completed."""
        k = min(len(self.runs.get(mode, [])), len(self.runs.get("scratch", [])))
        if mode == "scratch" or k == 0:
            return None
        stack = lambda m: torch.stack([run.evaluation.correct for run in self.runs[m][:k]])  # noqa: E731
        return paired_difference(stack(mode), stack("scratch"))

    def judge(self) -> None:
        self.verdicts = {}
        for mode in self.runs:
            difference = self.difference(mode)
            if difference is not None:
                self.verdicts[mode] = compare(MODE_TITLES[mode], self.mean(mode), self.mean("scratch"),
                                              difference, self.n_labeled, self.chance, self.chance_class)

    def best_mode(self) -> str | None:
        """The SSL mode that did best against scratch (None before scratch has run)."""
        return max(self.verdicts, key=lambda mode: self.verdicts[mode].difference.mean, default=None)

    def headline(self) -> Verdict | None:
        mode = self.best_mode()
        return self.verdicts[mode] if mode else None

    def chance_note(self, image_size: int | None = None, colour: bool = False) -> str:
        means = {MODE_TITLES[mode]: self.mean(mode) for mode in self.runs if self.runs[mode]}
        return chance_note(means, self.n_test, self.chance, image_size, colour, self.labels_per_class,
                           self.chance_class)

    def situation(self, image_size: int, colour: bool) -> Situation:
        mode = self.best_mode()
        verdict = self.headline()
        score = self.pretrained.evaluation if self.pretrained is not None else None
        classifies = score is not None and score.metric.key == "accuracy"
        trained = [run.train_accuracy for run in self.runs.get(mode, []) if run.train_accuracy is not None]
        return Situation(self.n_unlabeled, self.n_labeled, self.n_test, self.labels_per_class, image_size, colour,
                         verdict.outcome if verdict else None, self.n_seeds,
                         score.value if classifies else None, score.baseline if classifies else None,
                         statistics.fmean(trained) if trained else None, self.mean(mode) if trained else None)

    def advice(self, image_size: int, colour: bool) -> list[Advice]:
        """What would likely help, read from this result's own numbers (`advice.advise`)."""
        return advise(self.situation(image_size, colour)) if self.verdicts else []

    def model(self, mode: str) -> torch.nn.Module:
        return self.runs[mode][0].model


def labeled_sets(dataset: ImageDataset, split: Split, seeds: int) -> list[torch.Tensor]:
    """Seed 0 is the split's own labeled set; seed k draws the same budget with the split's seed + k."""
    sets = [split.labeled]
    config = split.config
    for k in range(1, seeds):
        if config is None:
            raise ValueError("repeating over seeds needs the split's settings")
        labeled, _ = labeled_subset(dataset.labels, split.pool, config.labels_per_class, config.label_fraction,
                                    config.seed + k, dataset.class_names)
        sets.append(labeled)
    return sets


def compare_modes(dataset: ImageDataset, split: Split, pretrained: PretrainResult, modes: Sequence[str],
                  config: DownstreamConfig, seeds: int = 1,
                  callbacks_for: Callable[[str, int, int], Callbacks] = lambda title, i, n: Callbacks(),
                  should_stop: Callable[[], bool] = lambda: False) -> Comparison:
    """Each mode in turn, for each seed; `callbacks_for(run title, index, number of runs)` reports them.
    Stopping keeps every finished run and judges what is complete."""
    if not 1 <= seeds <= MAX_SEEDS:
        raise ValueError(f"seeds must be between 1 and {MAX_SEEDS}")
    modes = list(dict.fromkeys(modes))
    test_x, test_y = dataset.images[split.test], dataset.labels[split.test]
    per_class = split.config.labels_per_class if split.config else None
    commonest = chance_class(test_y, dataset.num_classes)
    comparison = Comparison({mode: [] for mode in modes}, len(split.labeled), len(split.test),
                            chance_level(test_y, dataset.num_classes), per_class, seeds, pretrained=pretrained,
                            chance_class=None if commonest is None else dataset.class_names[commonest],
                            n_unlabeled=len(split.pool))
    total = seeds * len(modes)
    for k, labeled in enumerate(labeled_sets(dataset, split, seeds)):
        for mode in modes:
            if should_stop():
                comparison.judge()
                return comparison
            index = k * len(modes) + len(modes[:modes.index(mode)])
            title = MODE_TITLES[mode] + (f" (seed {k + 1})" if seeds > 1 else "")
            result = train_downstream(mode, pretrained, dataset.images[labeled], dataset.labels[labeled], test_x,
                                      test_y, dataset.num_classes, replace(config, seed=config.seed + k),
                                      callbacks_for(title, index, total), allow_flip=dataset.allow_flip,
                                      unlabeled_images=dataset.images[split.pool] if mode == "joint" else None)
            if result.stopped:
                comparison.judge()
                return comparison
            comparison.runs[mode].append(result)
        comparison.judge()
    return comparison
