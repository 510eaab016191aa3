"""`python -m ssl_core experiment`: the label-budget experiment from the command line.

One pretext pretraining per seed (or a model file's network, `--load`), then for each label budget the SSL
transfer and the same network from scratch on the same labels, with the verdicts; `--json` prints the report.
Under `torchrun` the pretext training is shared by the processes, streamed from the `--data` folder.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ssl_core.analysis.experiment import ExperimentConfig, format_table, pretext_text, run_experiment, task_options_text
from ssl_core.analysis.report import ExperimentReport
from ssl_core.cli.flags import add_precision, add_pretext_arguments, add_streaming_arguments, add_test_fraction, numbers
from ssl_core.engine.distributed import is_rank_zero, launched
from ssl_core.engine.downstream import DownstreamConfig, Transfer
from ssl_core.engine.pretrain import PretrainConfig
from ssl_core.engine.recipe import Recipe
from ssl_core.pretext import parse_options, task_type

HELP = "the label-budget experiment: SSL against scratch at several label budgets"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="mnist-10k", help="built-in name (mnist-10k, digits, mnist, ...) or a folder")
    parser.add_argument("--recipe", choices=["auto", "defaults"], default="defaults",
                        help="auto: the settings `recommend` picks for this dataset and device (the app's); "
                             "flags given explicitly still override it")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="with --recipe auto: seconds for pretext training and one comparison")
    add_pretext_arguments(parser, PretrainConfig(), recipe_fills=True)
    parser.add_argument("--list-options", action="store_true", help="print every task's options and exit")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--labels-per-class", type=numbers(int), default=None,
                        help="default: 1,10,100 (with --recipe auto: the recipe's budget)")
    budget.add_argument("--label-fraction", type=numbers(float), default=())
    add_test_fraction(parser)
    parser.add_argument("--transfer", choices=[t.value for t in Transfer], default=Transfer.BOTH.value)
    parser.add_argument("--block", type=int, default=None, help="backbone block the linear probe reads")
    parser.add_argument("--downstream-epochs", type=int, default=None)
    parser.add_argument("--downstream-lr", type=float, default=None)
    parser.add_argument("--downstream-min-steps", type=int, default=None,
                        help="optimiser steps at least, however few the labels")
    parser.add_argument("--scratch-lrs", type=numbers(float), default=(),
                        help="learning rates tried for the scratch baseline; its best is reported")
    parser.add_argument("--load", type=Path, default=None, metavar="FILE",
                        help="start from the pretext network in a model file (the app's Download the models): "
                             "its task, backbone and image size; no pretext training unless --continue-epochs")
    parser.add_argument("--continue-epochs", type=int, default=0, metavar="N",
                        help="with --load: train the loaded network N more epochs on --data first")
    add_streaming_arguments(parser, "under torchrun: ")
    parser.add_argument("--pool-limit", type=int, default=None, help="use at most this many pretext images")
    parser.add_argument("--seeds", type=numbers(int), default=(0,))
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    add_precision(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


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
                      epochs=_given(args.epochs, base.epochs),
                      batch_size=_given(args.batch_size, base.batch_size), lr=_given(args.lr, base.lr),
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
                            transfer=Transfer(args.transfer), seeds=args.seeds, pool_limit=args.pool_limit,
                            scratch_lrs=args.scratch_lrs, continue_epochs=args.continue_epochs)


def run(args: argparse.Namespace) -> int:
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
    from ssl_core.data.sources import open_dataset
    from ssl_core.engine.distributed import Stream, train

    if args.load is not None:
        raise ValueError("--load needs no pretraining: run it without torchrun")
    if not Path(args.data).is_dir():
        raise ValueError("under torchrun --data is a folder of images, streamed from disk")
    if args.recipe == "auto":
        log("under torchrun the recipe is not timed: the defaults and the flags given are used")
    config = config_from_args(args, None)
    trained = train(config.pretext, Stream(Path(args.data), args.test_fraction, args.workers, args.cache), log)
    if trained.result is None:
        return None
    dataset = open_dataset(args.data)
    if dataset.skipped:
        log(f"{len(dataset.skipped)} files could not be decoded: the comparison's held-out images may include a few "
            "the pretext task saw")
    return run_experiment(dataset, config, log=log, start_from=trained.result.model)


def _in_one_process(args: argparse.Namespace, log: Callable[[str], None]) -> ExperimentReport:
    from ssl_core.data.sources import open_dataset
    from ssl_core.engine.device import pick_device
    from ssl_core.engine.model_file import from_bytes
    from ssl_core.engine.recipe import recommend

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
                                                 lr=_given(args.lr, loaded.pretext.lr),
                                                 batch_size=_given(args.batch_size, loaded.pretext.batch_size)))
        start_from = loaded.pretext_model
        log(f"loaded {args.load}: {loaded.pretext.make_task().describe()}, trained on {loaded.dataset}")
    log(f"pretext {config.pretext.backbone} at {config.pretext.image_size} px, {config.pretext.epochs} epochs, "
        f"batch {config.pretext.batch_size}, lr {config.pretext.lr:g}")
    return run_experiment(dataset, config, log=log, start_from=start_from)

