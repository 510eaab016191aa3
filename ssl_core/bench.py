"""Benchmarks that print figures (never asserted by timed tests).

    python -m ssl_core.bench label-efficiency [--scale quick|cpu|full] [--only TITLE ...] [--seeds 0,1,2] [--out FILE]
    python -m ssl_core.bench speed [--quick] [--device all|cpu|cuda] [--out FILE]
    python -m ssl_core.bench merge REPORT.json ... [--out FILE]
    python -m ssl_core.bench talk [--seeds 0,1,2] [--out FILE]
    python -m ssl_core.bench journey [--data mnist-10k|FOLDER] [--seeds 3] [--time-budget S] [--out FILE]
    python -m ssl_core.bench inside [--data mnist-10k|FOLDER ...] [--only TASK ...] [--epochs N] [--out FILE]
    python -m ssl_core.bench distributed [--data FOLDER] [--epochs N] [--out FILE]
    python -m ssl_core.bench precision [--data mnist-10k|FOLDER ...] [--out FILE]

`label-efficiency` reproduces the seeds' protocols on ../shared/data (MNIST test
digits, flowers): SSL (linear probe, fine-tune) against scratch at several label
budgets, every pretext task side by side, mean ± std over seeds.
`speed` measures pretext-training throughput of the app's own trainer (job
thread and callbacks included) against a bare PyTorch loop of the same model,
batch, data and precision, and peak memory; for rotation at 28 px grey and 32 px
colour it prints `cpu rotation <size> px <grey|colour>: chosen <variant> <a> img/s,
fp32 <b> img/s, speed-up <a/b>`.
`precision` runs the recommended journey on each dataset twice, in fp32 and in the
precision training picks on this machine, on the same split and seed, and prints
whether the chosen one trains as well: held-out pretext score and every downstream
accuracy, with the paired interval of each difference.
`journey` runs what the app recommends for a dataset (pretext, then every mode
against scratch over `--seeds` seeds) and prints predicted against measured seconds.
`talk` runs the talk preset headless (pretext, then SSL against scratch) once per
seed and prints, last, `talk preset: <s> s, ssl <acc>, scratch <acc>, difference <d> [<lo>, <hi>]`.
`inside` pretrains every pretext task on the recommended settings (or `--epochs`) and prints what the
See-inside views measure: k-NN separability before and after with its interval, the silhouette, the
live probe from epoch 0 to the end and its cost against an epoch, and the network's score at "you
guess first".
`distributed` launches `torchrun -m ssl_core.distributed` with 1 and 2 processes, streaming the folder
(decoded by DataLoader workers) and from the memory-mapped cache, and prints images/s for each.
`merge` pools label-efficiency reports of the same protocols run apart (one
process per seed, say, to share a GPU) into one mean ± std table.
"""
from __future__ import annotations

import argparse
import itertools
import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ssl_core.augment import augment
from ssl_core.comparison import Comparison
from ssl_core.datasets import ImageDataset
from ssl_core.downstream import DownstreamConfig
from ssl_core.experiment import ExperimentConfig, format_table, pretext_text, run_experiment
from ssl_core.report import ExperimentReport
from ssl_core.models import make_backbone
from ssl_core.precision import Precision, apply, autocast, candidates, measure
from ssl_core.pretext import TASKS
from ssl_core.pretrain import PretrainConfig, device_images
from ssl_core.sources import open_dataset
from ssl_core.train import autocast_for, batch_order, make_optimizer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ROUNDS = 3


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---- label efficiency ----------------------------------------------------------------------

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


# ---- speed -----------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare_loop(images: torch.Tensor, config: PretrainConfig, device: torch.device, steps: int,
              allow_flip: bool) -> float:
    """The same model, batches, optimiser and precision as the trainer, with nothing else around it: images/s."""
    task = config.make_task()
    model = task.build_model(make_backbone(config.backbone, images.shape[1])).to(device)
    variant = Precision(config.precision) if device.type == "cpu" and config.precision != "auto" else Precision.FP32
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    else:
        apply(model, variant)
    step_fn = torch.compile(model) if config.compile else model
    optimizer = make_optimizer([{"params": model.parameters()}], config.lr, config.loop().weight_decay, device)
    data = device_images(images, config.image_size, device)
    generator = torch.Generator(device).manual_seed(0)
    order = torch.Generator().manual_seed(0)
    warmup = steps  # one epoch, as the trainer's figure also leaves out its first epoch
    batches = []
    while len(batches) < warmup + steps:
        batches += batch_order(len(data), config.batch_size, order)
    done = 0
    for i, indices in enumerate(batches[:warmup + steps]):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, done = time.perf_counter(), 0
        inputs, targets = task.make_batch(augment(data[indices.to(device)], generator, allow_flip), generator)
        with autocast_for(device, config.mixed_precision) if device.type == "cuda" else autocast(variant, device):
            loss = task.loss(step_fn(inputs).float(), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done += len(inputs)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return done / (time.perf_counter() - start)


def trainer_speed(images: torch.Tensor, config: PretrainConfig, allow_flip: bool) -> float:
    """Images/s of the app's trainer in a job thread, from the job's own step reports.

    Timed from the first step of epoch 2 (warm-up excluded) to the last, so per-epoch
    held-out scoring and callbacks count against it."""
    from ssl_core.jobs import JobRegistry
    from ssl_core.pretrain import pretrain

    held_out = images[:max(2, len(images) // 4)]  # as the app's default 80/20 split would hold out

    def work(job):
        return pretrain(config, images, held_out, job.callbacks("pretext"), allow_flip=allow_flip)

    job = JobRegistry().start("pretext", "bench", work)
    job.join()
    snap = job.snapshot()
    if snap.status != "done":
        raise RuntimeError(snap.message)
    steps = [s for s in snap.steps if s["epoch"] > 1]
    if len(steps) < 2:
        raise RuntimeError("too few steps to time: raise the epochs")
    images_per_step = config.batch_size * config.make_task().views_per_image
    return (steps[-1]["step"] - steps[0]["step"]) * images_per_step / (steps[-1]["seconds"] - steps[0]["seconds"])


def talk_preset(dataset: ImageDataset, seed: int = 0) -> tuple[float, Comparison]:
    """The talk preset end to end, through the same jobs the page starts; `seed` varies the
    pretext run and the labeled images."""
    from ssl_core.jobs import JobRegistry
    from ssl_core.runs import TALK_DOWNSTREAM, TALK_MODES, TALK_PRETEXT, TALK_SPLIT, comparison_after, pretext_work
    from ssl_core.splits import make_split

    split = make_split(dataset.labels, replace(TALK_SPLIT, seed=seed), dataset.class_names)
    registry = JobRegistry()
    started = time.perf_counter()
    pretext = registry.start("pretext", "talk", pretext_work(dataset, split, replace(TALK_PRETEXT, seed=seed)))
    downstream = registry.start("downstream", "talk", comparison_after(pretext, dataset, split, TALK_MODES,
                                                                        TALK_DOWNSTREAM), after=pretext)
    downstream.join()
    seconds = time.perf_counter() - started
    snap = downstream.snapshot()
    if snap.status != "done":
        raise RuntimeError(snap.message)
    return seconds, snap.result


def talk_line(seconds: float, comparison: Comparison) -> str:
    mode = comparison.best_mode()
    d = comparison.verdicts[mode].difference
    return (f"talk preset: {seconds:.1f} s, ssl {comparison.mean(mode):.3f}, scratch {comparison.mean('scratch'):.3f}, "
            f"difference {d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}]")


def talk(seeds: tuple[int, ...]) -> dict:
    """The talk preset once per seed; the last line pools the seeds (paired over images and seeds)."""
    from ssl_core.device import leave_core_for_server
    from ssl_core.runs import TALK_DATASET

    threads = leave_core_for_server()
    dataset = open_dataset(TALK_DATASET)
    runs = []
    for seed in seeds:
        seconds, comparison = talk_preset(dataset, seed)
        runs.append((seconds, comparison))
        print(f"seed {seed}: {talk_line(seconds, comparison)}", flush=True)
        print(f"  {comparison.headline().text}", flush=True)
    first = runs[0][1]
    pooled = Comparison({mode: [run for _, c in runs for run in c.runs[mode]] for mode in first.runs},
                        first.n_labeled, first.n_test, first.chance, first.labels_per_class, len(runs))
    pooled.judge()
    mean_seconds = sum(s for s, _ in runs) / len(runs)
    report = {"threads": threads, "seeds": list(seeds), "seconds": [s for s, _ in runs],
              "runs": [{mode: c.accuracies(mode)[0] for mode in c.runs} for _, c in runs],
              "differences": [c.headline().difference.to_json() for _, c in runs],
              "pooled": pooled.headline().difference.to_json(), "verdict": pooled.headline().text}
    if len(runs) > 1:
        print(f"all {len(runs)} seeds: {pooled.headline().text}")
    print(talk_line(mean_seconds, pooled))
    return report


def journey(spec: str, seeds: int, time_budget: float | None) -> dict:
    """What a person gets on the app's recommended settings: predicted against measured seconds,
    accuracies and the verdicts."""
    from ssl_core.comparison import compare_modes
    from ssl_core.device import leave_core_for_server
    from ssl_core.pretrain import pretrain
    from ssl_core.recipe import COMPARISON_MODES, recommend
    from ssl_core.splits import SplitConfig, make_split

    threads = leave_core_for_server()
    dataset = open_dataset(spec)
    n_test = round(len(dataset) * SplitConfig().test_fraction)
    recipe = recommend(dataset, "auto", time_budget, n_pool=len(dataset) - n_test, n_test=n_test)
    split = make_split(dataset.labels, SplitConfig(labels_per_class=recipe.labels_per_class), dataset.class_names)
    log("recipe: " + "; ".join(recipe.reasons))
    started = time.perf_counter()
    pretrained = pretrain(recipe.pretext, dataset.images[split.pool], dataset.images[split.test],
                          allow_flip=dataset.allow_flip)
    pretext_s = time.perf_counter() - started
    started = time.perf_counter()
    comparison = compare_modes(dataset, split, pretrained, COMPARISON_MODES, recipe.downstream, seeds)
    comparison_s = (time.perf_counter() - started) / seeds
    print(f"{dataset.name}: {len(split.pool):,} unlabeled, {len(split.labeled):,} labeled, {len(split.test):,} test; "
          f"{recipe.pretext.backbone} at {recipe.pretext.image_size} px, {recipe.pretext.epochs} pretext epochs")
    print(f"pretext: predicted {recipe.pretext_seconds:.0f} s, took {pretext_s:.0f} s "
          f"({pretext_s / recipe.pretext_seconds - 1:+.0%}); {pretrained.evaluation.metric.label} "
          f"{pretrained.evaluation.metric.format(pretrained.evaluation.value)}")
    print(f"comparison (one seed): predicted {recipe.comparison_seconds:.0f} s, took {comparison_s:.0f} s "
          f"({comparison_s / recipe.comparison_seconds - 1:+.0%})")
    for mode in comparison.runs:
        print(f"  {mode}: {comparison.mean(mode):.3f} ± {comparison.std(mode):.3f}")
    for verdict in comparison.verdicts.values():
        print(f"- {verdict.text}")
    note = comparison.chance_note(recipe.pretext.image_size, dataset.channels == 3)
    if note:
        print(f"- {note}")
    return {"threads": threads, "dataset": dataset.name, "predicted": [recipe.pretext_seconds,
                                                                       recipe.comparison_seconds],
            "measured": [pretext_s, comparison_s], "pretext_score": pretrained.evaluation.value,
            "accuracies": {mode: comparison.accuracies(mode) for mode in comparison.runs},
            "differences": {mode: comparison.verdicts[mode].difference.to_json() for mode in comparison.verdicts},
            "verdicts": [v.text for v in comparison.verdicts.values()], "chance_note": note}


def inside(specs: list[str], only: list[str] | None, epochs: int | None) -> dict:
    """The See-inside figures for each dataset and pretext task (one seed, the recommended settings)."""
    from ssl_core.augment import resize_all
    from ssl_core.device import leave_core_for_server
    from ssl_core.pretrain import pretrain
    from ssl_core.probe import PROBE_KEY, PROBE_START_KEY, KnnProbe
    from ssl_core.projection import before_after, project
    from ssl_core.features import embed
    from ssl_core.recipe import recommend
    from ssl_core.runs import live_probe
    from ssl_core.splits import SplitConfig, make_split
    from ssl_core.train import Callbacks

    leave_core_for_server()
    rows = []
    for spec in specs:
        dataset = open_dataset(spec)
        n_test = round(len(dataset) * SplitConfig().test_fraction)
        recipe = recommend(dataset, "auto", n_pool=len(dataset) - n_test, n_test=n_test)
        split = make_split(dataset.labels, SplitConfig(labels_per_class=recipe.labels_per_class), dataset.class_names)
        block = recipe.downstream.block
        probe = live_probe(dataset, split, block)
        for task in (t for t in TASKS if (not only or t in only) and not TASKS[t].unavailable(dataset.channels)):
            config = replace(recipe.pretext, task=task, epochs=epochs or recipe.pretext.epochs)
            epoch_ends: list[float] = []
            records: list[dict] = []

            class Clock(Callbacks):
                def on_epoch(self, event) -> None:
                    epoch_ends.append(time.perf_counter())
                    records.append(event.metrics)

            started = time.perf_counter()
            result = pretrain(config, dataset.images[split.pool], dataset.images[split.test], Clock(),
                              allow_flip=dataset.allow_flip, probe=probe)
            epoch_s = (epoch_ends[-1] - started) / len(epoch_ends)
            knn = KnnProbe(probe, config.image_size, result.device)
            t0 = time.perf_counter()
            for _ in range(3):
                knn(result.backbone)
            probe_s = (time.perf_counter() - t0) / 3
            test_x, test_y = dataset.images[split.test], dataset.labels[split.test]
            maps = before_after(result, test_x, test_y, dataset.num_classes, block, "pca", limit=1000)
            t0 = time.perf_counter()
            project(embed(result.backbone, test_x[maps.indices], config.image_size, block), "tsne")
            tsne_s = time.perf_counter() - t0
            quiz_images = resize_all(test_x[:64], config.image_size)
            quiz = result.task.quiz(quiz_images, torch.Generator().manual_seed(0))
            answers = result.task.quiz_answers(result.model, quiz)
            quiz_score = sum(a == q.answer for a, q in zip(answers, quiz.questions)) / len(answers)
            before, after = maps.before.separability, maps.after.separability
            row = {"dataset": dataset.name, "task": task, "epochs": config.epochs, "image_size": config.image_size,
                   "pretext": result.evaluation.metric.format(result.evaluation.value),
                   "knn_before": before.knn_accuracy, "knn_after": after.knn_accuracy,
                   "knn_difference": maps.difference.to_json(), "outcome": maps.outcome,
                   "silhouette_before": before.silhouette, "silhouette_after": after.silhouette,
                   "probe_start": records[0].get(PROBE_START_KEY), "probe_end": records[-1].get(PROBE_KEY),
                   "probe_share_of_epoch": probe_s / epoch_s, "epoch_s": epoch_s, "tsne_1000_s": tsne_s,
                   "probed_epochs": sum(PROBE_KEY in r for r in records),
                   "quiz_network": quiz_score, "quiz_chance": quiz.chance, "block": block}
            rows.append(row)
            print(f"{dataset.name} · {task} ({config.epochs} epochs, {config.image_size} px, block {block}): pretext "
                  f"{row['pretext']}; k-NN {before.knn_accuracy:.1%} → {after.knn_accuracy:.1%} "
                  f"({maps.difference.mean * 100:+.1f} [{maps.difference.low * 100:+.1f}, "
                  f"{maps.difference.high * 100:+.1f}], {maps.outcome}); silhouette {before.silhouette:+.2f} → "
                  f"{after.silhouette:+.2f}; live probe {row['probe_start']:.1%} → {row['probe_end']:.1%}, "
                  f"{probe_s:.2f} s = {row['probe_share_of_epoch']:.1%} of an epoch, measured after "
                  f"{row['probed_epochs']} of {config.epochs} epochs; t-SNE of {len(maps.labels):,} "
                  f"{tsne_s:.1f} s; quiz: network {quiz_score:.0%} (chance {quiz.chance:.0%})", flush=True)
    return {"rows": rows}


def distributed(folder: Path, epochs: int) -> dict:
    """Pretext images/s of the distributed trainer: 1 and 2 processes, streamed and cached."""
    import os
    import subprocess
    import tempfile

    from ssl_core.metrics import ACCURACY, PSNR

    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for processes, source in itertools.product((1, 2), ("streamed", "cached")):
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                       "-m", "ssl_core.distributed", "--data", str(folder), "--epochs", str(epochs), "--image-size",
                       "32", "--batch-size", "64", "--workers", "1", "--json"]
            if source == "cached":
                command += ["--cache", cache]
            env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // processes))}
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode:
                raise RuntimeError(done.stderr[-2000:])
            run = json.loads(done.stdout.strip().splitlines()[-1])
            held_out = run.get("held_out")
            rows.append({"processes": processes, "source": source, "images_per_s": run["images_per_s"],
                         "epoch_losses": run["epoch_losses"], "held_out": held_out})
            metric = PSNR if held_out and held_out["metric"] == PSNR.key else ACCURACY
            scored = f", held-out {metric.label} {metric.format(held_out['value'])}" if held_out else ""
            print(f"{processes} process(es), {source}: {run['images_per_s']:,.0f} images/s "
                  f"(loss {run['epoch_losses'][0]:.3f} -> {run['epoch_losses'][-1]:.3f}{scored})", flush=True)
    return {"rows": rows, "cpu_count": os.cpu_count()}


def chosen_precision(images: torch.Tensor, config: PretrainConfig) -> tuple[Precision, dict[Precision, float]]:
    """What training picks on this machine for this network and batch (`precision.choose`)."""
    task = config.make_task()
    model = task.build_model(make_backbone(config.backbone, images.shape[1]))
    batch = task.training_batch(device_images(images[:config.batch_size], config.image_size, torch.device("cpu")),
                                torch.Generator().manual_seed(0))
    return measure(model, *batch, task.loss)


def trainer_and_bare(images: torch.Tensor, config: PretrainConfig, device: torch.device, rounds: int) -> tuple[float, float]:
    """Images/s of the trainer and of a bare loop, best of `rounds` interleaved rounds (robust to noise)."""
    steps = max(5, int(len(images) / config.batch_size))
    trainer, bare = 0.0, 0.0
    for _ in range(rounds):
        trainer = max(trainer, trainer_speed(images, config, allow_flip=False))
        bare = max(bare, bare_loop(images, config, device, steps, allow_flip=False))
    return trainer, bare


def speed(quick: bool, device_names: tuple[str, ...] = ("cpu", "cuda")) -> dict:
    """CPU: rotation at 28 px grey (the digits) and 32 px colour in every precision this CPU offers, with
    the one training picks here and its speed-up over fp32; every other task in the chosen precision.
    CUDA: rotation in three precisions."""
    from ssl_core.datasets import load_mnist_10k
    from ssl_core.device import leave_core_for_server

    threads = leave_core_for_server()
    digits = load_mnist_10k()
    rows, lines = [], []
    devices = [torch.device(name) for name in device_names if name != "cuda" or torch.cuda.is_available()]
    if not devices:
        raise ValueError(f"none of {', '.join(device_names)} is available here")
    colour = torch.randint(0, 256, (512 if quick else 1024, 3, 32, 32), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    grey = digits.images[:512 if quick else 1024]
    rounds = 1 if quick else ROUNDS

    def row(device, task, backbone, size, label, config, images) -> dict:
        trainer, bare = trainer_and_bare(images, config, device, rounds)
        found = {"device": device.type, "task": task, "backbone": backbone, "image_size": size, "precision": label,
                 "trainer": trainer, "bare": bare, "ratio": trainer / bare}
        log(f"{device.type} {task} {backbone}@{size} {label}: trainer {trainer:,.0f} img/s, bare {bare:,.0f} img/s")
        rows.append(found)
        return found

    for device in devices:
        if device.type == "cpu":
            for size, kind, images in ((28, "grey", grey), (32, "colour", colour)):
                base = PretrainConfig(task="rotation", image_size=size, epochs=2 if quick else 3, device="cpu")
                chosen, _ = chosen_precision(images, base)
                measured = {}
                for variant in candidates(device):
                    measured[variant] = row(device, "rotation", "small_cnn", size, variant.value,
                                            replace(base, precision=variant.value), images)
                a, b = measured[chosen]["trainer"], measured[Precision.FP32]["trainer"]
                lines.append(f"cpu rotation {size} px {kind}: chosen {chosen.value} {a:,.0f} img/s, "
                             f"fp32 {b:,.0f} img/s, speed-up {a / b:.2f}")
                measured[chosen]["chosen"] = True
            if not quick:
                for task in TASKS:
                    if task == "rotation":
                        continue
                    config = PretrainConfig(task=task, image_size=32, epochs=3, device="cpu")
                    chosen, _ = chosen_precision(colour, config)
                    row(device, task, "small_cnn", 32, chosen.value, replace(config, precision=chosen.value), colour)
        else:
            for label, mixed, compile_model in (("fp32", False, False), ("bf16+channels_last", True, False),
                                                ("bf16+channels_last+compile", True, True)):
                config = PretrainConfig(task="rotation", image_size=64, epochs=2 if quick else 3, device="cuda",
                                        batch_size=512, mixed_precision=mixed, compile=compile_model)
                row(device, "rotation", "small_cnn", 64, label, config, digits.images.repeat(2, 1, 1, 1))
    report = {"threads": threads, "rows": rows, "lines": lines, "peak_rss_mb": peak_rss_mb()}
    if torch.cuda.is_available():
        report["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print("| device | task | backbone | size | precision | trainer inputs/s | bare inputs/s | trainer/bare |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['device']} | {r['task']} | {r['backbone']} | {r['image_size']} | {r['precision']}"
              f"{' (chosen)' if r.get('chosen') else ''} | {r['trainer']:,.0f} | {r['bare']:,.0f} | {r['ratio']:.2f} |")
    print(f"\ntorch threads: {threads}; peak RSS {report['peak_rss_mb']:.0f} MB")
    for line in lines:
        print(line)
    print(f"lowest trainer/bare ratio: {min(r['ratio'] for r in rows):.2f}")
    return report


def precision_check(specs: list[str]) -> dict:
    """The recommended journey in fp32 and in the chosen precision, same split and seeds: does the
    faster variant train as well? Held-out pretext score and downstream accuracies side by side."""
    from ssl_core.comparison import compare_modes
    from ssl_core.device import leave_core_for_server
    from ssl_core.pretrain import pretrain
    from ssl_core.recipe import COMPARISON_MODES, recommend
    from ssl_core.splits import SplitConfig, make_split
    from ssl_core.stats import paired_difference

    threads = leave_core_for_server()
    out = []
    print("| dataset | precision | pretext s | pretext score | linear | fine-tuned | scratch |")
    print("|---|---|---|---|---|---|---|")
    for spec in specs:
        dataset = open_dataset(spec, size=64)
        n_test = round(len(dataset) * SplitConfig().test_fraction)
        recipe = recommend(dataset, "cpu", n_pool=len(dataset) - n_test, n_test=n_test)
        split = make_split(dataset.labels, SplitConfig(labels_per_class=recipe.labels_per_class), dataset.class_names)
        chosen, _ = chosen_precision(dataset.images[split.pool], recipe.pretext)
        runs = {}
        for variant in dict.fromkeys((Precision.FP32, chosen)):
            started = time.perf_counter()
            pretrained = pretrain(replace(recipe.pretext, precision=variant.value), dataset.images[split.pool],
                                  dataset.images[split.test], allow_flip=dataset.allow_flip)
            seconds = time.perf_counter() - started
            comparison = compare_modes(dataset, split, pretrained, COMPARISON_MODES,
                                       replace(recipe.downstream, precision=variant.value))
            runs[variant] = (seconds, pretrained, comparison)
            score = pretrained.evaluation
            print(f"| {dataset.name} | {variant.value} | {seconds:.0f} | {score.metric.format(score.value)} | "
                  + " | ".join(f"{comparison.mean(m):.1%}" for m in COMPARISON_MODES) + " |", flush=True)
        entry = {"dataset": dataset.name, "chosen": chosen.value, "epochs": recipe.pretext.epochs,
                 "image_size": recipe.pretext.image_size, "n_test": len(split.test),
                 "runs": {v.value: {"pretext_seconds": sec, "pretext_score": p.evaluation.value,
                                    "accuracies": {m: c.mean(m) for m in COMPARISON_MODES}}
                          for v, (sec, p, c) in runs.items()}}
        if chosen is not Precision.FP32:
            fast, slow = runs[chosen][2], runs[Precision.FP32][2]
            entry["differences"] = {m: paired_difference(fast.runs[m][0].evaluation.correct,
                                                         slow.runs[m][0].evaluation.correct).to_json()
                                    for m in COMPARISON_MODES}
            for m, d in entry["differences"].items():
                print(f"{dataset.name} {m}: {chosen.value} - fp32 = {d['mean'] * 100:+.1f} points "
                      f"[{d['ci95'][0] * 100:+.1f}, {d['ci95'][1] * 100:+.1f}]")
        out.append(entry)
    return {"threads": threads, "datasets": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ssl_core.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("which", choices=["label-efficiency", "speed", "merge", "talk", "journey", "inside",
                                          "distributed", "precision"])
    parser.add_argument("reports", nargs="*", type=Path,
                        help="merge: label-efficiency JSON files of the same protocols on different seeds")
    parser.add_argument("--quick", action="store_true", help="fewer epochs, one seed, smaller images")
    parser.add_argument("--scale", choices=SCALES, default=None,
                        help="label-efficiency: quick (smoke), cpu (about 30 min on 2 cores) or full (the seeds' "
                             "protocol, a GPU's work); default full, or quick with --quick")
    parser.add_argument("--epochs", type=int, default=None, help="inside: pretext epochs instead of the recipe's")
    parser.add_argument("--data", action="append",
                        help="label-efficiency: folder holding mnist/ and flowers/ (default ../shared/data); "
                             "journey: a dataset name or folder (default mnist-10k); inside: one or more of those")
    parser.add_argument("--time-budget", type=float, default=None, help="journey: seconds for the recipe")
    parser.add_argument("--only", action="append",
                        help="run only the protocols whose title contains this (repeat for several)")
    parser.add_argument("--seeds", help="label-efficiency: these seeds (comma-separated) instead of the protocol's; "
                                         "talk: one run per seed (default 0)")
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all",
                        help="speed: which devices to measure (cuda is skipped where absent)")
    parser.add_argument("--out", type=Path, help="JSON file to write (default bench-results/<which>.json)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = args.out or Path("bench-results") / f"{args.which}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(report: dict) -> None:
        out.write_text(json.dumps({"quick": args.quick, **report, "seconds": time.perf_counter() - started},
                                  indent=2))

    if args.which == "label-efficiency":
        data = Path(args.data[-1]) if args.data else SHARED
        if not data.is_dir():
            print(f"error: {data} is missing: the benchmark needs ../shared/data", file=sys.stderr)
            return 1
        seeds = tuple(int(v) for v in args.seeds.split(",")) if args.seeds else None
        scale = args.scale or ("quick" if args.quick else "full")
        write({"protocols": protocols_json(label_efficiency(
            scale, data, args.only, seeds, on_report=lambda reports: write({"protocols": protocols_json(reports)})))})
    elif args.which == "distributed":
        write(distributed(Path(args.data[-1]) if args.data else SHARED / "flowers", args.epochs or 2))
    elif args.which == "precision":
        write(precision_check(args.data or ["mnist-10k", str(SHARED / "flowers")]))
    elif args.which == "inside":
        write(inside(args.data or ["mnist-10k"], args.only, args.epochs))
    elif args.which == "journey":
        write(journey(args.data[-1] if args.data else "mnist-10k", int(args.seeds or 1), args.time_budget))
    elif args.which == "talk":
        write(talk(tuple(int(v) for v in args.seeds.split(",")) if args.seeds else (0,)))
    elif args.which == "merge":
        try:
            write({"protocols": protocols_json(merge_files(args.reports))})
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: cannot merge: {exc}", file=sys.stderr)
            return 1
    else:
        devices = ("cpu", "cuda") if args.device == "all" else (args.device,)
        try:
            write(speed(args.quick, devices))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    log(f"total {time.perf_counter() - started:.0f} s; JSON written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
