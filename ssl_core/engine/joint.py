"""Training jointly: the labeled loss and the pretext loss on the unlabeled photos, in every step.

The third way to use unlabeled photos, beside "pretrain, then transfer" (S4L, Zhai et al., ICCV
2019; Su, Maji and Hariharan, "When does self-supervision improve few-shot learning?", ECCV 2020):
one network from random weights, one backbone, two heads. Each step takes a batch of labeled images
and as many unlabeled ones turned into a pretext batch; the loss is the classification loss plus
`weight` times the pretext loss. It works with pretext tasks whose inputs are whole images with a
label each (rotation), so both batches arrive as one input tensor (each head's rows go through the
backbone in their own pass).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ssl_core.engine.metrics import ACCURACY
from ssl_core.engine.models import Classifier
from ssl_core.engine.train import Objective
from ssl_core.pretext import PretextTask
from ssl_core.pretext.base import ClassificationTask

PAD = -1e4  # logits of the other head's classes: never chosen, no gradient worth the name


def joint_problem(task: PretextTask, channels: int, size: int) -> str:
    """Why `task` cannot be trained jointly with the labels ('' when it can)."""
    if not isinstance(task, ClassificationTask):
        return f"{task.title} paints pixels; training jointly needs a pretext task that gives each image a label"
    images = torch.zeros(2, channels, size, size, dtype=torch.uint8)
    inputs, _ = task.make_batch(images.float(), torch.Generator().manual_seed(0))
    if tuple(inputs.shape[1:]) != (channels, size, size) or len(inputs) != 2 * task.views_per_image:
        return f"{task.title} feeds the network pieces of images; training jointly needs whole images (rotation)"
    return ""


class JointNet(nn.Module):
    """A classifier and a pretext head on one backbone. Training input is the labeled batch followed by
    the pretext batch (`views` rows per labeled image); both heads' logits come back in one padded
    tensor. In eval mode it is the classifier alone."""

    def __init__(self, classifier: Classifier, task: ClassificationTask) -> None:
        super().__init__()
        self.classifier = classifier
        self.pretext = task.build_model(classifier.backbone)  # shares the backbone's weights
        self.views = task.views_per_image
        self.width = max(classifier.head.out_features, task.num_classes)

    def split(self, n: int) -> int:
        """Labeled rows in a training batch of `n` rows."""
        return n // (1 + self.views)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self.classifier(x)
        n = self.split(len(x))
        labeled, pretext = self.classifier(x[:n]), self.pretext(x[n:])
        return torch.cat([F.pad(labeled, (0, self.width - labeled.shape[1]), value=PAD),
                          F.pad(pretext, (0, self.width - pretext.shape[1]), value=PAD)])


class JointObjective(Objective):
    """Cross-entropy on the labeled rows plus `weight` times the pretext loss; the reported training
    accuracy is the real task's, on the labeled rows."""

    metric = ACCURACY

    def __init__(self, net: JointNet, num_classes: int, task: ClassificationTask, weight: float = 1.0) -> None:
        self.net, self.num_classes, self.task, self.weight = net, num_classes, task, weight

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        n = self.net.split(len(outputs))
        return F.cross_entropy(outputs[:n, :self.num_classes], targets[:n]) + \
            self.weight * self.task.loss(outputs[n:, :self.task.num_classes], targets[n:])

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        n = self.net.split(len(outputs))
        return (outputs[:n, :self.num_classes].argmax(1) == targets[:n]).float()
