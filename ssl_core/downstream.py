"""Transfer to the real task with few labels, against the same network from scratch.

Three modes share one loop, one label set, one augmentation and one step budget:
- `linear`: the pretext backbone frozen, a linear head on one block's features;
- `finetune`: the pretext backbone and a new head, all trained (backbone at a lower rate);
- `scratch`: the same backbone architecture from random initialisation.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from ssl_core.augment import augment, normalise
from ssl_core.evaluate import Evaluation, evaluate
from ssl_core.models import Classifier, ProbeClassifier, make_backbone
from ssl_core.pretrain import PretrainResult, device_images
from ssl_core.train import Callbacks, LoopConfig, fit

MODES = ("linear", "finetune", "scratch")
MODE_TITLES = {"linear": "SSL linear probe", "finetune": "SSL fine-tuned", "scratch": "from scratch"}


@dataclass(frozen=True)
class DownstreamConfig:
    epochs: int = 40
    batch_size: int = 32
    lr: float = 3e-3  # head, and the whole network from scratch
    backbone_lr_scale: float = 1.0  # backbone rate relative to the head (tuned on MNIST and digits)
    block: int = 3  # which backbone block the linear probe reads
    probe_grid: int = 2  # the probe reads that block average-pooled to grid x grid cells
    min_steps: int = 150  # tiny label sets still get a real optimiser budget
    seed: int = 0

    def loop(self, n_train: int) -> LoopConfig:
        steps_per_epoch = max(1, -(-n_train // self.batch_size))
        epochs = max(self.epochs, -(-self.min_steps // steps_per_epoch))
        return LoopConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr, log_every=5)


@dataclass(eq=False)
class DownstreamResult:
    mode: str
    model: nn.Module
    evaluation: Evaluation
    stopped: bool = False
    history: list[dict] = field(default_factory=list)


def build_classifier(mode: str, pretrained: PretrainResult, num_classes: int, config: DownstreamConfig):
    """The network and its parameter groups for one mode. The new head (and the scratch network) start
    from the config's seed, whatever ran before: a result must not depend on the order of the modes."""
    torch.manual_seed(config.seed)
    if mode == "linear":
        backbone = copy.deepcopy(pretrained.backbone)
        backbone.requires_grad_(False)
        model = ProbeClassifier(backbone, min(config.block, backbone.num_blocks), num_classes, config.probe_grid)
        return model, [{"params": model.head.parameters()}]
    if mode == "finetune":
        model = Classifier(copy.deepcopy(pretrained.backbone), num_classes)
        return model, [{"params": model.head.parameters()},
                       {"params": model.backbone.parameters(), "lr": config.lr * config.backbone_lr_scale}]
    if mode == "scratch":
        model = Classifier(make_backbone(pretrained.config.backbone, pretrained.in_channels), num_classes)
        return model, [{"params": model.parameters()}]
    raise KeyError(f"unknown mode {mode!r}; choose from {MODES}")


def train_downstream(mode: str, pretrained: PretrainResult, train_images: torch.Tensor, train_labels: torch.Tensor,
                     test_images: torch.Tensor, test_labels: torch.Tensor, num_classes: int,
                     config: DownstreamConfig = DownstreamConfig(), callbacks: Callbacks | None = None,
                     allow_flip: bool = True) -> DownstreamResult:
    if num_classes < 2:
        raise ValueError("the downstream task needs at least two classes with labels")
    if len(train_images) < 2:
        raise ValueError("the downstream task needs at least two labeled images")
    device = next(pretrained.model.parameters()).device
    size = pretrained.config.image_size
    model, groups = build_classifier(mode, pretrained, num_classes, config)
    model = model.to(device)
    train_x = device_images(train_images, size, device)
    train_y = train_labels.to(device)
    test_x = device_images(test_images, size, device)
    test_y = test_labels.to(device)
    generator = torch.Generator(device).manual_seed(config.seed)

    def batch_fn(indices: torch.Tensor):
        indices = indices.to(device)
        return augment(train_x[indices], generator, flip=allow_flip), train_y[indices]

    def test_batches(batch_size: int = 512):
        for start in range(0, len(test_x), batch_size):
            yield normalise(test_x[start:start + batch_size]), test_y[start:start + batch_size]

    def held_out() -> dict[str, float]:
        result = evaluate(model, test_batches(), num_classes)
        return {"test_loss": result.loss, "test_accuracy": result.accuracy}

    stopped = fit(model, groups, batch_fn, len(train_x), config.loop(len(train_x)), device, callbacks or Callbacks(),
                  held_out if len(test_x) else None, seed=config.seed)
    return DownstreamResult(mode, model, evaluate(model, test_batches(), num_classes), stopped)
