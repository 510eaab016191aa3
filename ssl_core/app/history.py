"""A visitor's run history: every pretext and comparison run that ended, with its settings,
duration, one-line result and curves (not its models: those stay with the current run), so two
runs can be put side by side.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from ssl_core.analysis.summary import summary
from ssl_core.app.jobs import Snapshot

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


def record(number: int, snap: Snapshot, settings: str) -> RunRecord:
    result = (summary(snap.result) if snap.result is not None else "") or snap.message
    return RunRecord(number, snap.kind, snap.title, settings, snap.status, snap.seconds, time.time(), result,
                     snap.steps, snap.epochs)

