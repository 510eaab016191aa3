"""`python -m ssl_core pretrain`: pretext training past one machine's memory and one device.

    torchrun --standalone --nproc_per_node=N -m ssl_core pretrain --data FOLDER [--cache DIR] [--workers 4] ...

Streams the folder (`ssl_core.engine.distributed`); rank 0 writes the model file (`--out`) and scores the
held-out images at the end.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ssl_core.analysis.summary import summary
from ssl_core.cli.flags import add_precision, add_pretext_arguments, add_streaming_arguments, add_test_fraction
from ssl_core.engine.distributed import Stream, is_rank_zero, score_held_out, train
from ssl_core.engine.pretrain import PretrainConfig
from ssl_core.engine.train import TrainingDiverged
from ssl_core.pretext import TASKS, parse_options

HELP = "pretext training alone, streamed from a folder, on one process or several (torchrun)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path,
                        help="a folder with one subfolder per class (or unlabeled images)")
    add_pretext_arguments(parser, PretrainConfig(image_size=32))
    parser.add_argument("--seed", type=int, default=PretrainConfig().seed)
    add_test_fraction(parser)
    add_streaming_arguments(parser)
    parser.add_argument("--backend", choices=["auto", "gloo", "nccl"], default="auto")
    parser.add_argument("--out", type=Path, help="model file to write (rank 0)")
    add_precision(parser)
    parser.add_argument("--json", action="store_true", help="print the run's figures as one JSON line (rank 0)")


def run(args: argparse.Namespace) -> int:
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    try:
        config = PretrainConfig(task=args.pretext, settings=parse_options(TASKS[args.pretext].Settings, args.task_option),
                                backbone=args.backbone, image_size=args.image_size, epochs=args.epochs,
                                batch_size=args.batch_size, lr=args.lr, seed=args.seed, precision=args.precision)
        stream = Stream(args.data, args.test_fraction, args.workers, args.cache, args.backend, args.out)
        trained = train(config, stream, log)
        if trained.result is not None:  # rank 0, after the process group is gone: the others need not wait
            score_held_out(trained, stream)
            log(f"{summary(trained.result)}, on {trained.held_out_images:,} images it never trained on"
                if trained.held_out_images else "no held-out images (--test-fraction 0): the pretext task is not scored")
    except (ValueError, OSError, TrainingDiverged) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json and is_rank_zero():
        print(json.dumps(trained.figures()))
    return 0
