"""Contrastive learning, SimCLR (Chen et al., "A Simple Framework for Contrastive
Learning of Visual Representations", ICML 2020): the modern yardstick.

Each image gives two random views (crop and resize, colour jitter, grey). The
network maps every view to a vector; each view must find its partner among all
the other views of the batch (the NT-Xent loss, a softmax over cosine
similarities divided by a temperature). The views of other images are the
negatives. A projection MLP sits on the backbone and is dropped for transfer.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ssl_core.data.augment import MEAN, STD, normalise
from ssl_core.engine.features import collapse_level
from ssl_core.engine.metrics import Metric
from ssl_core.engine.models import evaluating
from ssl_core.pretext.base import (LETTERS, QUIZ_CHOICES, PretextSample, PretextScore, PretextTask, Question, Quiz,
                                   TaskSettings, option, pixels, to_display)

PARTNER = Metric("accuracy", "partners found")  # share of views whose most similar view is their partner
COLLAPSE_KEY = "collapse"  # epoch records: the collapse meter on held-out views (0 spread out, 1 collapsed)


@dataclass(frozen=True)
class SimCLRSettings(TaskSettings):
    temperature: float = option(0.2, "Divides the similarities: lower makes the loss dwell on the hardest "
                                "negatives.", low=0.05, high=1.0)
    crop_scale: float = option(0.3, "Smallest share of the image area a view may crop; SimCLR found strong "
                               "cropping essential.", low=0.08, high=1.0)
    jitter: float = option(0.4, "Strength of the random brightness, contrast and saturation changes, so colour "
                           "alone cannot match the views.", low=0.0, high=1.0)
    grey_probability: float = option(0.2, "Chance that a colour view is turned grey.", low=0.0, high=1.0)
    projection_dim: int = option(64, "Size of the vectors compared; the projection is dropped for transfer.",
                                 low=8, high=512)


def random_views(x: torch.Tensor, settings: SimCLRSettings, generator: torch.Generator) -> torch.Tensor:
    """One random view of each normalised image `(B, C, S, S)`: crop-and-resize, colour jitter, grey."""
    b, c, s, _ = x.shape
    device = x.device

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(shape or (b,), generator=generator, device=device)

    area = uniform(settings.crop_scale, 1.0)
    ratio = torch.exp(uniform(math.log(3 / 4), math.log(4 / 3)))
    width = (area * ratio).sqrt().clamp(max=1.0)
    height = (area / ratio).sqrt().clamp(max=1.0)
    theta = torch.zeros(b, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 1, 1] = width, height
    theta[:, 0, 2] = (1 - width) * uniform(-1.0, 1.0)
    theta[:, 1, 2] = (1 - height) * uniform(-1.0, 1.0)
    grid = F.affine_grid(theta, (b, c, s, s), align_corners=False)
    view = F.grid_sample(pixels(x), grid, mode="bilinear", padding_mode="border", align_corners=False)
    strength = settings.jitter * (torch.rand(b, generator=generator, device=device) < 0.8)  # jitter 80% of views
    brightness, contrast, saturation = (1 + strength * uniform(-0.8, 0.8) for _ in range(3))
    view = view * brightness[:, None, None, None]
    mean = view.mean(dim=(1, 2, 3), keepdim=True)
    view = (view - mean) * contrast[:, None, None, None] + mean
    if c == 3:
        grey = view.mean(1, keepdim=True)
        view = grey + (view - grey) * saturation[:, None, None, None]
        to_grey = torch.rand(b, generator=generator, device=device) < settings.grey_probability
        view = torch.where(to_grey[:, None, None, None], view.mean(1, keepdim=True).expand_as(view), view)
    return (view.clamp(0, 1) - MEAN) / STD


class _Projector(nn.Module):
    def __init__(self, backbone: nn.Module, dim: int) -> None:
        super().__init__()
        self.backbone = backbone
        width = backbone.num_features
        self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True), nn.Linear(width, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class SimCLRTask(PretextTask):
    name = "simclr"
    title = "Contrastive (SimCLR)"
    Settings = SimCLRSettings
    metric = PARTNER
    explanation = ("Each image gives **two random views** (crop, colour jitter, grey). The network maps every view "
                   "to a vector, and each view must **find its partner** among all views in the batch; the views "
                   "of other images are the negatives (SimCLR, Chen et al. 2020, the modern yardstick).")
    gallery_group = 2

    @property
    def views_per_image(self) -> int:
        return 2

    def make_batch(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if len(images) < 2:
            raise ValueError("contrastive learning needs at least two images per batch (one is never a negative)")
        views = torch.cat([random_views(images, self.settings, generator),
                           random_views(images, self.settings, generator)])
        return views, torch.arange(len(images), device=images.device).repeat(2)

    def build_model(self, backbone: nn.Module) -> nn.Module:
        return _Projector(backbone, self.settings.projection_dim)

    def similarities(self, outputs: torch.Tensor) -> torch.Tensor:
        """Cosine similarities over the temperature, each view's own entry excluded."""
        z = F.normalize(outputs.float(), dim=1)
        sim = z @ z.T / self.settings.temperature
        return sim.masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), float("-inf"))

    @staticmethod
    def partners(targets: torch.Tensor) -> torch.Tensor:
        """Index of each view's partner: views are [first views of all images; second views]."""
        n = len(targets) // 2
        return (torch.arange(len(targets), device=targets.device) + n) % len(targets)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.similarities(outputs), self.partners(targets))

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (self.similarities(outputs).argmax(1) == self.partners(targets)).float()

    def evaluate(self, model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> PretextScore:
        # a view that guessed would find its partner among the batch's other views by chance
        loss, found, chance, n = self.averaged(
            model, batches, lambda outputs, targets: torch.full((len(outputs),), 1 / (len(outputs) - 1)))
        return PretextScore(PARTNER, found, loss, chance, "chance level", n)

    def held_out_metrics(self, model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]
                         ) -> dict[str, float]:
        """Loss and partners found, and the collapse meter: a contrastive network can lower its loss
        for a while by mapping everything alike, which the partner score alone does not show."""
        outputs: list[torch.Tensor] = []
        loss, found, _, _ = self.averaged(model, batches, lambda o, t: o.new_zeros(len(o)), keep=outputs)
        return {"test_loss": loss, f"test_{self.metric.key}": found,
                COLLAPSE_KEY: collapse_level(torch.cat(outputs)) if outputs else float("nan")}

    quiz_ask = "This is one random view of an image. Which of these views comes from the same image?"
    quiz_why = "A crop, colour jitter and grey change how a view looks, not which image (its shape, its strokes) it shows."
    quiz_same_class = True  # the other views are of other images: of the same class, the answer is not given away

    def quiz(self, images: torch.Tensor, generator: torch.Generator) -> Quiz:
        if len(images) < 2:
            raise ValueError("the contrastive quiz needs at least two images")
        x = normalise(images.cpu())
        first, second = random_views(x, self.settings, generator), random_views(x, self.settings, generator)
        b, m = len(images), min(QUIZ_CHOICES, len(images))
        shift = torch.stack([torch.randperm(m, generator=generator) for _ in range(b)])
        options = (torch.arange(b)[:, None] + shift) % b  # each row: its own image and m - 1 others
        questions = tuple(Question(to_display(pixels(first[i])), LETTERS[:m],
                                   tuple(to_display(pixels(second[j])) for j in options[i].tolist()),
                                   options[i].tolist().index(i)) for i in range(b))
        return Quiz(self.quiz_ask, questions, first, second, options)

    @torch.inference_mode()
    def quiz_answers(self, model: nn.Module, quiz: Quiz) -> list[int]:
        with evaluating(model):
            device = next(model.parameters()).device
            embeddings = torch.cat([model(quiz.inputs.to(device)), model(quiz.targets.to(device))]).float().cpu()
        return self.choose(embeddings, quiz).tolist()

    def choose(self, outputs: torch.Tensor, quiz: Quiz) -> torch.Tensor:
        """The candidate view most similar to the first view (outputs: first views, then second views)."""
        z = F.normalize(outputs, dim=1)
        first, second = z[:len(quiz.inputs)], z[len(quiz.inputs):]
        return (first[:, None] * second[quiz.options]).sum(-1).argmax(1)

    def render(self, images: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> list[PretextSample]:
        n = len(images)
        samples = [sample for i in range(n) for sample in (
            PretextSample(to_display(pixels(inputs[i])), f"image {i + 1}: view 1"),
            PretextSample(to_display(pixels(inputs[i + n])), f"image {i + 1}: view 2"))]
        samples.append(PretextSample(pair_matrix(targets), f"the batch's {2 * n} views against each other: green "
                                     "= partner (positive), red = negative, grey = itself"))
        return samples

    def describe(self) -> str:
        return (f"SimCLR: find each view's partner among the batch (temperature {self.settings.temperature:g})")


def pair_matrix(targets: torch.Tensor, cell: int = 12) -> torch.Tensor:
    """Which pairs of views the loss treats as positive or negative, as a picture."""
    same = targets[:, None] == targets[None, :]
    colours = torch.tensor([[214, 39, 40], [44, 160, 44], [200, 200, 200]], dtype=torch.uint8)
    kind = same.long()
    kind.fill_diagonal_(2)
    picture = colours[kind.cpu()].repeat_interleave(cell, 0).repeat_interleave(cell, 1)
    picture[::cell] = 255
    picture[:, ::cell] = 255
    return picture.numpy()
