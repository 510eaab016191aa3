"""What to try next, computed from a result's own numbers rather than one fixed hint.

Each rule reads one symptom of a comparison and names its likely cause and fix:
few photos, a pretext task that learned nothing, models that memorised their few
labels, a test set too small to judge, photos shrunk too far, too few labels.
The Downstream page, presenter mode and the experiment CLI show the same lines.
"""
from __future__ import annotations

from dataclasses import dataclass

from ssl_core.analysis.verdict import AT_CHANCE, HELPED, TOO_CLOSE, TOO_FEW

FEW_PHOTOS = 1000  # unlabeled images below which pretext training has little to learn from
SMALL_TEST = 200  # test images below which only large differences can show
MEMORISED_GAP = 0.25  # training accuracy this far above the test's: the labels were memorised
PRETEXT_MARGIN = 0.02  # a pretext accuracy within this of its chance level learned nothing


@dataclass(frozen=True)
class Situation:
    """The numbers of one comparison that the advice reads."""

    n_unlabeled: int | None  # None: not known
    n_labeled: int
    n_test: int
    labels_per_class: int | None
    image_size: int
    colour: bool
    outcome: str | None  # the headline verdict's outcome
    seeds: int = 1
    pretext_accuracy: float | None = None  # held-out pretext accuracy, for classification pretext tasks
    pretext_chance: float | None = None
    train_accuracy: float | None = None  # the headline model on its own labeled images
    test_accuracy: float | None = None


@dataclass(frozen=True)
class Advice:
    symptom: str  # a short name, for tests and logs
    text: str  # one plain sentence: cause and fix


def pretext_at_chance(accuracy: float | None, chance: float | None) -> bool:
    return accuracy is not None and chance is not None and accuracy <= chance + PRETEXT_MARGIN


def advise(s: Situation) -> list[Advice]:
    """Every rule whose symptom this result shows, most fundamental first; [] for a clear win."""
    if s.outcome == HELPED:
        return []
    out = []
    if pretext_at_chance(s.pretext_accuracy, s.pretext_chance):
        out.append(Advice("pretext at chance", (
            f"The pretext task stayed at chance ({s.pretext_accuracy:.0%} on held-out images; chance "
            f"{s.pretext_chance:.0%}), so its features hold nothing to transfer: try another image size or "
            "pretext task, or fewer epochs if its held-out score fell while training went on.")))
    if s.n_unlabeled is not None and s.n_unlabeled < FEW_PHOTOS:
        out.append(Advice("few photos", (
            f"Only {s.n_unlabeled:,} photos to pretrain on: self-supervision learns from the photos themselves, "
            "so more photos, labeled or not, give it more to learn.")))
    if (s.train_accuracy is not None and s.test_accuracy is not None
            and s.train_accuracy - s.test_accuracy > MEMORISED_GAP):
        out.append(Advice("memorised", (
            f"The models fit their {s.n_labeled:,} labeled images ({s.train_accuracy:.0%} right) far better than "
            f"new ones ({s.test_accuracy:.0%}): they memorise. More labeled photos will help; more epochs will not.")))
    if s.outcome == TOO_FEW or s.n_test < SMALL_TEST:
        out.append(Advice("small test set", (
            f"{s.n_test:,} test images can only show large differences: add photos (a fifth of them are kept "
            "for testing) or repeat the comparison over more seeds.")))
    elif s.outcome == TOO_CLOSE and s.seeds < 3:
        out.append(Advice("one seed", "Repeat the comparison over 3 or more seeds to narrow the interval."))
    if s.colour and s.image_size < 32:
        out.append(Advice("too small", (
            f"Photos trained at {s.image_size} px are too small to show what tells the classes apart: use 32 px "
            "or more.")))
    if s.outcome == AT_CHANCE and s.labels_per_class is not None and s.labels_per_class < 5:
        out.append(Advice("few labels", (
            f"{s.labels_per_class} label{'s' if s.labels_per_class > 1 else ''} per class may be too few for any "
            "model to learn the task: add labels.")))
    return out


def pretext_warning(accuracy: float, chance: float, n_unlabeled: int, image_size: int, colour: bool,
                    epochs: int) -> str:
    """The Train page's warning when a classification pretext task ends at or below chance on held-out
    images, with its likely cause; '' when it learned something."""
    if not pretext_at_chance(accuracy, chance):
        return ""
    if n_unlabeled < FEW_PHOTOS:
        cause = (f"only {n_unlabeled:,} images to learn from: with so few, the network memorises the training "
                 "images instead of learning what the task asks. Add photos, labeled or not, or train fewer epochs")
    elif colour and image_size < 32:
        cause = f"photos at {image_size} px show too little: use 32 px or more"
    elif epochs <= 2:
        cause = f"{epochs} epoch{'s' if epochs > 1 else ''} may be too short: train more epochs"
    else:
        cause = "the task may not suit these images at this size: try another image size or pretext task"
    return (f"The pretext task ended at or below chance ({accuracy:.1%} on held-out images; chance {chance:.1%}): "
            f"the network learned nothing it can transfer. Likely cause: {cause}.")
