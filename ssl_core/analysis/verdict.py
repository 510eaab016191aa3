"""Plain-words verdicts on SSL-vs-scratch results, backed by intervals.

One place words the claims the app makes: the Downstream page, the
experiments page, the CLI JSON and the README tables all call it. A verdict
says "helped" or "hurt" only when the 95% interval of the difference excludes
zero and the SSL model is clearly above chance; otherwise it says the result is
too close to call and what would settle it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ssl_core.analysis.stats import Difference, above_chance, paired_difference

if TYPE_CHECKING:
    import torch

    from ssl_core.analysis.report import BudgetResult

HELPED, HURT, TOO_CLOSE, AT_CHANCE = "helped", "hurt", "too close to call", "at chance"
TOO_FEW = "too few test images"
TOO_FEW_HALF_WIDTH = 0.10  # an interval wider than ±10 points that holds zero cannot judge the models


@dataclass(frozen=True)
class Verdict:
    outcome: str  # HELPED, HURT, TOO_CLOSE, AT_CHANCE or TOO_FEW: the one story every element of a result tells
    text: str  # one plain sentence, no markup
    difference: Difference | None = None

    @property
    def significant(self) -> bool:
        """Whether badges may colour the difference: only when the story is a win or a loss."""
        return self.outcome in (HELPED, HURT)


def points(value: float) -> str:
    """A difference of accuracies as signed percentage points."""
    return f"{value * 100:+.1f}".replace("-", "−")


def interval(difference: Difference) -> str:
    return f"95% interval {points(difference.low)} to {points(difference.high)} points"


def _over(difference: Difference) -> str:
    seeds = f", mean of {difference.n_seeds} seeds" if difference.n_seeds > 1 else ""
    return f"{difference.n_test:,} test images{seeds}"


def chance_words(chance: float, chance_class: str | None = None) -> str:
    """What chance means here, in words: the score of always giving the commonest test answer."""
    answer = f"answering '{chance_class}'" if chance_class else "giving the same answer"
    return f"always {answer} scores {chance:.0%} here"


def guessing(title: str, accuracy: float, n_test: int, chance: float) -> str:
    """Why a model that is not clearly above chance is called so: at chance, or could still be guessing."""
    if accuracy <= chance + 0.005:
        return f"{title} ({accuracy:.1%}) is at or below chance level"
    return f"{title} ({accuracy:.1%}) is not clearly above chance: on {n_test:,} test images that could still be luck"


def images_needed(difference: Difference) -> int | None:
    """Test images for the interval to exclude zero at an effect the size of the one seen (the
    interval narrows as 1/sqrt(n)); None when the effect seen is too small to extrapolate."""
    effect = abs(difference.mean)
    if effect < 0.005:
        return None
    half = (difference.high - difference.low) / 2
    return max(difference.n_test + 1, math.ceil(difference.n_test * (half / effect) ** 2))


def too_few(difference: Difference) -> bool:
    return not difference.excludes_zero and (difference.high - difference.low) / 2 > TOO_FEW_HALF_WIDTH


def compare(title: str, ssl: float, scratch: float, difference: Difference, n_labeled: int,
            chance: float | None = None, chance_class: str | None = None) -> Verdict:
    """Does the SSL model `title` (accuracy `ssl`) beat the same network from scratch? One outcome,
    checked in this order: too few test images to tell; a significant win or loss (a win only
    counts when the SSL model is clearly above chance, a loss when scratch is); neither above chance;
    too close to call."""
    labels = f"With {n_labeled:,} labels"
    shown = f"{ssl:.1%} vs {scratch:.1%}"
    n = difference.n_test
    if too_few(difference):
        needed = images_needed(difference)
        return Verdict(TOO_FEW, f"{n:,} test images are too few to tell {title} from training from scratch "
                                f"({shown}; {interval(difference)}): only a difference of about "
                                f"{(difference.high - difference.low) / 2 * 100:.0f} points or more would show. "
                                + (f"A difference the size of this one ({points(difference.mean)} points) would "
                                   f"need about {needed:,} test images." if needed else
                                   "Add test images, or repeat over seeds, before judging."), difference)
    ssl_above = chance is None or above_chance(ssl, n, chance)
    scratch_above = chance is None or above_chance(scratch, n, chance)
    baseline = chance_words(chance, chance_class) if chance is not None else ""
    if difference.low > 0 and ssl_above:
        return Verdict(HELPED, f"{labels}, {title} beats training from scratch by {difference.mean * 100:.1f} "
                               f"points ({shown}; {interval(difference)}, {_over(difference)}): "
                               "self-supervision helped.", difference)
    if difference.high < 0 and scratch_above:
        return Verdict(HURT, f"{labels}, {title} is {-difference.mean * 100:.1f} points worse than training from "
                             f"scratch ({shown}; {interval(difference)}, {_over(difference)}): here "
                             "self-supervision hurt. Try another block, more pretext epochs, or fewer labels.",
                       difference)
    if difference.excludes_zero:  # significant, but the better model is itself not clearly above chance
        leader, other, accuracy = (title, "training from scratch", ssl) if difference.low > 0 else \
            ("training from scratch", title, scratch)
        return Verdict(AT_CHANCE, f"{labels}, {leader} scores {abs(difference.mean) * 100:.1f} points more than "
                                  f"{other} ({shown}; {interval(difference)}), but {guessing(leader, accuracy, n, chance)}"
                                  f" ({baseline}), so this says little about self-supervision.", difference)
    if not ssl_above and not scratch_above:
        return Verdict(AT_CHANCE, f"{labels}, neither {title} ({ssl:.1%}) nor training from scratch ({scratch:.1%}) is "
                                  f"clearly better than guessing ({baseline}, on {n:,} test images): there is "
                                  "nothing to compare yet.", difference)
    settle = "more seeds or a larger test set" if difference.n_seeds < 5 else "a larger test set"
    return Verdict(TOO_CLOSE, f"{labels}, {title} and training from scratch are too close to call with "
                              f"{_over(difference)} ({shown}, difference {points(difference.mean)} points, "
                              f"{interval(difference)}): {settle} would settle it.", difference)


def chance_note(accuracies: Mapping[str, float], n_test: int, chance: float, image_size: int | None = None,
                colour: bool = False, labels_per_class: int | None = None, chance_class: str | None = None) -> str:
    """Names models not clearly above chance, in words ('' when all are), with what chance means here."""
    low = [title for title, value in accuracies.items() if not above_chance(value, n_test, chance)]
    if not low:
        return ""
    baseline = chance_words(chance, chance_class)
    if len(low) == len(accuracies):
        return (f"No model is clearly better than guessing: {baseline}, and on these {n_test:,} test images none "
                "beats that by a clear margin.")
    names = "; ".join(guessing(title, accuracies[title], n_test, chance) for title in low)
    return f"{names} ({baseline})."


# ---- label-budget reports (experiment CLI, benchmarks, page 5) ----------------------------------

SSL_TITLES = {"linear": "SSL linear probe", "finetune": "SSL fine-tuned", "joint": "SSL trained jointly"}


def budget_name(entry: Mapping) -> str:
    if "labels_per_class" in entry:
        return f"{entry['labels_per_class']:g}/class"
    return f"{entry['label_fraction']:.0%} of labels"


def entry_verdict(accuracy: Mapping, differences: Mapping[str, Difference], n_labeled: int,
                  chance: float | None) -> Verdict | None:
    """The verdict for one budget: the SSL mode with the larger mean difference against scratch.
    `accuracy`: mode -> summary with a `mean`; `differences`: SSL mode -> its difference from scratch."""
    if "scratch" not in accuracy or not differences:
        return None  # a run stopped before both sides were measured
    mode = max(differences, key=lambda m: differences[m].mean)
    return compare(SSL_TITLES[mode], accuracy[mode].mean, accuracy["scratch"].mean, differences[mode], n_labeled,
                   chance)


def budget_verdict(results: Sequence["BudgetResult"]) -> str:
    """One paragraph per outcome: where along the label budget self-supervision helped, and where not."""
    groups: dict[str, list[str]] = {HELPED: [], HURT: [], TOO_CLOSE: [], AT_CHANCE: [], TOO_FEW: []}
    for result in results:
        if result.verdict is None or result.verdict.outcome not in groups:
            continue
        mode, d = max(result.difference.items(), key=lambda item: item[1].mean)
        groups[result.verdict.outcome].append(f"{result.name} ({SSL_TITLES[mode]} {points(d.mean)} points, "
                                              f"95% interval {points(d.low)} to {points(d.high)})")
    lines = []
    if groups[HELPED]:
        lines.append("✅ Self-supervision helped at " + "; ".join(groups[HELPED]) + ".")
    if groups[HURT]:
        lines.append("❌ It hurt at " + "; ".join(groups[HURT]) + ".")
    if groups[TOO_CLOSE]:
        lines.append("➖ Too close to call at " + "; ".join(groups[TOO_CLOSE]) + ".")
    if groups[AT_CHANCE]:
        lines.append("⚠️ Not clearly better than guessing at " + "; ".join(groups[AT_CHANCE]) + ".")
    if groups[TOO_FEW]:
        lines.append("🔍 Too few test images to tell at " + "; ".join(groups[TOO_FEW]) + ".")
    return "\n\n".join(lines)


def block_verdict(accuracy: Mapping[int, float], correct: Mapping[int, "torch.Tensor"]) -> str:
    """Which block's features a linear probe reads best, claimed only where the paired 95% interval against the
    runner-up (and against the last block) excludes zero."""
    if not accuracy:
        return ""
    ranked = sorted(accuracy, key=accuracy.get, reverse=True)
    best = ranked[0]
    if len(ranked) == 1:
        return f"Block {best}: {accuracy[best]:.1%}."
    runner = ranked[1]
    lead = paired_difference(correct[best], correct[runner])
    if not lead.excludes_zero:
        text = (f"Blocks {best} and {runner} are too close to call ({accuracy[best]:.1%} and {accuracy[runner]:.1%}; "
                f"{interval(lead)}, {_over(lead)}): more test images or labels would settle it")
    else:
        text = (f"Block {best} transfers best ({accuracy[best]:.1%}), {points(lead.mean)} points ahead of block "
                f"{runner} ({interval(lead)}, {_over(lead)})")
    last = max(accuracy)
    if best != last and runner != last and paired_difference(correct[best], correct[last]).excludes_zero:
        text += (f"; the last block gives {accuracy[last]:.1%}: its features are the most specialised to the "
                 "pretext task, as RotNet found")
    return text + "."


def reconstruction_words(value: float, baseline: float, baseline_label: str) -> str:
    """What a painting task's PSNR means beside the trivial answer's: in words and in squared error."""
    gain = value - baseline
    error = 10 ** (-gain / 10)  # the network's mean squared error as a share of the trivial answer's
    if gain < 0.5:
        return (f"{value:.1f} dB against {baseline:.1f} dB for {baseline_label}: hardly better than that trivial "
                "answer, so the network has learned little about these images yet.")
    if gain < 2:
        return (f"{value:.1f} dB against {baseline:.1f} dB for {baseline_label}: somewhat better, "
                f"{1 - error:.0%} less squared error than that trivial answer.")
    return (f"{value:.1f} dB against {baseline:.1f} dB for {baseline_label}: clearly better, {1 - error:.0%} less "
            "squared error than that trivial answer: the network paints what belongs there.")
