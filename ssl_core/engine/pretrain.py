"""Pretext training: a function of its config, the data and the seed."""
from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ssl_core.data.augment import normalise, resize_all
from ssl_core.engine.device import pick_device
from ssl_core.engine.models import Backbone, make_backbone
from ssl_core.engine.precision import AUTO
from ssl_core.engine.probe import PROBE_KEY, PROBE_START_KEY, KnnProbe, ProbeData
from ssl_core.engine.train import Callbacks, LoopConfig, fit
from ssl_core.pretext import PretextScore, PretextTask, TaskSettings, make_task

EPOCH_EVAL_CAP = 512  # held-out images scored after each epoch, at most…
EPOCH_EVAL_SHARE = 8  # …and at most 1/8 of the epoch's images: scoring stays a few % of the epoch's work
EPOCH_EVAL_MIN = 32  # …but enough for a readable curve
EVAL_CAP = 2000  # held-out images scored at the end
SHOWCASE_IMAGES = 6  # held-out images a reconstruction task paints after each epoch, for the live view


@dataclass(frozen=True)
class PretrainConfig:
    task: str = "rotation"
    settings: TaskSettings | None = None  # the task's own settings; None: its defaults
    backbone: str = "small_cnn"
    image_size: int = 16
    epochs: int = 8
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0
    device: str = "auto"
    compile: bool = False  # torch.compile the training step (CUDA); falls back to eager when it fails
    mixed_precision: bool = True  # bf16 autocast on CUDA
    precision: str = AUTO  # a CPU's step: fp32, channels_last, bf16, or auto (the fastest measured here)

    def make_task(self) -> PretextTask:
        """The task this run trains; the gallery builds it here too, so both see the same one."""
        return make_task(self.task, self.settings, self.seed)

    def loop(self) -> LoopConfig:
        return LoopConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                          mixed_precision=self.mixed_precision,
                          precision="fp32" if self.compile and self.precision == AUTO else self.precision)


@dataclass(eq=False)
class PretrainResult:
    config: PretrainConfig
    task: PretextTask
    model: nn.Module  # the pretext network (backbone + task head)
    in_channels: int
    dataset: str = ""  # name of the dataset it was trained on
    evaluation: PretextScore | None = None
    stopped: bool = False
    history: list[dict] = field(default_factory=list)

    @property
    def backbone(self) -> Backbone:
        return self.model.backbone

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def initial_backbone(config: PretrainConfig, in_channels: int) -> Backbone:
    """The random-initialised backbone a run of `config` starts from: the "before" of every
    before-and-after view (drawn from its own seeded generator, so asking for it changes nothing else)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return make_backbone(config.backbone, in_channels)


def device_images(images: torch.Tensor, size: int, device: torch.device) -> torch.Tensor:
    """Resize once and keep the uint8 tensor on the training device."""
    return resize_all(images, size).to(device)


def compiled(model: nn.Module) -> nn.Module:
    """`torch.compile(model)`, or the model itself where compilation is unavailable or fails."""
    try:
        fast = torch.compile(model)
    except Exception as exc:  # no compiler toolchain, unsupported platform…
        warnings.warn(f"torch.compile unavailable ({exc}); training without it")
        return model
    return _FallbackOnError(fast, model)


class _FallbackOnError(nn.Module):
    """Runs the compiled module; on its first failure, switches to the eager one for good."""

    def __init__(self, fast: nn.Module, eager: nn.Module) -> None:
        super().__init__()
        self.eager = eager
        self._fast = [fast]  # kept out of the module tree: same parameters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._fast:
            try:
                return self._fast[0](x)
            except Exception as exc:
                warnings.warn(f"torch.compile failed ({type(exc).__name__}); training without it")
                self._fast.clear()
        return self.eager(x)


def pretext_batches(task: PretextTask, images: torch.Tensor, seed: int, batch_size: int = 128):
    """Fixed pseudo-labelled batches for a reproducible held-out score. A lone last image joins the
    batch before it (a contrastive batch needs two images, batch norm more than one)."""
    generator = torch.Generator(images.device).manual_seed(seed + 1)
    starts = list(range(0, len(images), batch_size))
    if len(starts) > 1 and len(images) - starts[-1] == 1:
        starts.pop()
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(images)
        yield task.make_batch(normalise(images[start:end]), generator)


def pretrain(config: PretrainConfig, train_images: torch.Tensor, test_images: torch.Tensor,
             callbacks: Callbacks | None = None, allow_flip: bool = True,
             start_from: nn.Module | None = None, probe: ProbeData | None = None,
             checkpoint: Callable[[int, nn.Module], None] | None = None) -> PretrainResult:
    """Train the pretext network on uint8 images `(N, C, H, W)`; the held-out images score it.
    `start_from` (a pretext network of the same task and backbone) continues its training: its
    weights are the start, the optimiser and schedule are new. With `probe`, every epoch also
    reports how well the features sort the real classes (k-NN, nothing trained), and the first
    epoch the same before training."""
    callbacks = callbacks or Callbacks()
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    task = config.make_task()
    channels = train_images.shape[1]
    model = task.build_model(initial_backbone(config, channels))
    if start_from is not None:
        try:
            model.load_state_dict(start_from.state_dict())
        except RuntimeError:
            raise ValueError("the model to continue from has another task, task settings or backbone than this "
                             "run; choose the same ones, or start afresh") from None
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    train_x = device_images(train_images, config.image_size, device)
    test_x = device_images(test_images[:EVAL_CAP], config.image_size, device)
    generator = torch.Generator(device).manual_seed(config.seed)
    forward = compiled(model) if config.compile else model

    def batch_fn(indices: torch.Tensor):
        return task.training_batch(train_x[indices.to(device)], generator, allow_flip)

    knn = KnnProbe(probe, config.image_size, device) if probe is not None else None
    start_metrics = {PROBE_START_KEY: knn.within_budget(model.backbone, last=True)} if knn else {}
    epoch_count = itertools.count(1)
    epoch_eval_size = min(EPOCH_EVAL_CAP, max(EPOCH_EVAL_MIN, len(train_x) // EPOCH_EVAL_SHARE))
    showcase_images = test_x[:SHOWCASE_IMAGES]

    def held_out() -> dict[str, float]:
        metrics = {}
        epoch = next(epoch_count)
        last = epoch == config.epochs
        if checkpoint is not None:
            checkpoint(epoch, model)
        if knn:
            metrics.update(start_metrics)
            start_metrics.clear()
            value = knn.within_budget(model.backbone, last)
            if value is not None:
                metrics[PROBE_KEY] = value
        if not len(test_x):
            return metrics
        shown = task.showcase(model, showcase_images)
        if shown:
            callbacks.on_showcase(shown)
        return task.held_out_metrics(model, pretext_batches(task, test_x[:epoch_eval_size], config.seed)) | metrics

    result = PretrainResult(config, task, model, channels)
    result.stopped = fit(forward, [{"params": model.parameters()}], batch_fn, len(train_x), config.loop(),
                         device, callbacks, held_out, seed=config.seed, objective=task)
    result.evaluation = _final_score(task, model, test_x, config.seed)
    return result


def _final_score(task: PretextTask, model: nn.Module, test_x: torch.Tensor, seed: int) -> PretextScore | None:
    return task.evaluate(model, pretext_batches(task, test_x, seed)) if len(test_x) else None


def scored(config: PretrainConfig, model: nn.Module, in_channels: int, test_images: torch.Tensor,
           dataset: str = "") -> PretrainResult:
    """A pretext network trained elsewhere (a model file), scored on these held-out images like a fresh run."""
    device = pick_device(config.device)
    model = model.to(device).eval()
    task = config.make_task()
    result = PretrainResult(config, task, model, in_channels, dataset)
    result.evaluation = _final_score(task, model, device_images(test_images[:EVAL_CAP], config.image_size, device),
                                     config.seed)
    return result
