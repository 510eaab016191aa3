"""Plain-words verdicts on SSL-vs-scratch results, backed by intervals.

One place words the claims the app makes: the Downstream page, the
experiments page, the CLI JSON and the README tables all call it. A verdict
says "helped" or "hurt" only when the 95% interval of the difference excludes
zero and the SSL model is clearly above chance; otherwise it says the result is
too close to call and what would settle it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ssl_core.stats import Difference, above_chance

if TYPE_CHECKING:
    from ssl_core.report import BudgetResult

HELPED, HURT, TOO_CLOSE, AT_CHANCE = "helped", "hurt", "too close to call", "at chance"


@dataclass(frozen=True)
class Verdict:
    outcome: str  # HELPED, HURT, TOO_CLOSE or AT_CHANCE
    text: str  # one plain sentence, no markup
    difference: Difference | None = None


def points(value: float) -> str:
    """A difference of accuracies as signed percentage points."""
    return f"{value * 100:+.1f}".replace("-", "−")


def interval(difference: Difference) -> str:
    return f"95% interval {points(difference.low)} to {points(difference.high)} points"


def _over(difference: Difference) -> str:
    seeds = f", mean of {difference.n_seeds} seeds" if difference.n_seeds > 1 else ""
    return f"{difference.n_test:,} test images{seeds}"


def compare(title: str, ssl: float, scratch: float, difference: Difference, n_labeled: int,
            chance: float | None = None) -> Verdict:
    """Does the SSL model `title` (accuracy `ssl`) beat the same network from scratch?"""
    labels = f"With {n_labeled:,} labels"
    shown = f"{ssl:.1%} vs {scratch:.1%}"
    if chance is not None and not above_chance(ssl, difference.n_test, chance):
        return Verdict(AT_CHANCE, f"{labels}, {title} is at chance level ({ssl:.1%}; chance is {chance:.0%}): "
                                  "it learned nothing to compare.", difference)
    if difference.low > 0:
        return Verdict(HELPED, f"{labels}, {title} beats training from scratch by {difference.mean * 100:.1f} "
                               f"points ({shown}; {interval(difference)}, {_over(difference)}): "
                               "self-supervision helped.", difference)
    if difference.high < 0:
        return Verdict(HURT, f"{labels}, {title} is {-difference.mean * 100:.1f} points worse than training from "
                             f"scratch ({shown}; {interval(difference)}, {_over(difference)}): here "
                             "self-supervision hurt. Try another block, more pretext epochs, or fewer labels.",
                       difference)
    settle = "more seeds" if difference.n_seeds < 5 else "a larger test set"
    return Verdict(TOO_CLOSE, f"{labels}, {title} and training from scratch are too close to call with "
                              f"{_over(difference)} ({shown}, difference {points(difference.mean)} points, "
                              f"{interval(difference)}): {settle} or a larger test set would settle it.", difference)


def chance_note(accuracies: Mapping[str, float], n_test: int, chance: float, image_size: int | None = None,
                colour: bool = False, labels_per_class: int | None = None) -> str:
    """Names models not clearly above chance, with the likely cause and a fix; '' when all learned."""
    low = [title for title, value in accuracies.items() if not above_chance(value, n_test, chance)]
    if not low:
        return ""
    causes = []
    if image_size is not None and colour and image_size < 32:
        causes.append(f"photos trained at {image_size} px are too small to show what tells the classes apart: "
                      "use 32 px or more")
    if labels_per_class is not None and labels_per_class < 5:
        causes.append(f"{labels_per_class} label{'s' if labels_per_class > 1 else ''} per class may be too few: "
                      "add labels")
    causes.append("more pretext and downstream epochs may help")
    fix = "Likely cause and fix: " + "; ".join(causes) + "."
    if len(low) == len(accuracies):
        return (f"No model learned this task: accuracy is at chance level, {chance:.0%} (what always answering the "
                f"commonest class scores on these {n_test:,} test images). {fix}")
    names = " and ".join(low)
    return f"{names} {'is' if len(low) == 1 else 'are'} at chance level ({chance:.0%}): {fix}"


# ---- label-budget reports (experiment CLI, benchmarks, page 5) ----------------------------------

SSL_TITLES = {"linear": "SSL linear probe", "finetune": "SSL fine-tuned"}


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
    groups: dict[str, list[str]] = {HELPED: [], HURT: [], TOO_CLOSE: [], AT_CHANCE: []}
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
        lines.append("⚠️ At chance level at " + "; ".join(groups[AT_CHANCE]) + ".")
    return "\n\n".join(lines)


def block_verdict(scores: dict[int, float]) -> str:
    if not scores:
        return ""
    best = max(scores, key=scores.get)
    last = max(scores)
    text = f"Block {best} transfers best ({scores[best]:.1%})"
    if best != last:
        text += (f"; the last block gives {scores[last]:.1%}: its features are the most specialised to the "
                 f"pretext task, as RotNet found")
    return text + "."
