"""`python -m ssl_core bench label-efficiency [--scale quick|cpu|full] [--only TITLE ...] [--seeds 0,1,2]`

Reproduces the seeds' protocols on ../shared/data (MNIST test digits, flowers): SSL (linear probe, fine-tune)
against scratch at several label budgets, every pretext task side by side, mean ± std over seeds.
`python -m ssl_core bench merge REPORT.json ...` pools reports of the same protocols run apart (one process per
seed, say, to share a GPU) into one mean ± std table.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ssl_core.analysis.experiment import ExperimentConfig, format_table, pretext_text, run_experiment
from ssl_core.analysis.report import ExperimentReport
from ssl_core.bench.common import SHARED, log
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.sources import open_dataset
from ssl_core.engine.downstream import DownstreamConfig
from ssl_core.engine.pretrain import PretrainConfig
from ssl_core.pretext import TASKS

HELP = "the seeds' protocols: SSL against scratch at several label budgets, every task"


@dataclass(frozen=True)
class Protocol:
    title: str
    folder: str
    experiment: ExperimentConfig


SCALES = ("quick", "cpu", "full")


def protocols(scale: str) -> list[Protocol]:
    """Every registered task on MNIST and flowers (colour-only tasks on flowers alone).

    `full` is the seeds' protocol (3 seeds, full pools, 28 px digits, 64 px flowers with the wide CNN:
    a GPU's work); `cpu` is sized to finish within about 30 minutes on 2 CPU cores (one seed, 3,000
    digits and 2,000 flowers for pretext training, 28 and 32 px, 1 and 10 labels per class on digits,
    10% of the labels on flowers);
    `quick` is a smoke run."""
    quick, full = scale == "quick", scale == "full"
    seeds = (0, 1, 2) if full else (0,)
    mnist_pretext = PretrainConfig(image_size=16 if quick else 28, epochs=3 if quick else 30 if full else 6,
                                   batch_size=128 if full else 64)
    flowers_pretext = PretrainConfig(image_size=24 if quick else 64 if full else 32,
                                     epochs=3 if quick else 60 if full else 10,
                                     backbone="wide_cnn" if full else "small_cnn", batch_size=64)
    down = DownstreamConfig(epochs=3 if quick else 60 if full else 40, min_steps=60 if quick else 300 if full else 150)
    scratch_lrs = (1e-3, 3e-3) if full else ()  # the baseline gets the better of two rates
    mnist = ExperimentConfig(pretext=mnist_pretext, downstream=down,
                             labels_per_class=(10, 100) if quick else (1, 10, 100) if full else (1, 10),
                             test_fraction=0.2, seeds=seeds, pool_limit=None if full else 2000 if quick else 3000,
                             scratch_lrs=scratch_lrs)
    flowers = ExperimentConfig(pretext=flowers_pretext, downstream=down,
                               label_fractions=(0.1, 0.5, 1.0) if full else (0.1, 1.0) if quick else (0.1,),
                               test_fraction=0.2, seeds=seeds, pool_limit=None if full else 1500 if quick else 2000,
                               scratch_lrs=scratch_lrs)
    flowers_10 = replace(flowers, label_fractions=(), labels_per_class=(10,))
    out = []
    for name, task in TASKS.items():
        for title, folder, config, channels in (("MNIST digits", "mnist", mnist, 1), ("Flowers", "flowers", flowers, 3),
                                                ("Flowers 10/class", "flowers", flowers_10, 3)):
            if task.unavailable(channels) or (title == "Flowers 10/class" and not full):
                continue
            pretext = replace(config.pretext, task=name)
            out.append(Protocol(f"{title}, {name}", folder, replace(config, pretext=pretext)))
    return out


def label_efficiency(scale: str, data_root: Path, only: list[str] | None = None,
                     seeds: tuple[int, ...] | None = None,
                     on_report: Callable[[dict[str, ExperimentReport]], None] = lambda reports: None
                     ) -> dict[str, ExperimentReport]:
    """Every protocol whose title contains one of the `only` texts (all when None). `on_report` gets
    the reports so far after each downstream result, so a run cut short keeps what it measured."""
    reports = {}
    cache: dict[str, ImageDataset] = {}
    wanted = [word.lower() for word in only or []]
    for protocol in protocols(scale):
        if wanted and not any(word in protocol.title.lower() for word in wanted):
            continue
        folder = data_root / protocol.folder
        if not folder.is_dir():
            log(f"skipping {protocol.title}: {folder} is missing")
            continue
        if protocol.folder not in cache:
            cache[protocol.folder] = open_dataset(str(folder), size=64)
        log(f"== {protocol.title}")
        experiment = replace(protocol.experiment, seeds=seeds) if seeds else protocol.experiment
        reports[protocol.title] = run_experiment(
            cache[protocol.folder], experiment, log=log,
            on_partial=lambda partial, title=protocol.title: on_report({**reports, title: partial}))
        print_report(protocol.title, reports[protocol.title])
        on_report(reports)
    return reports


def print_report(title: str, report: ExperimentReport) -> None:
    print(f"\n### {title}\npretext {pretext_text(report)} "
          f"({len(report.pretext_scores)} seeds), {report.n_unlabeled} unlabeled, "
          f"{report.n_test} test, {report.seconds:.0f} s\n")
    print(format_table(report), flush=True)


def protocols_json(reports: dict[str, ExperimentReport]) -> dict:
    return {title: report.to_json() for title, report in reports.items()}


def merge_files(paths: list[Path]) -> dict[str, ExperimentReport]:
    """Reports of the same protocols on different seeds, run as separate processes, into one."""
    by_title: dict[str, list[ExperimentReport]] = {}
    for path in paths:
        for title, report in json.loads(path.read_text())["protocols"].items():
            by_title.setdefault(title, []).append(ExperimentReport.from_json(report))
    order = [p.title for p in protocols("full")]
    merged = {title: ExperimentReport.merged(by_title[title])
              for title in sorted(by_title, key=lambda t: order.index(t) if t in order else len(order))}
    for title, report in merged.items():
        print_report(title, report)
    return merged


def add_arguments(parser) -> None:
    parser.add_argument("--scale", choices=SCALES, default="full",
                        help="quick (smoke), cpu (about 30 min on 2 cores) or full (the seeds' protocol, a GPU's work)")
    parser.add_argument("--data", type=Path, default=SHARED, help="folder holding mnist/ and flowers/")
    parser.add_argument("--only", action="append", help="only the protocols whose title contains this (repeatable)")
    parser.add_argument("--seeds", help="these seeds (comma-separated) instead of the protocol's")


def main(args, write) -> int:
    if not args.data.is_dir():
        print(f"error: {args.data} is missing: the benchmark needs ../shared/data", file=sys.stderr)
        return 1
    seeds = tuple(int(v) for v in args.seeds.split(",")) if args.seeds else None
    write({"protocols": protocols_json(label_efficiency(
        args.scale, args.data, args.only, seeds, on_report=lambda reports: write({"protocols": protocols_json(reports)})))})
    return 0


def add_merge_arguments(parser) -> None:
    parser.add_argument("reports", nargs="+", type=Path, help="label-efficiency JSON files of the same protocols")


def merge(args, write) -> int:
    try:
        write({"protocols": protocols_json(merge_files(args.reports))})
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot merge: {exc}", file=sys.stderr)
        return 1
    return 0
