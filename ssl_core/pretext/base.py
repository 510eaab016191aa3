"""What every pretext task is, and how its settings describe themselves.

A task owns everything about itself: its settings (a frozen dataclass whose field metadata gives the
page controls, the CLI options and the summaries), how it turns images into a batch, the head or
decoder it puts on the backbone, its loss and metric, how it is scored on held-out images, its
gallery and its live showcase. Training, evaluation and the pages call these and never ask which
task they hold.
"""
from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ssl_core.data.augment import MEAN, STD, augment, normalise
from ssl_core.engine import precision
from ssl_core.engine.evaluate import evaluate
from ssl_core.engine.metrics import ACCURACY, PSNR, Metric, psnr
from ssl_core.engine.models import evaluating
from ssl_core.engine.train import Objective

# ---- settings ---------------------------------------------------------------------------------

def option(default: Any, help: str, *, label: str = "", choices: Iterable = (), low: float | None = None,
           high: float | None = None) -> Any:
    """A task setting. Its control on the Pretext page, its `--task-option` on the CLI and its place
    in summaries all come from this one declaration."""
    return field(default=default, metadata={"help": help, "label": label, "choices": tuple(choices),
                                            "low": low, "high": high})


@dataclass(frozen=True)
class Option:
    name: str
    label: str
    default: Any
    help: str
    choices: tuple = ()
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class TaskSettings:
    """Base of every task's settings: checks each value against its declared choices and range."""

    def __post_init__(self) -> None:
        for opt in options(type(self)):
            value = getattr(self, opt.name)
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, float) and not math.isfinite(item):
                    raise ValueError(f"{opt.name} must be a finite number, got {item!r}")
                if opt.choices and item not in opt.choices:
                    raise ValueError(f"{opt.name} must be one of {list(opt.choices)}, got {item!r}")
                if opt.low is not None and item < opt.low or opt.high is not None and item > opt.high:
                    raise ValueError(f"{opt.name} must be between {opt.low:g} and {opt.high:g}, got {item!r}")


def options(settings_type: type[TaskSettings]) -> list[Option]:
    return [Option(f.name, f.metadata.get("label") or f.name.replace("_", " ").capitalize(), f.default,
                   f.metadata.get("help", ""), f.metadata.get("choices", ()), f.metadata.get("low"),
                   f.metadata.get("high"))
            for f in dataclasses.fields(settings_type)]


def _coerce(opt: Option, value: Any) -> Any:
    default = opt.default
    if isinstance(default, tuple):
        items = value.split(",") if isinstance(value, str) else list(value)
        kind = type(default[0]) if default else str
        return tuple(kind(item) for item in items)
    if isinstance(default, bool):
        if isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"{opt.name} must be true or false, got {value!r}")
            return value.lower() in ("true", "1", "yes")
        return bool(value)
    return type(default)(value)


def settings_from(settings_type: type[TaskSettings], values: Mapping[str, Any]) -> TaskSettings:
    """Settings from plain values (a saved config, CLI text such as `angles=90,180`, widget values);
    raises ValueError naming the option that is wrong."""
    known = {opt.name: opt for opt in options(settings_type)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r}; this task has {sorted(known) or 'no options'}")
    try:
        coerced = {name: _coerce(known[name], value) for name, value in values.items()}
    except (TypeError, ValueError, ArithmeticError) as exc:  # int(float("inf")) overflows
        raise ValueError(f"bad option value: {exc}") from None
    return settings_type(**coerced)


def parse_options(settings_type: type[TaskSettings], pairs: Iterable[str]) -> TaskSettings:
    """`["grid=3", "permutations=100"]` -> settings."""
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"task options are name=value, got {pair!r}")
        values[name.strip().replace("-", "_")] = value.strip()
    return settings_from(settings_type, values)


def settings_dict(settings: TaskSettings) -> dict[str, Any]:
    """JSON-ready values (tuples as lists) that `settings_from` reads back."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in dataclasses.asdict(settings).items()}


# ---- samples and scores -----------------------------------------------------------------------

@dataclass(frozen=True)
class PretextSample:
    """One gallery tile: a picture (H, W, 3 uint8) and its caption."""

    image: np.ndarray
    caption: str


@dataclass(frozen=True, eq=False)
class PretextScore:
    """A pretext model on held-out images, beside what a trivial answer would score."""

    metric: Metric
    value: float
    loss: float
    baseline: float
    baseline_label: str  # "chance level", "one mean colour everywhere"…
    n: int
    confusion: torch.Tensor | None = None  # (K, K) for classification tasks

    def as_metrics(self, prefix: str = "test") -> dict[str, float]:
        return {f"{prefix}_loss": self.loss, f"{prefix}_{self.metric.key}": self.value}


@dataclass(frozen=True, eq=False)
class Question:
    """One round of "you guess first": what the network sees, as a picture, and the choices."""

    prompt: np.ndarray  # (H, W, 3) uint8
    choices: tuple[str, ...]
    pictures: tuple[np.ndarray, ...]  # one per choice when the choices are pictures, else ()
    answer: int  # index into choices


@dataclass(frozen=True, eq=False)
class Quiz:
    """Questions and what the network needs to answer the same ones (task-specific tensors)."""

    ask: str  # the question put to the person, the same for every item
    questions: tuple[Question, ...]
    inputs: torch.Tensor
    targets: torch.Tensor
    options: torch.Tensor  # what each question's choices are, in the network's terms

    @property
    def chance(self) -> float:
        return float(np.mean([1 / len(q.choices) for q in self.questions])) if self.questions else float("nan")


QUIZ_CHOICES = 4  # choices per question when a task has more answers than fit on a row
QUIZ_ALL = 8  # up to this many classes, every class is a choice
LETTERS = tuple("ABCDEFGH")  # names of picture choices


def to_display(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) uint8 or float in [0, 1] -> (H, W, 3) uint8 for st.image."""
    if image.dtype != torch.uint8:
        image = (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    if image.shape[0] == 1:
        image = image.expand(3, -1, -1)
    return image.permute(1, 2, 0).contiguous().cpu().numpy()


def pixels(normalised: torch.Tensor) -> torch.Tensor:
    """Network inputs back to pixel values in [0, 1]."""
    return (normalised * STD + MEAN).clamp(0, 1)


def stretch(x: torch.Tensor) -> torch.Tensor:
    """Each item of `(N, C, H, W)` min-max scaled to [0, 1]: how a per-tile normalised input looks."""
    low = x.flatten(1).min(1).values[:, None, None, None]
    high = x.flatten(1).max(1).values[:, None, None, None]
    return (x - low) / (high - low).clamp_min(1e-6)


# ---- the task ---------------------------------------------------------------------------------

class PretextTask(Objective, ABC):
    """A pretext task. Subclasses set the class attributes and implement the abstract methods."""

    name: ClassVar[str]  # registry key and CLI name
    title: ClassVar[str]  # shown on the pages
    Settings: ClassVar[type[TaskSettings]]
    explanation: ClassVar[str] = ""  # markdown for the Pretext page: what the network must do, and the paper
    gallery_group: ClassVar[int] = 1  # gallery samples made from one image (kept on one row)

    def __init__(self, settings: TaskSettings | None = None, seed: int = 0) -> None:
        self.settings = settings if settings is not None else self.Settings()
        if not isinstance(self.settings, self.Settings):
            raise TypeError(f"{self.name} takes {self.Settings.__name__}, got {type(self.settings).__name__}")
        self.seed = seed

    @classmethod
    def unavailable(cls, channels: int) -> str:
        """Why this task cannot train on images with `channels` channels; '' when it can."""
        return ""

    @property
    def views_per_image(self) -> int:
        """Network inputs made from one image (rotation: one per angle); timing estimates need it."""
        return 1

    @abstractmethod
    def make_batch(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised images `(B, C, H, W)` -> (network inputs, targets), all on the images' device."""

    @abstractmethod
    def build_model(self, backbone: nn.Module) -> nn.Module:
        """The pretext network: the backbone (as `.backbone`) plus this task's head or decoder."""

    @abstractmethod
    def render(self, images: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> list[PretextSample]:
        """Gallery samples of a batch made from uint8 `images`."""

    @abstractmethod
    def evaluate(self, model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> PretextScore:
        """Score on held-out batches, without gradients."""

    @abstractmethod
    def describe(self) -> str:
        """One line: what the network must predict, with these settings."""

    def training_batch(self, images: torch.Tensor, generator: torch.Generator,
                       allow_flip: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 images -> the batch training uses: the shared augmentation, then `make_batch`."""
        return self.make_batch(augment(images, generator, flip=allow_flip), generator)

    def preview(self, images: torch.Tensor, generator: torch.Generator, allow_flip: bool = True,
                augmented: bool = True) -> list[PretextSample]:
        """The gallery: exactly what training makes of uint8 `images` with this generator
        (`augmented=False` skips the crop and flip, for an explanatory picture)."""
        batch = (self.training_batch(images, generator, allow_flip) if augmented
                 else self.make_batch(normalise(images), generator))
        return self.render(images, *batch)

    def held_out_metrics(self, model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]
                         ) -> dict[str, float]:
        """The per-epoch held-out figures for the curves: loss and metric (the trivial answer's score,
        which does not change during training, is left to the final `evaluate`)."""
        return self.evaluate(model, batches).as_metrics()

    def showcase(self, model: nn.Module, images: torch.Tensor) -> list[PretextSample]:
        """What the model currently makes of fixed held-out uint8 images, for the live view
        (input, output, truth); empty for tasks whose output is not a picture."""
        return []

    def explain(self, model: nn.Module, image: torch.Tensor) -> str:
        """What the pretext model makes of one uploaded image (normalised `(1, C, S, S)`); '' when
        that says nothing a person can check."""
        return ""

    quiz_ask: ClassVar[str] = ""  # "you guess first": the question put to the person
    quiz_why: ClassVar[str] = ""  # one line under each answer: what gives the right one away
    quiz_same_class: ClassVar[bool] = False  # wrong answers come from the round's other images: pick them alike

    def quiz_usable(self, images: torch.Tensor) -> torch.Tensor:
        """`(B,)` bool: which uint8 images a question can be asked about (all, unless the task says otherwise)."""
        return torch.ones(len(images), dtype=torch.bool)

    @abstractmethod
    def quiz(self, images: torch.Tensor, generator: torch.Generator) -> Quiz:
        """"You guess first": one multiple-choice question per uint8 image, built like training batches
        (no augmentation, so the picture is what the pseudo-label describes)."""

    @abstractmethod
    def choose(self, outputs: torch.Tensor, quiz: Quiz) -> torch.Tensor:
        """The network's choice per question, from its outputs on `quiz.inputs`."""

    @torch.inference_mode()
    def quiz_answers(self, model: nn.Module, quiz: Quiz) -> list[int]:
        """The network's answers to the questions the person sees."""
        with evaluating(model):
            device = next(model.parameters()).device
            outputs = model(quiz.inputs.to(device)).float().cpu()
        return self.choose(outputs, quiz).tolist()

    def quiz_picture(self, network_input: torch.Tensor) -> np.ndarray:
        """One network input as a person sees it."""
        return to_display(pixels(network_input))

    @torch.inference_mode()
    def averaged(self, model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                 baseline: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 keep: list[torch.Tensor] | None = None) -> tuple[float, float, float, int]:
        """Mean loss, metric and baseline metric per output row over held-out batches; `baseline(outputs,
        targets)` gives the trivial answer's metric per row. `keep` collects the outputs, for figures
        that need them all (one pass over the batches, not two)."""
        with evaluating(model):
            loss_sum = value_sum = baseline_sum = 0.0
            n = 0
            for inputs, targets in batches:
                with precision.inference(model, inputs.device):
                    outputs = model(inputs).float()
                loss_sum += float(self.loss(outputs, targets)) * len(outputs)
                value_sum += float(self.score(outputs, targets).sum())
                baseline_sum += float(baseline(outputs, targets).sum())
                n += len(outputs)
                if keep is not None:
                    keep.append(outputs)
        if not n:
            return float("nan"), float("nan"), float("nan"), 0
        return loss_sum / n, value_sum / n, baseline_sum / n, n


class ClassificationTask(PretextTask):
    """A task whose targets are pseudo-labels: cross-entropy, accuracy, chance level, confusion."""

    metric = ACCURACY

    @property
    @abstractmethod
    def num_classes(self) -> int: ...

    def label_name(self, label: int) -> str:
        return f"#{label}"

    def choice_picture(self, network_input: torch.Tensor, label: int) -> np.ndarray | None:
        """A picture of what choosing `label` means for this input (jigsaw: the tiles put back by that
        order); None when its name says it."""
        return None

    def quiz(self, images: torch.Tensor, generator: torch.Generator) -> Quiz:
        inputs, targets = self.make_batch(normalise(images), generator)
        pick = torch.randperm(len(inputs), generator=generator)[:len(images)]
        inputs, targets = inputs[pick].cpu(), targets[pick].cpu()
        k = self.num_classes
        if k <= QUIZ_ALL:
            options = torch.arange(k).expand(len(pick), k)
        else:  # the truth and three other labels, in random places
            others = torch.stack([torch.randperm(k - 1, generator=generator)[:QUIZ_CHOICES - 1] for _ in pick])
            others = others + (others >= targets[:, None]).long()
            options = torch.cat([targets[:, None], others], 1)
            options = options.gather(1, torch.stack([torch.randperm(QUIZ_CHOICES, generator=generator) for _ in pick]))
        questions = []
        for x, target, row in zip(inputs, targets.tolist(), options.tolist()):
            pictures = [self.choice_picture(x, label) for label in row]
            if all(p is not None for p in pictures):  # pictures to choose from: named by letter
                questions.append(Question(self.quiz_picture(x), LETTERS[:len(row)], tuple(pictures), row.index(target)))
            else:
                questions.append(Question(self.quiz_picture(x), tuple(self.label_name(label) for label in row), (),
                                          row.index(target)))
        return Quiz(self.quiz_ask, tuple(questions), inputs, targets, options)

    def choose(self, outputs: torch.Tensor, quiz: Quiz) -> torch.Tensor:
        return outputs.gather(1, quiz.options.to(outputs.device)).argmax(1)

    def evaluate(self, model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> PretextScore:
        result = evaluate(model, batches, self.num_classes)
        return PretextScore(ACCURACY, result.accuracy, result.loss, 1 / self.num_classes, "chance level",
                            result.n, result.confusion)


class ReconstructionTask(PretextTask):
    """A task whose targets are pixels. Its targets carry all the truth needed to rebuild the
    picture; the metric is PSNR against the truth over the region predicted, beside a trivial
    prediction that knows nothing about images."""

    metric = PSNR
    baseline_label: ClassVar[str] = ""

    @abstractmethod
    def reconstruct(self, outputs: torch.Tensor,
                    targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """-> (predicted picture, true picture, region scored or None), pixels in [0, 1]."""

    @abstractmethod
    def trivial_output(self, targets: torch.Tensor) -> torch.Tensor:
        """The output of a network that learned nothing about images: the baseline."""

    def score(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return psnr(*self.reconstruct(outputs, targets))

    @abstractmethod
    def quiz_candidates(self, targets: torch.Tensor) -> torch.Tensor:
        """Outputs `(m, B, ...)` to choose from, the true one first: plausible wrong answers."""

    def quiz(self, images: torch.Tensor, generator: torch.Generator) -> Quiz:
        """Which of m pictures is the truth; the others fill the predicted region with wrong content."""
        inputs, targets = self.make_batch(normalise(images.cpu()), generator)
        candidates = self.quiz_candidates(targets)
        m, b = candidates.shape[:2]
        order = torch.stack([torch.randperm(m, generator=generator) for _ in range(b)])  # choice j shows order[i, j]
        pictures = torch.stack([self.reconstruct(candidates[c], targets)[0] for c in range(m)], 1)  # (B, m, ...)
        pictures = pictures[torch.arange(b)[:, None], order]
        questions = tuple(Question(self.quiz_picture(inputs[i]), LETTERS[:m], tuple(to_display(p) for p in pictures[i]),
                                   order[i].tolist().index(0)) for i in range(b))
        return Quiz(self.quiz_ask, questions, inputs, targets, pictures)

    def choose(self, outputs: torch.Tensor, quiz: Quiz) -> torch.Tensor:
        """The choice nearest to what the network paints, over the region it predicts."""
        painted, _, region = self.reconstruct(outputs, quiz.targets)
        error = (painted[:, None] - quiz.options).square()
        if region is not None:
            error = error * region[:, None]
        return error.flatten(2).sum(2).argmin(1)

    def evaluate(self, model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> PretextScore:
        loss, value, baseline, n = self.averaged(
            model, batches, lambda outputs, targets: self.score(self.trivial_output(targets), targets))
        return PretextScore(PSNR, value, loss, baseline, self.baseline_label, n)

    def held_out_metrics(self, model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]
                         ) -> dict[str, float]:
        loss, value, _, _ = self.averaged(model, batches, lambda outputs, targets: outputs.new_zeros(len(outputs)))
        return {"test_loss": loss, f"test_{self.metric.key}": value}

    @torch.inference_mode()
    def showcase(self, model: nn.Module, images: torch.Tensor) -> list[PretextSample]:
        with evaluating(model):
            device = next(model.parameters()).device
            inputs, targets = self.make_batch(normalise(images.to(device)), torch.Generator(device).manual_seed(0))
            with precision.inference(model, device):
                outputs = model(inputs).float()
        output, truth, _ = self.reconstruct(outputs, targets)
        shown = pixels(inputs)
        return [sample for i in range(len(images)) for sample in (
            PretextSample(to_display(shown[i]), "input"), PretextSample(to_display(output[i]), "network"),
            PretextSample(to_display(truth[i]), "truth"))]
