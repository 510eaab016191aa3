"""One line of what a run produced, for the run history and the command line: a comparison's difference
always with its 95% interval."""
from __future__ import annotations

from ssl_core.analysis.comparison import Comparison
from ssl_core.analysis.experiment import BlockProbe
from ssl_core.analysis.report import ExperimentReport
from ssl_core.engine.downstream import MODE_TITLES
from ssl_core.engine.pretrain import PretrainResult


def summary(result: object) -> str:
    """One line of what a run produced; a comparison's difference always with its 95% interval."""
    if isinstance(result, PretrainResult):
        score = result.evaluation
        if score is None:
            return "no held-out images to score"
        return (f"held-out {score.metric.label} {score.metric.format(score.value)} ({score.baseline_label} "
                f"{score.metric.format(score.baseline)})")
    if isinstance(result, Comparison):
        modes = [mode for mode, runs in result.runs.items() if runs]
        line = ", ".join(f"{MODE_TITLES[m]} {result.mean(m):.1%}" for m in modes)
        best = result.best_mode()
        difference = result.difference(best) if best else None
        if difference is not None:
            line += (f"; {MODE_TITLES[best]} − scratch {difference.mean * 100:+.1f} points [{difference.low * 100:+.1f}, "
                     f"{difference.high * 100:+.1f}]")
        return line or "no run finished"
    if isinstance(result, ExperimentReport):  # page 5's label budget: each budget's verdict, in one line
        judged = [r for r in result.results if r.verdict is not None]
        return "; ".join(f"{r.name}: {r.verdict.outcome}" + (
            f" ({max(r.difference.values(), key=lambda d: d.mean).mean * 100:+.1f} points "
            f"[{max(r.difference.values(), key=lambda d: d.mean).low * 100:+.1f}, "
            f"{max(r.difference.values(), key=lambda d: d.mean).high * 100:+.1f}])" if r.difference else "")
            for r in judged) or "no budget finished"
    if isinstance(result, BlockProbe):  # page 5's block probe
        return ", ".join(f"block {block} {accuracy:.1%}" for block, accuracy in sorted(result.accuracy.items()))
    return ""
