"""The training loop shared by pretext and downstream training.

It knows nothing of the UI: it reports through `Callbacks` (start, step, epoch,
end) and asks them whether to stop. Losses stay on the device and are read
back (`.item()`, a sync point) only every `log_every` steps.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn

from ssl_core.engine import precision as precisions
from ssl_core.engine.metrics import ACCURACY, Metric


@dataclass(frozen=True)
class LoopConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 5e-4
    warmup_fraction: float = 0.05
    log_every: int = 10
    eval_every: int = 1  # held-out scoring every this many epochs (and after the last)
    mixed_precision: bool = True  # bf16 autocast on CUDA; no effect elsewhere
    precision: str = precisions.AUTO  # on a CPU: fp32, channels_last, bf16, or auto (the fastest measured here)

    def __post_init__(self) -> None:
        precisions.check(self.precision)
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(f"the learning rate must be a positive number, not {self.lr}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch size must be at least 1")


@dataclass(frozen=True)
class StepEvent:
    step: int
    total_steps: int
    epoch: int
    loss: float
    images_per_s: float
    elapsed: float


@dataclass(frozen=True)
class EpochEvent:
    epoch: int
    epochs: int
    step: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StepPoint:
    """One logged step of a named run, as the loss charts draw it."""

    run: str
    step: int
    epoch: int
    loss: float
    seconds: float


_EPOCH_FIELDS = ("run", "epoch", "epochs", "step")


@dataclass(frozen=True)
class EpochPoint:
    """One epoch's end of a named run: its scores (`train_loss`, `test_accuracy`, a probe's reading…) by name."""

    run: str
    epoch: int
    epochs: int
    step: int
    metrics: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, record: Mapping) -> EpochPoint:
        """Read back from JSON: `asdict`'s form, or the flat form run histories kept before points were typed."""
        metrics = record.get("metrics", {k: v for k, v in record.items() if k not in _EPOCH_FIELDS})
        return cls(str(record.get("run", "")), int(record["epoch"]), int(record.get("epochs", record["epoch"])),
                   int(record.get("step", 0)), {str(k): float(v) for k, v in metrics.items()})


class Callbacks:
    """Hooks the loop calls; subclass and override what you need."""

    def on_start(self, total_steps: int) -> None: ...

    def on_step(self, event: StepEvent) -> None: ...

    def on_epoch(self, event: EpochEvent) -> None: ...

    def on_showcase(self, samples: list) -> None:
        """What the model currently makes of a few held-out images (pretext samples), once per epoch."""

    def should_stop(self) -> bool:
        return False


class Continued(Callbacks):
    """Reports one `fit` call as a later phase of a longer run: steps and epochs carry on from
    `step_offset` and `epoch_offset`, and the totals are the whole run's (LP-FT trains in two phases)."""

    def __init__(self, inner: Callbacks, step_offset: int, epoch_offset: int, total_steps: int,
                 total_epochs: int) -> None:
        self.inner, self.step_offset, self.epoch_offset = inner, step_offset, epoch_offset
        self.total_steps, self.total_epochs = total_steps, total_epochs

    def on_start(self, total_steps: int) -> None:
        if self.step_offset == 0:
            self.inner.on_start(self.total_steps)

    def on_step(self, event: StepEvent) -> None:
        self.inner.on_step(replace(event, step=event.step + self.step_offset, total_steps=self.total_steps,
                                   epoch=event.epoch + self.epoch_offset))

    def on_epoch(self, event: EpochEvent) -> None:
        self.inner.on_epoch(replace(event, epoch=event.epoch + self.epoch_offset, epochs=self.total_epochs,
                                    step=event.step + self.step_offset))

    def should_stop(self) -> bool:
        return self.inner.should_stop()


class Objective:
    """What a run minimises and reports. Classification unless a subclass says otherwise: pretext
    tasks are objectives, so the loop never needs to know whether it predicts labels or pixels."""

    metric: Metric = ACCURACY

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets)

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The metric of each output row, `(len(outputs),)`; the epoch figure is their mean."""
        return (outputs.argmax(1) == targets).float()


CLASSIFICATION = Objective()


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


def autocast_for(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA (where supported); plain fp32 elsewhere."""
    if enabled and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def make_optimizer(param_groups: Iterable[dict], lr: float, weight_decay: float,
                   device: torch.device) -> torch.optim.Optimizer:
    """AdamW; the fused CUDA kernel on a GPU (one launch per step instead of several per tensor)."""
    return torch.optim.AdamW(list(param_groups), lr=lr, weight_decay=weight_decay, fused=device.type == "cuda")


def steps_per_epoch(n: int, batch_size: int) -> int:
    return len(batch_order(n, batch_size, torch.Generator().manual_seed(0)))


def batch_order(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches covering all n items; a lone leftover item joins the previous batch
    (batch norm cannot train on a batch of one)."""
    order = torch.randperm(n, generator=generator)
    batches = list(order.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2] = torch.cat(batches[-2:])
        batches.pop()
    return batches


def warmup_cosine(optimizer: torch.optim.Optimizer, total: int, warmup_fraction: float
                  ) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over `warmup_fraction` of the `total` steps, then a cosine down to zero."""
    warmup = max(1, int(total * warmup_fraction))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def fit(model: nn.Module, param_groups: Iterable[dict], batch_fn: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
        n_train: int, config: LoopConfig, device: torch.device, callbacks: Callbacks,
        evaluate_fn: Callable[[], dict[str, float]] | None = None, seed: int = 0,
        objective: Objective = CLASSIFICATION) -> bool:
    """Train `model` for `config.epochs`; returns True when stopped early by request. On a CPU the
    first batch also picks the step's precision (`precision.choose`), and the model keeps it."""
    if n_train < 1:
        raise ValueError("nothing to train on")
    generator = torch.Generator().manual_seed(seed)
    optimizer = make_optimizer(param_groups, config.lr, config.weight_decay, device)
    total = steps_per_epoch(n_train, config.batch_size) * config.epochs
    scheduler = warmup_cosine(optimizer, total, config.warmup_fraction)
    callbacks.on_start(total)
    start = time.perf_counter()
    step = 0
    chosen = None
    for epoch in range(1, config.epochs + 1):
        model.train()
        loss_sum = torch.zeros((), device=device)
        score_sum = torch.zeros((), device=device)
        seen = scored = 0
        window_images, window_start = 0, time.perf_counter()
        for indices in batch_order(n_train, config.batch_size, generator):
            if callbacks.should_stop():
                return True
            inputs, targets = batch_fn(indices)
            if chosen is None:
                chosen = precisions.choose(model, inputs, targets, objective.loss, config.precision) \
                    if device.type == "cpu" else precisions.Precision.FP32
                precisions.apply(model, chosen)
            with (precisions.autocast(chosen, device) if device.type == "cpu" else
                  autocast_for(device, config.mixed_precision)):
                outputs = model(inputs)
                loss = objective.loss(outputs.float(), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            loss_sum += loss.detach() * len(outputs)
            row_scores = objective.score(outputs.detach().float(), targets)
            score_sum += row_scores.sum()
            scored += len(row_scores)
            seen += len(outputs)
            window_images += len(inputs)
            if step % config.log_every == 0 or step == total:
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingDiverged(
                        f"the loss became {value} at step {step}: training diverged. "
                        f"Try a lower learning rate (now {config.lr:g}).")
                now = time.perf_counter()
                callbacks.on_step(StepEvent(step, total, epoch, value,
                                            window_images / max(now - window_start, 1e-9), now - start))
                window_images, window_start = 0, now
        train_loss = (loss_sum / seen).item()
        if not math.isfinite(train_loss):
            raise TrainingDiverged(f"the loss became {train_loss} in epoch {epoch}: training diverged. "
                                   f"Try a lower learning rate (now {config.lr:g}).")
        metrics = {"train_loss": train_loss, f"train_{objective.metric.key}": score_sum.item() / max(scored, 1)}
        if evaluate_fn is not None and (epoch % config.eval_every == 0 or epoch == config.epochs):
            metrics.update(evaluate_fn())
        callbacks.on_epoch(EpochEvent(epoch, config.epochs, step, metrics))
    return False
