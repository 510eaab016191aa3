"""The label-budget report as typed records: what `run_experiment` returns, what the benchmarks
merge and print, what page 5 charts and judges. JSON only at the edges (`to_json`, `from_json`).
"""
from __future__ import annotations

import base64
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ssl_core.analysis.stats import Difference, difference_from_accuracies, paired_difference
from ssl_core.analysis.verdict import Verdict, budget_name, entry_verdict

MODES = ("linear", "finetune", "joint", "scratch")
SSL_MODES = MODES[:3]
JSON_KEYS = {"linear": "ssl_linear", "finetune": "ssl_finetune", "joint": "ssl_joint",
             "scratch": "scratch"}  # the CLI's JSON names


def pack_outcomes(correct: torch.Tensor) -> str:
    """Per-test-image outcomes as base64 bits: what paired intervals need, a few hundred bytes a run."""
    return base64.b64encode(np.packbits(correct.numpy().astype(np.uint8)).tobytes()).decode()


def unpack_outcomes(text: str, n: int) -> torch.Tensor:
    bits = np.unpackbits(np.frombuffer(base64.b64decode(text), dtype=np.uint8))[:n]
    return torch.from_numpy(bits.astype(bool))


@dataclass(frozen=True)
class Point:
    """One downstream run: a mode at a label budget for one seed."""

    seed: int
    budget_key: str  # "labels_per_class" or "label_fraction"
    budget: float
    n_labeled: int
    mode: str  # "linear", "finetune" or "scratch"
    accuracy: float
    correct: str | None = None  # packed per-test-image outcomes; None in reports written before them

    def outcomes(self, n_test: int) -> torch.Tensor:
        if self.correct is None:
            raise ValueError("this run kept no per-image outcomes")
        return unpack_outcomes(self.correct, n_test)

    def to_json(self) -> dict:
        out = {"seed": self.seed, "budget_key": self.budget_key, "budget": self.budget, "n_labeled": self.n_labeled,
               "mode": self.mode, "accuracy": self.accuracy}
        return out if self.correct is None else {**out, "correct": self.correct}

    @classmethod
    def from_json(cls, data: dict) -> "Point":
        return cls(int(data["seed"]), data["budget_key"], data["budget"], int(data["n_labeled"]), data["mode"],
                   float(data["accuracy"]), data.get("correct"))


@dataclass(frozen=True)
class Summary:
    mean: float
    std: float

    @classmethod
    def of(cls, values: Sequence[float]) -> "Summary":
        return cls(statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0)

    def to_json(self) -> dict:
        return {"mean": self.mean, "std": self.std}


@dataclass(frozen=True)
class BudgetResult:
    """Every mode at one label budget, each SSL mode's difference from scratch, and the verdict."""

    budget_key: str
    budget: float
    n_labeled: int
    accuracy: dict[str, Summary]  # by mode, the modes measured
    difference: dict[str, Difference]  # by SSL mode, against scratch
    verdict: Verdict | None

    @property
    def name(self) -> str:
        return budget_name({self.budget_key: self.budget})

    def to_json(self) -> dict:
        out = {self.budget_key: self.budget, "n_labeled": self.n_labeled}
        out.update({JSON_KEYS[m]: self.accuracy[m].to_json() if m in self.accuracy else None for m in MODES
                    if m != "joint" or m in self.accuracy})
        out["difference"] = {JSON_KEYS[m]: d.to_json() for m, d in self.difference.items()}
        if self.verdict is not None:
            out["verdict"], out["outcome"] = self.verdict.text, self.verdict.outcome
        return out


def budget_differences(group: Sequence[Point], n_test: int) -> dict[str, Difference]:
    """Each SSL mode minus scratch at one budget: paired over test images and seeds where the points
    keep their per-image outcomes, else the conservative interval from the accuracies."""
    by_seed = {(p.mode, p.seed): p for p in group}
    differences = {}
    for mode in SSL_MODES:
        pairs = [(by_seed[(mode, s)], by_seed[("scratch", s)])
                 for (m, s) in by_seed if m == mode and ("scratch", s) in by_seed]
        if not pairs:
            continue
        if all(a.correct and b.correct for a, b in pairs):
            stack = lambda i: torch.stack([pair[i].outcomes(n_test) for pair in pairs])  # noqa: E731
            differences[mode] = paired_difference(stack(0), stack(1))
        else:
            differences[mode] = difference_from_accuracies([a.accuracy for a, _ in pairs],
                                                           [b.accuracy for _, b in pairs], n_test)
    return differences


def judge_budgets(points: Sequence[Point], n_test: int, chance: float | None) -> tuple[BudgetResult, ...]:
    results = []
    for key, budget in dict.fromkeys((p.budget_key, p.budget) for p in points):
        group = [p for p in points if p.budget_key == key and p.budget == budget]
        accuracy = {m: Summary.of([p.accuracy for p in group if p.mode == m])
                    for m in MODES if any(p.mode == m for p in group)}
        differences = budget_differences(group, n_test)
        n_labeled = round(statistics.fmean(p.n_labeled for p in group))
        verdict = entry_verdict(accuracy, differences, n_labeled, chance)
        results.append(BudgetResult(key, budget, n_labeled, accuracy, differences, verdict))
    return tuple(results)


@dataclass(frozen=True)
class ExperimentReport:
    points: tuple[Point, ...]
    pretext_scores: tuple[float, ...]  # one per seed, in the task's metric
    n_unlabeled: int
    n_test: int
    seconds: float
    chance: float | None = None
    pretext_metric: str = "accuracy"  # or "psnr"
    pretext_task: dict | None = None  # {"name", "settings"}: enough to rebuild the task
    pretext_baselines: tuple[float, ...] = ()  # what a trivial answer scores, one per seed
    results: tuple[BudgetResult, ...] = field(default=(), compare=False)  # judged from the points

    @classmethod
    def judged(cls, points: Sequence[Point], pretext_scores: Sequence[float], n_unlabeled: int, n_test: int,
               seconds: float, chance: float | None = None, pretext_metric: str = "accuracy",
               pretext_task: dict | None = None, pretext_baselines: Sequence[float] = ()) -> "ExperimentReport":
        return cls(tuple(points), tuple(pretext_scores), n_unlabeled, n_test, seconds, chance, pretext_metric,
                   pretext_task, tuple(pretext_baselines), judge_budgets(points, n_test, chance))

    @property
    def pretext_score(self) -> float | None:
        return statistics.fmean(self.pretext_scores) if self.pretext_scores else None

    @property
    def pretext_baseline(self) -> float | None:
        return statistics.fmean(self.pretext_baselines) if self.pretext_baselines else None

    def to_json(self) -> dict:
        out = {"pretext_score": self.pretext_score, "pretext_metric": self.pretext_metric,
               "pretext_scores": list(self.pretext_scores), "pretext_baselines": list(self.pretext_baselines), "n_unlabeled": self.n_unlabeled, "n_test": self.n_test,
               "chance": self.chance, "seconds": self.seconds, "results": [r.to_json() for r in self.results],
               "points": [p.to_json() for p in self.points]}
        return out if self.pretext_task is None else {"pretext_task": self.pretext_task, **out}

    @classmethod
    def from_json(cls, data: dict) -> "ExperimentReport":
        """Read a saved report and judge it again (reports written before verdicts had intervals gain them)."""
        return cls.judged([Point.from_json(p) for p in data["points"]], data["pretext_scores"], data["n_unlabeled"],
                          data["n_test"], data["seconds"], data.get("chance"), data.get("pretext_metric", "accuracy"),
                          data.get("pretext_task"), data.get("pretext_baselines", ()))

    @classmethod
    def merged(cls, reports: Sequence["ExperimentReport"]) -> "ExperimentReport":
        """One report from runs of the same protocol on different seeds (run apart, e.g. in parallel);
        `seconds` becomes the summed compute time."""
        if not reports:
            raise ValueError("nothing to merge")
        if len({(r.n_unlabeled, r.n_test) for r in reports}) > 1:
            raise ValueError("these reports come from different protocols")
        first = reports[0]
        return cls.judged([p for r in reports for p in r.points], [s for r in reports for s in r.pretext_scores],
                          first.n_unlabeled, first.n_test, sum(r.seconds for r in reports), first.chance,
                          first.pretext_metric, first.pretext_task, [b for r in reports for b in r.pretext_baselines])
