"""Transfer to the real task with few labels, against the same network from scratch.

Three modes share one loop, one label set, one augmentation and one step budget:
- `linear`: the pretext backbone frozen, a linear head on one block's features;
- `finetune`: LP-FT: a new head first trained on the frozen backbone, then the whole network (backbone
  at a lower rate), so a random head cannot wreck the pretrained features in the first steps;
- `scratch`: the same network (backbone and head) from random initialisation, for as many steps as
  fine-tuning takes in all;
- `joint`: the same network from random initialisation, trained on the labels and, in the same steps,
  on the pretext task over the unlabeled images (`joint`), for as many steps as scratch.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from enum import StrEnum

import torch
from torch import nn

from ssl_core.data.augment import augment, normalise
from ssl_core.engine import precision
from ssl_core.engine.evaluate import Evaluation, evaluate
from ssl_core.engine.models import Classifier, make_backbone
from ssl_core.engine.precision import AUTO
from ssl_core.engine.pretrain import PretrainResult, device_images
from ssl_core.engine.train import CLASSIFICATION, Callbacks, Continued, LoopConfig, fit, steps_per_epoch

MODES = ("linear", "finetune", "joint", "scratch")
CURVE_POINTS = 20  # held-out scores per run: a readable curve whatever the number of epochs
EPOCH_EVAL_CAP = 500  # test images scored for the curve; the final result scores all of them
# Each mode's `fit` calls: (frozen backbone, length in loops). Scratch gets as many steps as LP-FT.
PLANS: dict[str, tuple[tuple[bool, int], ...]] = {"linear": ((True, 1),), "finetune": ((True, 1), (False, 1)),
                                                  "joint": ((False, 2),), "scratch": ((False, 2),)}
MODE_TITLES = {"linear": "SSL linear probe", "finetune": "SSL fine-tuned", "joint": "SSL trained jointly",
               "scratch": "from scratch"}


class Transfer(StrEnum):
    """Which SSL models a comparison trains beside scratch: the one vocabulary the pages, links and CLI use
    (a `str`, so a link or a flag reads as its value)."""

    BOTH = "both"
    LINEAR = "linear"
    FINETUNE = "finetune"
    JOINT = "joint"
    ALL = "all"

    @property
    def modes(self) -> tuple[str, ...]:
        """The SSL modes it trains, in MODE_TITLES's order (scratch is always added by the comparison)."""
        return {"both": ("linear", "finetune"), "all": ("linear", "finetune", "joint")}.get(self.value, (self.value,))

    @property
    def label(self) -> str:
        return {"both": "linear probe + fine-tune", "linear": "linear probe (frozen)", "finetune": "fine-tune",
                "joint": "train jointly (labels + pretext)", "all": "all three"}[self.value]

    @property
    def compared(self) -> tuple[str, ...]:
        """Every model the comparison trains: these modes, then scratch."""
        return self.modes + ("scratch",)


@dataclass(frozen=True)
class DownstreamConfig:
    epochs: int = 40
    batch_size: int = 32
    lr: float = 3e-3  # head, and the whole network from scratch (its best of 1e-3, 3e-3, 1e-2 on digits)
    probe_lr: float = 3e-2  # the linear probe's head: frozen features want a larger rate (71.3% vs 65.6% at 3e-3)
    backbone_lr_scale: float = 0.3  # backbone rate relative to the head when fine-tuning
    block: int = 3  # which backbone block the linear probe reads
    grid: int = 2  # heads read their block average-pooled to grid x grid cells
    min_steps: int = 150  # tiny label sets still get a real optimiser budget
    seed: int = 0
    precision: str = AUTO  # a CPU's step: fp32, channels_last, bf16, or auto (the fastest measured here)

    def loop(self, n_train: int) -> LoopConfig:
        steps_per_epoch = max(1, -(-n_train // self.batch_size))
        epochs = max(self.epochs, -(-self.min_steps // steps_per_epoch))
        return LoopConfig(epochs=epochs, batch_size=self.batch_size, lr=self.lr, log_every=5,
                          eval_every=max(1, epochs // CURVE_POINTS), precision=self.precision)


@dataclass(eq=False)
class DownstreamResult:
    mode: str
    model: nn.Module
    evaluation: Evaluation
    stopped: bool = False
    history: list[dict] = field(default_factory=list)
    train_accuracy: float | None = None  # on its own labeled images, unaugmented: far above the test's = memorised


def build_classifier(mode: str, pretrained: PretrainResult, num_classes: int, config: DownstreamConfig) -> Classifier:
    """The network for one mode. The new head (and the scratch network) start from the config's
    seed, whatever ran before: a result must not depend on the order of the modes."""
    if mode not in MODES:
        raise KeyError(f"unknown mode {mode!r}; choose from {MODES}")
    torch.manual_seed(config.seed)
    if mode in ("scratch", "joint"):
        return Classifier(make_backbone(pretrained.config.backbone, pretrained.in_channels), num_classes,
                          grid=config.grid)
    backbone = copy.deepcopy(pretrained.backbone)
    if mode == "linear":
        return Classifier(backbone, num_classes, min(config.block, backbone.num_blocks), config.grid, frozen=True)
    return Classifier(backbone, num_classes, grid=config.grid, frozen=True)  # unfrozen after its head phase


def param_groups(mode: str, model: Classifier, frozen: bool, config: DownstreamConfig) -> list[dict]:
    if mode == "linear":
        return [{"params": model.head.parameters(), "lr": config.probe_lr}]
    if frozen:
        return [{"params": model.head.parameters()}]
    if mode == "finetune":
        return [{"params": model.head.parameters()},
                {"params": model.backbone.parameters(), "lr": config.lr * config.backbone_lr_scale}]
    return [{"params": model.parameters()}]


def train_downstream(mode: str, pretrained: PretrainResult, train_images: torch.Tensor, train_labels: torch.Tensor,
                     test_images: torch.Tensor, test_labels: torch.Tensor, num_classes: int,
                     config: DownstreamConfig = DownstreamConfig(), callbacks: Callbacks | None = None,
                     allow_flip: bool = True, unlabeled_images: torch.Tensor | None = None) -> DownstreamResult:
    """Trains one mode on the labeled images and scores it on the test images. `joint` also needs
    `unlabeled_images` (the pretext pool) and a pretext task that labels whole images."""
    if num_classes < 2:
        raise ValueError("the downstream task needs at least two classes with labels")
    if len(train_images) < 2:
        raise ValueError("the downstream task needs at least two labeled images")
    device = next(pretrained.model.parameters()).device
    size = pretrained.config.image_size
    model = build_classifier(mode, pretrained, num_classes, config).to(device)
    train_x = device_images(train_images, size, device)
    train_y = train_labels.to(device)
    test_x = device_images(test_images, size, device)
    test_y = test_labels.to(device)
    generator = torch.Generator(device).manual_seed(config.seed)

    def batch_fn(indices: torch.Tensor):
        indices = indices.to(device)
        return augment(train_x[indices], generator, flip=allow_flip), train_y[indices]

    # The curve scores a fixed random subset (test indices are sorted, so often grouped by class).
    curve = torch.randperm(len(test_x), generator=torch.Generator().manual_seed(0))[:EPOCH_EVAL_CAP].to(device)

    def test_batches(subset: torch.Tensor | None = None, batch_size: int = 512):
        x, y = (test_x, test_y) if subset is None else (test_x[subset], test_y[subset])
        for start in range(0, len(x), batch_size):
            yield normalise(x[start:start + batch_size]), y[start:start + batch_size]

    trained, objective = model, CLASSIFICATION
    if mode == "joint":
        trained, objective, batch_fn = _joint(model, pretrained, num_classes, batch_fn, unlabeled_images, generator,
                                              allow_flip)

    def held_out() -> dict[str, float]:  # `trained`: the joint network scores as its classifier, in its precision
        result = evaluate(trained, test_batches(curve), num_classes)
        return {"test_loss": result.loss, "test_accuracy": result.accuracy}

    loop = config.loop(len(train_x))
    epochs = sum(length for _, length in PLANS[mode]) * loop.epochs
    per_epoch = steps_per_epoch(len(train_x), loop.batch_size)
    stopped, done = False, 0
    for i, (frozen, length) in enumerate(PLANS[mode]):
        if stopped:
            break
        model.freeze(frozen)
        groups = param_groups(mode, model, frozen, config)
        report = Continued(callbacks or Callbacks(), done * per_epoch, done, epochs * per_epoch, epochs)
        phase = replace(loop, epochs=length * loop.epochs, eval_every=length * loop.eval_every)
        if mode == "joint":
            groups = [{"params": trained.parameters()}]
        stopped = fit(trained, groups, batch_fn, len(train_x), phase, device, report,
                      held_out if len(test_x) else None, seed=config.seed + i, objective=objective)
        done += phase.epochs
    if trained is not model:  # the classifier alone scores as the joint network trained
        precision.apply(model, precision.of(trained))
    fitted = evaluate(model, ((normalise(train_x[i:i + 512]), train_y[i:i + 512]) for i in range(0, len(train_x), 512)),
                      num_classes)
    return DownstreamResult(mode, model, evaluate(model, test_batches(), num_classes), stopped,
                            train_accuracy=fitted.accuracy)


def _joint(model: Classifier, pretrained: PretrainResult, num_classes: int, batch_fn, unlabeled: torch.Tensor | None,
           generator: torch.Generator, allow_flip: bool):
    """The joint network, its objective, and batches of labeled images followed by as many unlabeled
    images as a pretext batch (`joint`)."""
    from ssl_core.engine.joint import JointNet, JointObjective, joint_problem

    task = pretrained.task
    size = pretrained.config.image_size
    problem = joint_problem(task, pretrained.in_channels, size)
    if problem:
        raise ValueError(problem)
    if unlabeled is None or len(unlabeled) < 2:
        raise ValueError("training jointly needs the unlabeled images of the pretext pool")
    device = next(model.parameters()).device
    net = JointNet(model, task).to(device)
    pool = device_images(unlabeled, size, device)

    def joint_batch(indices: torch.Tensor):
        inputs, targets = batch_fn(indices)
        picks = torch.randint(len(pool), (len(indices),), generator=generator, device=device)
        pretext_inputs, pretext_targets = task.training_batch(pool[picks], generator, allow_flip)
        return torch.cat([inputs, pretext_inputs]), torch.cat([targets, pretext_targets])

    return net, JointObjective(net, num_classes, task), joint_batch
