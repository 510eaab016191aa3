"""Label-budget experiments: does self-supervision help, and at how many labels?

One pretext pretraining per seed, then for each label budget the SSL transfer
(linear probe and/or fine-tuning) and the same network from scratch on the same
labels. Also the "which layer" probe (RotNet's Table 1 on your data).

Its command line: `python -m ssl_core experiment` (`ssl_core.cli.experiment`).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from ssl_core.analysis.report import BudgetResult, ExperimentReport, Point, pack_outcomes
from ssl_core.analysis.stats import chance_level
from ssl_core.analysis.verdict import block_verdict
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import SplitConfig, labeled_subset, make_split
from ssl_core.engine.downstream import DownstreamConfig, Transfer, train_downstream
from ssl_core.engine.pretrain import PretrainConfig, PretrainResult, pretrain, scored
from ssl_core.engine.probe import PROBE_KEY, ProbeData
from ssl_core.engine.recipe import Speed, comparison_seconds, pretext_seconds
from ssl_core.engine.train import Callbacks, EpochEvent
from ssl_core.pretext import TASKS, settings_dict


@dataclass(frozen=True)
class ExperimentConfig:
    pretext: PretrainConfig = field(default_factory=PretrainConfig)
    downstream: DownstreamConfig = field(default_factory=DownstreamConfig)
    labels_per_class: tuple[int, ...] = (1, 10, 100)
    label_fractions: tuple[float, ...] = ()  # used instead when given
    test_fraction: float = 0.2
    transfer: Transfer = Transfer.BOTH
    seeds: tuple[int, ...] = (0,)
    pool_limit: int | None = None  # cap the pretext pool (quick runs)
    # Learning rates tried for the scratch baseline; the best test accuracy is reported. Picking on the
    # test set flatters the baseline, never SSL: an SSL lead over it is not an artefact of a bad rate.
    scratch_lrs: tuple[float, ...] = ()
    continue_epochs: int = 0  # with a pretext network to start from: train it this many more epochs first

    def budgets(self) -> list[tuple[str, float]]:
        if self.label_fractions:
            return [("label_fraction", f) for f in self.label_fractions]
        return [("labels_per_class", n) for n in self.labels_per_class]

    def modes(self) -> tuple[str, ...]:
        if self.transfer not in tuple(Transfer):
            raise ValueError(f"transfer must be one of {', '.join(Transfer)}")
        return Transfer(self.transfer).compared


class _StderrProgress(Callbacks):
    """Each epoch of a pretext training as one plain line (the CLI's stderr, page 5's progress), and the share of
    the training done."""

    def __init__(self, label: str, log: Callable[[str], None],
                 done: Callable[[float], None] = lambda fraction: None) -> None:
        self.label, self.log, self.done = label, log, done

    def on_epoch(self, event: EpochEvent) -> None:
        parts = [f"loss {event.metrics['train_loss']:.3f}"]
        for name, value in event.metrics.items():
            if name.startswith("test_") and name != "test_loss":
                parts.append(f"held-out {_in_words(name[5:], value)}")
        if PROBE_KEY in event.metrics:
            parts.append(f"the real task by k-NN on the labels {event.metrics[PROBE_KEY]:.0%}")
        self.log(f"{self.label}: epoch {event.epoch}/{event.epochs}, " + ", ".join(parts))
        self.done(event.epoch / max(1, event.epochs))


def _in_words(metric: str, value: float) -> str:
    if metric == "accuracy":
        return f"accuracy {value:.1%}"
    if metric == "psnr":
        return f"PSNR {value:.1f} dB"
    return f"{metric} {value:.3f}"


def run_experiment(dataset: ImageDataset, config: ExperimentConfig, on_point: Callable[[Point], None] | None = None,
                   should_stop: Callable[[], bool] = lambda: False,
                   log: Callable[[str], None] = lambda message: None,
                   on_partial: Callable[[ExperimentReport], None] | None = None,
                   start_from: torch.nn.Module | None = None,
                   on_progress: Callable[[float], None] = lambda fraction: None,
                   pretext_share: float = 0.5) -> ExperimentReport:
    """Run every seed and budget. `on_partial` gets the report so far after each result. With
    `start_from` (a pretext network of `config.pretext`, e.g. from a model file) there is no pretext
    training, or `config.continue_epochs` of it from those weights; seeds then vary the labels only.
    `on_progress` gets the share of the work done, counting each seed's pretext training as `pretext_share`
    of that seed's time (from the predictions) and its downstream runs as the rest."""
    if dataset.num_classes < 2:
        raise ValueError("a label-budget experiment needs labeled images of at least two classes")
    started = time.perf_counter()
    split = make_split(dataset.labels, SplitConfig(test_fraction=config.test_fraction, seed=0), dataset.class_names)
    pool = split.pool
    if config.pool_limit:
        pool = pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(0))[:config.pool_limit]]
    test_x, test_y = dataset.images[split.test], dataset.labels[split.test]
    pool_images = dataset.images[pool]  # joint training's unlabeled images: the pretext pool
    chance = chance_level(test_y, dataset.num_classes)
    points: list[Point] = []
    pretext_scores, pretext_baselines = [], []
    modes = config.modes()

    task = config.pretext.make_task()  # validates the task's settings before any training
    if task.unavailable(dataset.channels):
        raise ValueError(task.unavailable(dataset.channels))
    saved_task = {"name": task.name, "settings": settings_dict(task.settings)}  # enough to rebuild it

    def so_far() -> ExperimentReport:
        return ExperimentReport.judged(points, pretext_scores, len(pool), len(split.test),
                                       time.perf_counter() - started, chance, task.metric.key, saved_task,
                                       pretext_baselines)

    runs = len(config.budgets()) * len(modes)
    trains = start_from is None or bool(config.continue_epochs)
    share = pretext_share if trains else 0.0

    def progress(seed_index: int, pretext_done: float, runs_done: int) -> None:
        within = share * pretext_done + (1 - share) * runs_done / max(1, runs)
        on_progress(min(1.0, (seed_index + within) / len(config.seeds)))

    for seed_index, seed in enumerate(config.seeds):
        if start_from is not None and not config.continue_epochs:
            log(f"seed {seed}: the loaded pretext network, no pretext training")
            pretrained = scored(config.pretext, start_from, dataset.channels, test_x, dataset.name)
        else:
            log(f"seed {seed}: pretext training on {len(pool):,} images"
                + (f", {config.continue_epochs} more epochs of the loaded network" if start_from is not None else ""))
            run = (replace(config.pretext, seed=seed) if start_from is None  # a loaded task keeps its seed (jigsaw's
                   else replace(config.pretext, epochs=config.continue_epochs))  # permutations come from it)
            key, budget = min(config.budgets(), key=lambda pair: pair[1])  # the probe watches the smallest label set
            labeled, _ = labeled_subset(dataset.labels, split.pool, int(budget) if key == "labels_per_class" else None,
                                        float(budget), seed)
            probe = ProbeData.usable(dataset.images[labeled], dataset.labels[labeled], test_x, test_y,
                                     dataset.num_classes, config.downstream.block)
            pretrained = pretrain(run, pool_images, test_x,
                                  _StderrProgress(f"seed {seed} pretext", log,
                                                  lambda done, i=seed_index: progress(i, done, 0)),
                                  allow_flip=dataset.allow_flip, start_from=start_from, probe=probe)
        pretext_scores.append(pretrained.evaluation.value)
        pretext_baselines.append(pretrained.evaluation.baseline)
        for key, budget in config.budgets():
            per_class = int(budget) if key == "labels_per_class" else None
            labeled, _ = labeled_subset(dataset.labels, split.pool, per_class, float(budget), seed)
            for mode in modes:
                best = None
                lrs = config.scratch_lrs if mode == "scratch" and config.scratch_lrs else (config.downstream.lr,)
                for lr in lrs:
                    if should_stop():
                        return so_far()
                    outcome = train_downstream(mode, pretrained, dataset.images[labeled], dataset.labels[labeled],
                                               test_x, test_y, dataset.num_classes,
                                               replace(config.downstream, seed=seed, lr=lr),
                                               allow_flip=dataset.allow_flip,
                                               unlabeled_images=pool_images if mode == "joint" else None)
                    if best is None or outcome.evaluation.accuracy > best.accuracy:
                        best = outcome.evaluation
                point = Point(seed, key, budget, len(labeled), mode, best.accuracy, pack_outcomes(best.correct))
                points.append(point)
                progress(seed_index, 1.0, len(points) - seed_index * runs)
                log(f"seed {seed}, {key}={budget:g} ({len(labeled)} labels), {mode}: "
                    f"test accuracy {best.accuracy:.3f}")
                if on_point:
                    on_point(point)
                if on_partial:
                    on_partial(so_far())
    return so_far()


def predicted_seconds(config: ExperimentConfig, n_pool: int, n_test: int, num_classes: int, speed: Speed) -> float:
    """How long `run_experiment` takes on this device (`speed` from `ssl_core.engine.recipe.calibrate`)."""
    per_seed = pretext_seconds(config.pretext, n_pool, n_test, speed)
    for key, budget in config.budgets():
        n_labeled = min(n_pool, round(budget * num_classes) if key == "labels_per_class" else round(budget * n_pool))
        for mode in config.modes():
            repeats = len(config.scratch_lrs) if mode == "scratch" and config.scratch_lrs else 1
            per_seed += repeats * comparison_seconds(config.downstream, n_labeled, n_test, (mode,), speed)
    return len(config.seeds) * per_seed


def probe_seconds(blocks: int, n_labeled: int, n_test: int, config: DownstreamConfig, speed: Speed) -> float:
    return blocks * comparison_seconds(config, n_labeled, n_test, ("linear",), speed)


@dataclass(frozen=True)
class BlockProbe:
    """Linear-probe test accuracy of each backbone block, with each block's per-image outcomes on the same test
    images: a claim that one block transfers best needs their paired interval (`verdict.block_verdict`)."""
    accuracy: dict[int, float]
    correct: dict[int, torch.Tensor]

    def verdict(self) -> str:
        return block_verdict(self.accuracy, self.correct)


def probe_blocks(pretrained: PretrainResult, train_images: torch.Tensor, train_labels: torch.Tensor,
                 test_images: torch.Tensor, test_labels: torch.Tensor, num_classes: int,
                 config: DownstreamConfig = DownstreamConfig(), allow_flip: bool = True,
                 on_block: Callable[[int, float], None] | None = None) -> BlockProbe:
    """Linear-probe test accuracy for every backbone block."""
    accuracy, correct = {}, {}
    for block in range(1, pretrained.backbone.num_blocks + 1):
        outcome = train_downstream("linear", pretrained, train_images, train_labels, test_images, test_labels,
                                   num_classes, replace(config, block=block), allow_flip=allow_flip)
        accuracy[block], correct[block] = outcome.evaluation.accuracy, outcome.evaluation.correct
        if on_block:
            on_block(block, accuracy[block])
    return BlockProbe(accuracy, correct)


def format_table(report: ExperimentReport) -> str:
    def cell(result: BudgetResult, mode: str) -> str:
        value = result.accuracy.get(mode)
        return "—" if value is None else f"{value.mean * 100:.1f} ± {value.std * 100:.1f}"

    def gap(result: BudgetResult, mode: str) -> str:
        d = result.difference.get(mode)
        return "—" if d is None else f"{d.mean * 100:+.1f} [{d.low * 100:+.1f}, {d.high * 100:+.1f}]"

    joint = any("joint" in r.accuracy for r in report.results)
    lines = ["| labels | n labeled | SSL linear | SSL fine-tune | " + ("SSL joint | " if joint else "") +
             "scratch | linear − scratch (95% interval) | fine-tune − scratch (95% interval) |"
             + (" joint − scratch (95% interval) |" if joint else ""),
             "|---|---|---|---|---|---|---|" + ("---|---|" if joint else "")]
    for r in report.results:
        lines.append(f"| {r.name} | {r.n_labeled} | {cell(r, 'linear')} | {cell(r, 'finetune')} | "
                     + (f"{cell(r, 'joint')} | " if joint else "") +
                     f"{cell(r, 'scratch')} | {gap(r, 'linear')} | {gap(r, 'finetune')} |"
                     + (f" {gap(r, 'joint')} |" if joint else ""))
    return "\n".join(lines)


def pretext_text(report: ExperimentReport) -> str:
    """'accuracy 93.1%' or 'PSNR 21.4 dB': a report's pretext score in its own metric."""
    from ssl_core.engine.metrics import ACCURACY, PSNR

    metric = PSNR if report.pretext_metric == PSNR.key else ACCURACY
    score, baseline = report.pretext_score, report.pretext_baseline
    text = f"{metric.label} " + ("—" if score is None else metric.format(score))
    return text if baseline is None else text + f" (a trivial answer: {metric.format(baseline)})"


def task_options_text() -> str:
    """Every task's `--task-option`s, from the tasks' own settings."""
    from ssl_core.pretext import options

    lines = []
    for name, task in TASKS.items():
        lines.append(f"{name}: {task.title}")
        for opt in options(task.Settings):
            default = ",".join(map(str, opt.default)) if isinstance(opt.default, tuple) else opt.default
            allowed = (f"one of {', '.join(map(str, opt.choices))}" if opt.choices
                       else f"{opt.low:g} to {opt.high:g}" if opt.low is not None else "")
            lines.append(f"  {opt.name}={default}  ({allowed}) {opt.help}")
    return "\n".join(lines)
