"""Label-budget experiments: does self-supervision help, and at how many labels?

One pretext pretraining per seed, then for each label budget the SSL transfer
(linear probe and/or fine-tuning) and the same network from scratch on the same
labels. Also the "which layer" probe (RotNet's Table 1 on your data).

CLI: `python -m ssl_core.experiment --data mnist-10k --recipe auto --labels-per-class 1,10,100 --json`
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ssl_core.datasets import ImageDataset
from ssl_core.downstream import TRANSFERS, DownstreamConfig, train_downstream
from ssl_core.pretext import TASKS, parse_options, settings_dict, task_type
from ssl_core.pretrain import PretrainConfig, PretrainResult, pretrain, scored
from ssl_core.precision import CHOICES as precision_choices
from ssl_core.probe import PROBE_KEY, ProbeData
from ssl_core.recipe import Recipe, Speed, comparison_seconds, pretext_seconds
from ssl_core.report import BudgetResult, ExperimentReport, Point, pack_outcomes
from ssl_core.splits import SplitConfig, labeled_subset, make_split
from ssl_core.stats import chance_level
from ssl_core.train import Callbacks, EpochEvent
from ssl_core.verdict import block_verdict



@dataclass(frozen=True)
class ExperimentConfig:
    pretext: PretrainConfig = field(default_factory=PretrainConfig)
    downstream: DownstreamConfig = field(default_factory=DownstreamConfig)
    labels_per_class: tuple[int, ...] = (1, 10, 100)
    label_fractions: tuple[float, ...] = ()  # used instead when given
    test_fraction: float = 0.2
    transfer: str = "both"
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
        if self.transfer not in TRANSFERS:
            raise ValueError(f"transfer must be one of {sorted(TRANSFERS)}")
        return TRANSFERS[self.transfer] + ("scratch",)


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
    """How long `run_experiment` takes on this device (`speed` from `ssl_core.recipe.calibrate`)."""
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


# ---- command line ------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the usage block
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _numbers(kind: type) -> Callable[[str], tuple]:
    def parse(text: str) -> tuple:
        try:
            values = tuple(kind(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__}s, got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError("expected at least one value")
        return values
    return parse


def build_parser() -> argparse.ArgumentParser:
    defaults = PretrainConfig()
    parser = _Parser(prog="python -m ssl_core.experiment", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist-10k", help="built-in name (mnist-10k, digits, mnist, ...) or a folder")
    parser.add_argument("--recipe", choices=["auto", "defaults"], default="defaults",
                        help="auto: the settings `recommend` picks for this dataset and device (the app's); "
                             "flags given explicitly still override it")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="with --recipe auto: seconds for pretext training and one comparison")
    parser.add_argument("--pretext", choices=list(TASKS), default=defaults.task)
    parser.add_argument("--task-option", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of the pretext task, e.g. angles=90,180 or grid=3 (repeatable); "
                             "`--list-options` shows each task's")
    parser.add_argument("--list-options", action="store_true", help="print every task's options and exit")
    # None: from the recipe, or the config's default
    parser.add_argument("--backbone", default=None)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--pretext-epochs", type=int, default=None)
    parser.add_argument("--pretext-lr", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--labels-per-class", type=_numbers(int), default=None,
                        help="default: 1,10,100 (with --recipe auto: the recipe's budget)")
    budget.add_argument("--label-fraction", type=_numbers(float), default=())
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--transfer", choices=sorted(TRANSFERS), default="both")
    parser.add_argument("--block", type=int, default=None, help="backbone block the linear probe reads")
    parser.add_argument("--downstream-epochs", type=int, default=None)
    parser.add_argument("--downstream-lr", type=float, default=None)
    parser.add_argument("--downstream-min-steps", type=int, default=None,
                        help="optimiser steps at least, however few the labels")
    parser.add_argument("--scratch-lrs", type=_numbers(float), default=(),
                        help="learning rates tried for the scratch baseline; its best is reported")
    parser.add_argument("--load", type=Path, default=None, metavar="FILE",
                        help="start from the pretext network in a model file (the app's Download the models): "
                             "its task, backbone and image size; no pretext training unless --continue-epochs")
    parser.add_argument("--continue-epochs", type=int, default=0, metavar="N",
                        help="with --load: train the loaded network N more epochs on --data first")
    parser.add_argument("--workers", type=int, default=2,
                        help="under torchrun: DataLoader workers per process that decode the --data folder")
    parser.add_argument("--cache", type=Path,
                        help="under torchrun: folder for a one-off uint8 cache of the images at the training size")
    parser.add_argument("--pool-limit", type=int, default=None, help="use at most this many pretext images")
    parser.add_argument("--seeds", type=_numbers(int), default=(0,))
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    parser.add_argument("--precision", choices=precision_choices, default="auto",
                        help="a CPU's training steps: auto (the fastest measured here that beats fp32 by 10%%), "
                             "fp32, channels_last or bf16 (with channels-last)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


def _given(value, fallback):
    return fallback if value is None else value


def config_from_args(args: argparse.Namespace, recipe: Recipe | None = None) -> ExperimentConfig:
    """The experiment the flags ask for; `recipe` (from --recipe auto) fills what they leave out."""
    labels_per_class = args.labels_per_class or ((recipe.labels_per_class,) if recipe else (1, 10, 100))
    if not 0 < args.test_fraction < 1:
        raise ValueError("--test-fraction must be between 0 and 1")
    if any(f <= 0 or f > 1 for f in args.label_fraction):
        raise ValueError("--label-fraction values must be in (0, 1]")
    if any(n < 1 for n in labels_per_class):
        raise ValueError("--labels-per-class values must be at least 1")
    if any(lr <= 0 for lr in args.scratch_lrs):
        raise ValueError("--scratch-lrs values must be positive")
    base = recipe.pretext if recipe else PretrainConfig()
    down = recipe.downstream if recipe else DownstreamConfig()
    settings = parse_options(task_type(args.pretext).Settings, args.task_option) if args.task_option else None
    pretext = replace(base, task=args.pretext, settings=settings, backbone=_given(args.backbone, base.backbone),
                      image_size=_given(args.image_size, base.image_size),
                      epochs=_given(args.pretext_epochs, base.epochs),
                      batch_size=_given(args.batch_size, base.batch_size), lr=_given(args.pretext_lr, base.lr),
                      device=args.device, precision=args.precision)
    downstream = replace(down, precision=args.precision, epochs=_given(args.downstream_epochs, down.epochs),
                         lr=_given(args.downstream_lr, down.lr), block=_given(args.block, down.block),
                         min_steps=_given(args.downstream_min_steps, down.min_steps))
    if min(pretext.epochs, downstream.epochs, pretext.batch_size, pretext.image_size) < 1:
        raise ValueError("epochs, batch size and image size must be positive")
    if args.continue_epochs < 0 or (args.continue_epochs and args.load is None):
        raise ValueError("--continue-epochs is a number of epochs, and needs --load")
    return ExperimentConfig(pretext=pretext, downstream=downstream, labels_per_class=labels_per_class,
                            label_fractions=args.label_fraction, test_fraction=args.test_fraction,
                            transfer=args.transfer, seeds=args.seeds, pool_limit=args.pool_limit,
                            scratch_lrs=args.scratch_lrs, continue_epochs=args.continue_epochs)


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
    from ssl_core.metrics import ACCURACY, PSNR

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


def main(argv: Sequence[str] | None = None) -> int:
    from ssl_core.distributed import is_rank_zero, launched

    args = build_parser().parse_args(argv)
    if args.list_options:
        print(task_options_text())
        return 0
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if launched():
            report = _under_torchrun(args, log if is_rank_zero() else lambda message: None)
            if report is None:
                return 0  # not rank 0: its share of the pretraining is done
        else:
            report = _in_one_process(args, log)
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(f"pretext {pretext_text(report)}, {report.n_unlabeled} unlabeled, "
              f"{report.n_test} test, {report.seconds:.0f} s")
        print(format_table(report))
        for result in report.results:
            if result.verdict is not None:
                print(f"- {result.verdict.text}")
    return 0


def _under_torchrun(args: argparse.Namespace, log: Callable[[str], None]) -> ExperimentReport | None:
    """Under torchrun the pretext training is shared by the processes, streamed from the `--data`
    folder; rank 0 alone then runs the comparison (a few labels: one process is enough). Other ranks
    get None."""
    from ssl_core.distributed import Stream, train
    from ssl_core.sources import open_dataset

    if args.load is not None:
        raise ValueError("--load needs no pretraining: run it without torchrun")
    if not Path(args.data).is_dir():
        raise ValueError("under torchrun --data is a folder of images, streamed from disk")
    if args.recipe == "auto":
        log("under torchrun the recipe is not timed: the defaults and the flags given are used")
    config = config_from_args(args, None)
    run = train(config.pretext, Stream(Path(args.data), args.test_fraction, args.workers, args.cache), log)
    if run.result is None:
        return None
    dataset = open_dataset(args.data)
    if dataset.skipped:
        log(f"{len(dataset.skipped)} files could not be decoded: the comparison's held-out images may include a few "
            "the pretext task saw")
    return run_experiment(dataset, config, log=log, start_from=run.result.model)


def _in_one_process(args: argparse.Namespace, log: Callable[[str], None]) -> ExperimentReport:
    from ssl_core.device import pick_device
    from ssl_core.model_file import from_bytes
    from ssl_core.recipe import recommend
    from ssl_core.sources import open_dataset

    device = pick_device(args.device)
    dataset = open_dataset(args.data)
    recipe = None
    if args.recipe == "auto":
        n_test = round(len(dataset) * args.test_fraction)
        recipe = recommend(dataset, device, args.time_budget, n_pool=len(dataset) - n_test, n_test=n_test,
                           precision=args.precision)
        log("recipe: " + "; ".join(recipe.reasons))
    config = config_from_args(args, recipe)
    start_from = None
    if args.load is not None:
        loaded = from_bytes(args.load.read_bytes())
        if loaded.in_channels != dataset.channels:
            raise ValueError(f"{args.load} was trained on {loaded.in_channels}-channel images; {dataset.name} has "
                             f"{dataset.channels}")
        config = replace(config, pretext=replace(loaded.pretext, device=args.device,
                                                 lr=_given(args.pretext_lr, loaded.pretext.lr),
                                                 batch_size=_given(args.batch_size, loaded.pretext.batch_size)))
        start_from = loaded.pretext_model
        log(f"loaded {args.load}: {loaded.pretext.make_task().describe()}, trained on {loaded.dataset}")
    log(f"pretext {config.pretext.backbone} at {config.pretext.image_size} px, {config.pretext.epochs} epochs, "
        f"batch {config.pretext.batch_size}, lr {config.pretext.lr:g}")
    return run_experiment(dataset, config, log=log, start_from=start_from)


if __name__ == "__main__":
    from ssl_core.distributed import exit_worker, launched

    code = main()
    if launched():
        exit_worker(code)
    raise SystemExit(code)
