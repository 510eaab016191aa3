"""The flags the commands share, spelled one way: `--epochs` and `--lr` are the pretext training's everywhere,
`--test-fraction` the share of each class held out. The spellings before `python -m ssl_core` (`--pretext-epochs`,
`--pretext-lr`, `--holdout`) still work for this release, with a note."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ssl_core.engine.precision import CHOICES as PRECISIONS
from ssl_core.engine.pretrain import PretrainConfig
from ssl_core.pretext import TASKS

OLD_SPELLINGS = {"--pretext-epochs": "--epochs", "--pretext-lr": "--lr", "--holdout": "--test-fraction"}


def numbers(kind: type) -> Callable[[str], tuple]:
    """A comma-separated list of `kind`s: `1,10,100`."""
    def parse(text: str) -> tuple:
        try:
            values = tuple(kind(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {kind.__name__}s, got {text!r}") from None
        if not values:
            raise argparse.ArgumentTypeError("expected at least one value")
        return values
    return parse


def add_pretext_arguments(parser: argparse.ArgumentParser, defaults: PretrainConfig, recipe_fills: bool = False) -> None:
    """The pretext task and its training. With `recipe_fills` the defaults are None: the recipe fills them."""
    def default(value):
        return None if recipe_fills else value

    parser.add_argument("--pretext", choices=list(TASKS), default=defaults.task)
    parser.add_argument("--task-option", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of the pretext task, e.g. angles=90,180 or grid=3 (repeatable); "
                             "`experiment --list-options` shows each task's")
    parser.add_argument("--backbone", default=default(defaults.backbone))
    parser.add_argument("--image-size", type=int, default=default(defaults.image_size))
    parser.add_argument("--epochs", "--pretext-epochs", dest="epochs", type=int, default=default(defaults.epochs),
                        help="pretext training epochs")
    parser.add_argument("--batch-size", type=int, default=default(defaults.batch_size))
    parser.add_argument("--lr", "--pretext-lr", dest="lr", type=float, default=default(defaults.lr),
                        help="pretext training learning rate")


def add_test_fraction(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--test-fraction", "--holdout", dest="test_fraction", type=float, default=0.2,
                        help="share of each class held out: never pretrained on, the comparison's test images")


def add_streaming_arguments(parser: argparse.ArgumentParser, when: str = "") -> None:
    parser.add_argument("--workers", type=int, default=2, help=f"{when}DataLoader workers per process that decode "
                                                               "the --data folder")
    parser.add_argument("--cache", type=Path, help=f"{when}folder for a one-off uint8 cache of the images at the "
                                                   "training size")


def add_precision(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="a CPU's training steps: auto (the fastest measured here that beats fp32 by 10%%), "
                             "fp32, channels_last or bf16 (with channels-last)")


def note_old_spellings(argv: Sequence[str]) -> None:
    """A line on stderr for each flag given in its old spelling."""
    for arg in argv:
        old = arg.partition("=")[0]
        if old in OLD_SPELLINGS:
            print(f"note: {old} is now {OLD_SPELLINGS[old]}; the old spelling works until the next release",
                  file=sys.stderr)
