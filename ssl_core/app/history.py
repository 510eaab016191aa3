"""A visitor's run history: every pretext and comparison run that ended, with its settings,
duration, one-line result and curves (not its models: those stay with the current run), so two
runs can be put side by side.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

from ssl_core.analysis.summary import summary
from ssl_core.app.jobs import Snapshot
from ssl_core.engine.train import EpochPoint, StepPoint

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
    steps: tuple[StepPoint, ...]
    epochs: tuple[EpochPoint, ...]

    @property
    def label(self) -> str:
        return f"#{self.number} {self.title}"

    def curves(self) -> tuple[tuple[StepPoint, ...], tuple[EpochPoint, ...]]:
        """Its steps and epochs with each point's run named after this record, for charts of several runs."""
        def rename(points):
            return tuple(replace(p, run=f"#{self.number} {p.run or self.title}") for p in points)

        return rename(self.steps), rename(self.epochs)

    @classmethod
    def from_json(cls, record: dict) -> RunRecord:
        """Read back from the store (the points' `asdict` form, or the flat one of histories kept earlier)."""
        return cls(**{**record, "steps": tuple(StepPoint(**p) for p in record["steps"]),
                      "epochs": tuple(EpochPoint.from_json(p) for p in record["epochs"] if "epoch" in p)})
        # (experiments kept their points with the curves then: they are not curves, and are left out)


def record(number: int, snap: Snapshot, settings: str) -> RunRecord:
    result = (summary(snap.result) if snap.result is not None else "") or snap.message
    return RunRecord(number, snap.kind, snap.title, settings, snap.status, snap.seconds, time.time(), result,
                     snap.steps, snap.epochs)

