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
