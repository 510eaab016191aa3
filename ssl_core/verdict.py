"""Plain-words verdicts on SSL-vs-scratch results."""
from __future__ import annotations

from ssl_core.downstream import MODE_TITLES

TIE = 0.01  # differences under one point are within noise for a single run


def comparison_verdict(accuracy: dict[str, float], n_labeled: int) -> str:
    """One sentence per SSL mode: does it beat the same network trained from scratch?"""
    if "scratch" not in accuracy:
        return ""
    base = accuracy["scratch"]
    lines = []
    for mode, value in accuracy.items():
        if mode == "scratch":
            continue
        gap = value - base
        title = MODE_TITLES[mode]
        if gap > TIE:
            lines.append(f"✅ With {n_labeled:,} labels, **{title}** beats training from scratch by "
                         f"**{gap * 100:.1f} points** ({value:.1%} vs {base:.1%}): self-supervision helped.")
        elif gap < -TIE:
            lines.append(f"❌ With {n_labeled:,} labels, **{title}** is **{-gap * 100:.1f} points worse** than "
                         f"from scratch ({value:.1%} vs {base:.1%}): here the pretext features did not help. "
                         f"Try another block, more pretext epochs, or fewer labels.")
        else:
            lines.append(f"➖ With {n_labeled:,} labels, **{title}** and from scratch are on par "
                         f"({value:.1%} vs {base:.1%}).")
    return "\n\n".join(lines)


def budget_verdict(report: dict) -> str:
    """Where along the label budget self-supervision helps, and where it does not."""
    helps, hurts, ties = [], [], []
    for entry in report["results"]:
        budget = (f"{entry['labels_per_class']}/class" if "labels_per_class" in entry
                  else f"{entry['label_fraction']:.0%} of labels")
        ssl = [(m, entry[m]["mean"]) for m in ("ssl_linear", "ssl_finetune") if entry.get(m)]
        if not entry.get("scratch") or not ssl:  # a run stopped before both sides were measured
            continue
        scratch = entry["scratch"]["mean"]
        best_mode, best = max(ssl, key=lambda item: item[1])
        gap = (best - scratch) * 100
        name = "fine-tuned" if best_mode == "ssl_finetune" else "linear probe"
        if gap > TIE * 100:
            helps.append(f"{budget} (+{gap:.1f} points, {name})")
        elif gap < -TIE * 100:
            hurts.append(f"{budget} ({gap:.1f} points)")
        else:
            ties.append(budget)
    lines = []
    if helps:
        lines.append("✅ Self-supervision helps at " + ", ".join(helps) + ".")
    if hurts:
        lines.append("❌ It does not beat training from scratch at " + ", ".join(hurts) + ".")
    if ties:
        lines.append("➖ On par at " + ", ".join(ties) + ".")
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
