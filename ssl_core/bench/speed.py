"""`python -m ssl_core bench speed [--quick] [--device all|cpu|cuda]`

Pretext-training throughput of the app's own trainer (job thread and callbacks included) against a bare PyTorch
loop of the same model, batch, data and precision, and peak memory; for rotation at 28 px grey and 32 px colour
it prints `cpu rotation <size> px <grey|colour>: chosen <variant> <a> img/s, fp32 <b> img/s, speed-up <a/b>`.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace

import torch

from ssl_core.bench.common import ROUNDS, log, peak_rss_mb
from ssl_core.data.augment import augment
from ssl_core.engine.models import make_backbone
from ssl_core.engine.precision import Precision, apply, autocast, candidates, measure
from ssl_core.engine.pretrain import PretrainConfig, device_images
from ssl_core.engine.train import autocast_for, batch_order, make_optimizer
from ssl_core.pretext import TASKS

HELP = "training throughput: the app's trainer against a bare loop, and the precision speed-up"


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
    from ssl_core.app.jobs import JobRegistry
    from ssl_core.engine.pretrain import pretrain

    held_out = images[:max(2, len(images) // 4)]  # as the app's default 80/20 split would hold out

    def work(job):
        return pretrain(config, images, held_out, job.callbacks("pretext"), allow_flip=allow_flip)

    job = JobRegistry().start("pretext", "bench", work)
    job.join()
    snap = job.snapshot()
    if snap.status != "done":
        raise RuntimeError(snap.message)
    steps = [s for s in snap.steps if s.epoch > 1]
    if len(steps) < 2:
        raise RuntimeError("too few steps to time: raise the epochs")
    images_per_step = config.batch_size * config.make_task().views_per_image
    return (steps[-1].step - steps[0].step) * images_per_step / (steps[-1].seconds - steps[0].seconds)


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
    from ssl_core.data.datasets import load_mnist_10k
    from ssl_core.engine.device import leave_core_for_server

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


def add_arguments(parser) -> None:
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all",
                        help="which devices to measure (cuda is skipped where absent)")


def main(args, write) -> int:
    try:
        write(speed(args.quick, ("cpu", "cuda") if args.device == "all" else (args.device,)))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
