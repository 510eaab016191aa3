"""How a training step runs on this machine: fp32, channels-last, or bf16 autocast with channels-last.

Which is fastest depends on the processor: on this project's CPU (AMX, avx512_bf16) bf16 with
channels-last trains the small CNN 2-3x faster than fp32, while on CPUs without native bf16 it is
emulated and slower. So the choice is measured where the app runs, once per network, input shape
and thread count in a process, and fp32 is kept unless a variant is clearly faster. The check that
the chosen variant trains as well as fp32 is `assets/results/precision-check-cpu-2cores.md`.

A model remembers its precision (`apply`), so its evaluations run the same way as its training.
"""
from __future__ import annotations

import copy
import os
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from enum import Enum

import torch
from torch import nn

ENV = "SSL_PLAYGROUND_PRECISION"  # force one variant (fp32, channels_last, bf16) instead of measuring
MIN_GAIN = 1.10  # a variant must train at least 10% faster than fp32 to be chosen
_ATTRIBUTE = "_ssl_precision"


class Precision(str, Enum):
    FP32 = "fp32"
    CHANNELS_LAST = "channels_last"
    BF16 = "bf16"  # bf16 autocast, channels-last weights

    @property
    def label(self) -> str:
        return {"fp32": "fp32", "channels_last": "channels-last fp32", "bf16": "bf16 + channels-last"}[self.value]


AUTO = "auto"
CHOICES = (AUTO, *(p.value for p in Precision))


def check(name: str) -> str:
    """A valid precision setting, or a ValueError naming the valid ones."""
    if name not in CHOICES:
        raise ValueError(f"unknown precision {name!r}; choose from {', '.join(CHOICES)}")
    return name


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        try:
            return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def candidates(device: torch.device) -> tuple[Precision, ...]:
    """The variants worth timing on `device`; on CUDA the GPU path (bf16 + channels-last) is not timed."""
    if device.type == "cpu":
        return (Precision.FP32, Precision.CHANNELS_LAST) + ((Precision.BF16,) if bf16_supported(device) else ())
    return (Precision.FP32,)


def autocast(precision: Precision, device: torch.device) -> AbstractContextManager:
    if precision is Precision.BF16 and device.type in ("cpu", "cuda"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def apply(model: nn.Module, precision: Precision) -> nn.Module:
    """Puts `model` in `precision`'s memory format and remembers the choice (`of`)."""
    model.to(memory_format=torch.contiguous_format if precision is Precision.FP32 else torch.channels_last)
    setattr(model, _ATTRIBUTE, precision)
    return model


def of(model: nn.Module) -> Precision:
    """The precision `model` was trained in: fp32 unless `apply` said otherwise (a model file, say)."""
    return getattr(model, _ATTRIBUTE, Precision.FP32)


def inference(model: nn.Module, device: torch.device) -> AbstractContextManager:
    """Autocast for scoring `model` as it was trained; bf16 on CUDA as before (the GPU path)."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return autocast(of(model), device)


_chosen: dict[tuple, tuple[Precision, dict[Precision, float]]] = {}
_lock = threading.Lock()


def _key(model: nn.Module, inputs: torch.Tensor) -> tuple:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return (inputs.device.type, str(model), tuple(inputs.shape), inputs.dtype, trainable, torch.get_num_threads())


class _Trial:
    """A copy of the network in one precision with its own optimiser: timing never touches the real one."""

    def __init__(self, model: nn.Module, precision: Precision) -> None:
        self.precision = precision
        self.net = apply(copy.deepcopy(model), precision).train()
        params = [p for p in self.net.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=1e-4) if params else None

    def step(self, inputs: torch.Tensor, targets: torch.Tensor, loss_fn) -> float:
        start = time.perf_counter()
        with autocast(self.precision, inputs.device):
            outputs = self.net(inputs)
        loss = loss_fn(outputs.float(), targets)
        if self.optimizer is not None:
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        if inputs.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start


def time_variants(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn,
                  variants: tuple[Precision, ...], rounds: int = 2, steps: int = 2) -> dict[Precision, float]:
    """Seconds per training step of each variant: the fastest of `rounds` x `steps` steps after one
    warm-up step, the variants interleaved so a burst of load on the machine hits them alike. The
    model, its optimiser and the random streams are untouched."""
    device = inputs.device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        trials = [_Trial(model, p) for p in variants]
        for trial in trials:
            trial.step(inputs, targets, loss_fn)
        times = {p: float("inf") for p in variants}
        for _ in range(rounds):
            for trial in trials:
                for _ in range(steps):
                    times[trial.precision] = min(times[trial.precision], trial.step(inputs, targets, loss_fn))
    return times


def choose(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn,
           setting: str = AUTO) -> Precision:
    """The precision to train `model` in: `setting` when it names one (or the environment variable
    does), else the fastest measured variant that beats fp32 by `MIN_GAIN`; measured once per
    network, batch shape and thread count in a process."""
    device = inputs.device
    forced = os.environ.get(ENV, "") if setting == AUTO else setting
    if forced:
        precision = Precision(check(forced)) if forced != AUTO else None
        if precision is not None:
            return precision if precision in candidates(device) or device.type != "cpu" else Precision.FP32
    if device.type == "cuda":
        return Precision.BF16 if bf16_supported(device) else Precision.FP32
    return measure(model, inputs, targets, loss_fn)[0]


def measure(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn
            ) -> tuple[Precision, dict[Precision, float]]:
    """(the chosen variant, seconds per step of each variant timed), cached per network and shape."""
    key = _key(model, inputs)
    with _lock:  # two jobs timing at once would slow each other's figures
        if key not in _chosen:
            times = time_variants(model, inputs, targets, loss_fn, candidates(inputs.device))
            fastest = min(times, key=times.get)
            chosen = fastest if times[Precision.FP32] >= MIN_GAIN * times[fastest] else Precision.FP32
            _chosen[key] = (chosen, times)
        return _chosen[key]


def timings(model: nn.Module, inputs: torch.Tensor) -> dict[Precision, float]:
    """Seconds per step of each variant already timed for this network and batch shape ({} if none)."""
    with _lock:
        found = _chosen.get(_key(model, inputs))
    return dict(found[1]) if found else {}
