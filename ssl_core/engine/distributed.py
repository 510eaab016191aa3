"""Pretext training past one machine's memory and one device, with PyTorch's own distributed engine.

    torchrun --standalone --nproc_per_node=N -m ssl_core pretrain --data FOLDER [--cache DIR] [--workers 4] ...
    python -m ssl_core pretrain --data FOLDER ...            # one process, the same code

One process per device: DistributedDataParallel all-reduces the gradients, a DistributedSampler gives
each rank a disjoint shard of every epoch, and only rank 0 logs, writes the model file (the format
the app opens on its Downstream page, and `python -m ssl_core experiment --load` reads) and scores the
pretext task on the held-out images at the end. Images stream
from the folder, decoded in DataLoader workers, or from a one-off memory-mapped cache at the training
size. `gloo` on CPUs, `nccl` on CUDA. `--batch-size` is the global batch: each of N ranks takes 1/N.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset

from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import SplitConfig, make_split
from ssl_core.data.streaming import (BROKEN, CachedImages, FolderIndex, StreamedImages, build_cache, cache_folder,
                                     index_folder)
from ssl_core.engine.model_file import to_bytes
from ssl_core.engine.precision import Precision, apply, autocast, choose
from ssl_core.engine.pretrain import EVAL_CAP, PretrainConfig, PretrainResult, initial_backbone, scored
from ssl_core.engine.train import TrainingDiverged, make_optimizer, warmup_cosine


@dataclass(frozen=True)
class Stream:
    """Where the images come from and how: the folder, decoding workers per rank, the optional cache."""

    data: Path
    holdout: float = 0.2  # the share held out per class, as the experiment's split holds it out: never pretrained on
    workers: int = 2
    cache: Path | None = None
    backend: str = "auto"  # gloo on CPUs, nccl on CUDA
    out: Path | None = None  # the model file rank 0 writes


@dataclass
class RunLog:
    """What rank 0 reports: per-epoch mean loss, throughput over all ranks, and the shard sizes."""

    world: int
    backend: str
    epoch_losses: list[float] = field(default_factory=list)
    images_per_s: float = 0.0
    images_per_rank: list[int] = field(default_factory=list)
    seconds: float = 0.0
    held_out_images: int = 0  # images the network was scored on at the end, none of them pretrained on
    result: PretrainResult | None = None  # rank 0's model (the same on every rank after the last step)

    def figures(self) -> dict:
        figures = {k: v for k, v in self.__dict__.items() if k != "result"}
        score = self.result.evaluation if self.result is not None else None
        if score is not None:
            figures["held_out"] = {"metric": score.metric.key, "value": score.value, "baseline": score.baseline,
                                   "n": score.n}
        return figures


def launched() -> bool:
    """Whether torchrun started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_rank_zero() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def exit_worker(code: int) -> NoReturn:
    """End a torchrun worker without the interpreter's teardown. DDP keeps the gloo process group alive
    past `destroy_process_group`, and gloo's worker thread frees the last collective's tensors only once it
    holds the GIL: when the interpreter is already shutting down by then, that thread is killed inside a
    destructor and the process aborts ("terminate called without an active exception"; 2 runs in 10 on
    this 2-core machine). Everything this process writes is flushed first."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _setup(backend: str) -> tuple[int, int, torch.device, str]:
    """Rank, world size, this rank's device and the backend; a process group only under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and backend != "gloo"
    backend = backend if backend != "auto" else ("nccl" if cuda else "gloo")
    device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group(backend, rank=rank, world_size=world)
    return rank, world, device, backend


def pretext_pool(index: FolderIndex, holdout: float) -> torch.Tensor:
    """The files pretext training may see: all but the held-out share of each class, chosen exactly as
    the experiment's split chooses its test images (same labels in the same order, seed 0), so a later
    `--load` comparison on this folder scores images the pretext task never saw. (A file that fails to
    decode is dropped from the experiment's in-memory copy, which shifts its split: the experiment says so.)"""
    return make_split(index.labels, SplitConfig(test_fraction=holdout, seed=0), index.class_names).pool


def shard_sampler(dataset, world: int, rank: int, seed: int) -> DistributedSampler:
    """This rank's shard of every epoch: disjoint from the other ranks', reshuffled by `set_epoch`; the
    few images left over by an uneven split are dropped so every rank takes the same number of steps."""
    return DistributedSampler(dataset, world, rank, shuffle=True, seed=seed, drop_last=True)


def train(config: PretrainConfig, stream: Stream, log=lambda message: None) -> RunLog:
    """Pretext training of `config` on this process's shard; with one process, plain training."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if config.batch_size % world:  # before joining the group: every rank refuses alike, none waits for the others
        raise ValueError(f"the global batch ({config.batch_size}) must divide among {world} processes")
    rank, world, device, backend = _setup(stream.backend)
    try:
        return _train(config, stream, rank, world, device, backend, log if rank == 0 else lambda message: None)
    finally:
        if world > 1:
            dist.destroy_process_group()


def _train(config: PretrainConfig, stream: Stream, rank: int, world: int, device: torch.device, backend: str,
           log) -> RunLog:
    index = index_folder(stream.data)
    if stream.cache:
        folder = cache_folder(stream.cache, index, config.image_size)
        if rank == 0:
            log(f"caching {len(index):,} images at {config.image_size} px in {folder} (once)")
            build_cache(StreamedImages(index, config.image_size), folder, stream.workers)
        if world > 1:
            dist.barrier()  # the others read the cache rank 0 has finished
    pool = pretext_pool(index, stream.holdout)
    dataset = Subset(_images(stream, index, config.image_size), pool.tolist())
    sampler = shard_sampler(dataset, world, rank, config.seed)
    per_rank = config.batch_size // world
    loader = DataLoader(dataset, batch_size=per_rank, sampler=sampler, num_workers=stream.workers, drop_last=True,
                        persistent_workers=stream.workers > 0, pin_memory=device.type == "cuda")
    if len(loader) == 0:
        raise ValueError(f"{len(dataset)} images give no full batch of {per_rank} on each of {world} processes")
    task = config.make_task()
    model = task.build_model(initial_backbone(config, 3)).to(device)
    chosen = _precision(model, task, config, per_rank, device, world)
    net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if world > 1 else model
    optimizer = make_optimizer([{"params": model.parameters()}], config.lr, 5e-4, device)
    scheduler = warmup_cosine(optimizer, len(loader) * config.epochs, 0.05)
    generator = torch.Generator(device).manual_seed(config.seed + rank)  # each rank its own augmentations
    run = RunLog(world, backend)
    log(f"{world} process(es), {backend}, {device.type}: {len(dataset):,} of {len(index):,} images "
        f"({len(index) - len(dataset):,} held out), {per_rank} per rank per step, "
        f"{len(loader)} steps per epoch, {config.epochs} epochs")
    started = time.perf_counter()
    seen = 0
    for epoch in range(1, config.epochs + 1):
        sampler.set_epoch(epoch)
        loss_sum = torch.zeros((), device=device)
        steps = 0
        for images, labels in loader:
            images = images[labels != BROKEN].to(device, non_blocking=True)
            if len(images) < 2:
                continue
            inputs, targets = task.training_batch(images, generator)
            with autocast(chosen, device):
                outputs = net(inputs)
            loss = task.loss(outputs.float(), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.detach()
            steps += 1
            seen += len(images)
        mean = (loss_sum / max(steps, 1))
        if world > 1:
            dist.all_reduce(mean)
            mean /= world
        value = float(mean)
        if not math.isfinite(value):
            raise TrainingDiverged(f"the loss became {value} in epoch {epoch}: try a lower learning rate")
        run.epoch_losses.append(value)
        log(f"epoch {epoch}/{config.epochs}: loss {value:.4f}, "
            f"{seen * world / (time.perf_counter() - started):,.0f} images/s")
    run.seconds = time.perf_counter() - started
    counts = torch.tensor([seen], device=device)
    gathered = [torch.zeros_like(counts) for _ in range(world)]
    if world > 1:
        dist.all_gather(gathered, counts)
    else:
        gathered = [counts]
    run.images_per_rank = [int(c) for c in gathered]
    run.images_per_s = sum(run.images_per_rank) / run.seconds
    if rank == 0:
        run.result = PretrainResult(config, task, model, 3, dataset=index.root.name)
        if stream.out:
            about = ImageDataset(index.root.name, torch.zeros(0, 3, 1, 1, dtype=torch.uint8),
                                 torch.zeros(0, dtype=torch.int64), index.class_names)
            stream.out.write_bytes(to_bytes(run.result, None, about))
            log(f"model written to {stream.out}")
    return run


def _precision(model: nn.Module, task, config: PretrainConfig, per_rank: int, device: torch.device,
               world: int) -> Precision:
    """The training step's precision, timed on rank 0's CPU and shared, so every rank trains alike
    (`precision.choose`; on a GPU the plain fp32 path, as before)."""
    chosen = Precision.FP32
    if device.type == "cpu":
        images = torch.randint(0, 256, (max(per_rank, 2), 3, config.image_size, config.image_size), dtype=torch.uint8,
                               generator=torch.Generator().manual_seed(0))
        if not dist.is_initialized() or dist.get_rank() == 0:  # the others would time on the same cores at once
            chosen = choose(model, *task.training_batch(images, torch.Generator().manual_seed(0)), task.loss,
                            config.precision)
        if world > 1:
            index = torch.tensor([list(Precision).index(chosen)])
            dist.broadcast(index, 0)
            chosen = list(Precision)[int(index)]
    apply(model, chosen)
    return chosen


def _images(stream: Stream, index: FolderIndex, size: int) -> StreamedImages | CachedImages:
    """The folder's images at `size`: from the cache where one is built, else decoded from the files."""
    folder = cache_folder(stream.cache, index, size) if stream.cache else None
    return CachedImages(folder) if folder and (folder / "meta.json").exists() else StreamedImages(index, size)


def held_out_images(stream: Stream, size: int, cap: int = EVAL_CAP) -> torch.Tensor:
    """Up to `cap` of the images pretraining never saw, a seeded draw across the classes, as uint8
    `(N, 3, size, size)`; files that will not decode are left out."""
    index = index_folder(stream.data)
    held = torch.ones(len(index), dtype=torch.bool)
    held[pretext_pool(index, stream.holdout)] = False
    chosen = held.nonzero().squeeze(1)
    chosen = chosen[torch.randperm(len(chosen), generator=torch.Generator().manual_seed(0))[:cap]]
    loader = DataLoader(Subset(_images(stream, index, size), chosen.tolist()), batch_size=256,
                        num_workers=stream.workers)
    batches = [images[labels != BROKEN] for images, labels in loader]
    return torch.cat(batches) if batches else torch.zeros(0, 3, size, size, dtype=torch.uint8)


def score_held_out(run: RunLog, stream: Stream) -> None:
    """Rank 0's network scored on the held-out images, as a one-process run scores itself."""
    result = run.result
    images = held_out_images(stream, result.config.image_size)
    run.held_out_images = len(images)
    run.result = scored(result.config, result.model, result.in_channels, images, result.dataset)
