"""A visitor's run history: every pretext and comparison run that ended, with its settings,
duration, one-line result and curves (not its models: those stay with the current run), so two
runs can be put side by side.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from ssl_core.comparison import Comparison
from ssl_core.downstream import MODE_TITLES
from ssl_core.experiment import BlockProbe
from ssl_core.jobs import Snapshot
from ssl_core.pretrain import PretrainResult
from ssl_core.report import ExperimentReport

HISTORY_RUNS = 30  # per visitor; the oldest goes first


@dataclass(frozen=True)
class RunRecord:
    number: int  # 1, 2, … in the order the runs ended
    kind: str  # "pretext", "downstream"
    title: str
    settings: str
    status: str
    seconds: float
    ended_at: float  # time.time()
    result: str
    steps: tuple[dict, ...]
    epochs: tuple[dict, ...]

    @property
    def label(self) -> str:
        return f"#{self.number} {self.title}"

    def curves(self) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
        """Its steps and epochs with each point's run named after this record, for charts of several runs."""
        def rename(points: tuple[dict, ...]) -> tuple[dict, ...]:
            return tuple({**p, "run": f"#{self.number} {p.get('run', self.title)}"} for p in points)

        return rename(self.steps), rename(self.epochs)


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


def record(number: int, snap: Snapshot, settings: str) -> RunRecord:
    result = (summary(snap.result) if snap.result is not None else "") or snap.message
    return RunRecord(number, snap.kind, snap.title, settings, snap.status, snap.seconds, time.time(), result,
                     snap.steps, snap.epochs)

