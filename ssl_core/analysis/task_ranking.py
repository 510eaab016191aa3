"""Which pretext task transfers best at each label budget, judged like every other claim here.

Label-efficiency protocols titled "<dataset>, <task>" share their test images and labeled images
(same split, same seeds), so two tasks' SSL models can be compared image by image: the lead of the
best task over the runner-up gets a paired interval, and "best" is said only when it excludes zero.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch

from ssl_core.analysis.report import ExperimentReport, Point
from ssl_core.analysis.stats import Difference, paired_difference
from ssl_core.analysis.verdict import budget_name
from ssl_core.engine.downstream import MODE_TITLES

SSL_MODES = ("linear", "finetune")


@dataclass(frozen=True)
class TaskResult:
    task: str
    mode: str  # the task's better SSL mode at this budget
    accuracy: float  # mean over seeds
    versus_scratch: Difference


@dataclass(frozen=True)
class BudgetRanking:
    dataset: str
    budget: str  # "1/class", "10%"
    scratch: float
    tasks: tuple[TaskResult, ...]  # best first
    lead: Difference | None  # best minus runner-up, paired over test images and seeds

    def sentence(self) -> str:
        best = self.tasks[0]
        head = (f"{self.dataset}, {self.budget}: **{best.task}** ({MODE_TITLES[best.mode]}, "
                f"{best.accuracy:.1%}; scratch {self.scratch:.1%})")
        if self.lead is None:
            return head + " is the only task measured."
        second = self.tasks[1]
        gap = f"{self.lead.mean * 100:+.1f} points [{self.lead.low * 100:+.1f}, {self.lead.high * 100:+.1f}]"
        if self.lead.excludes_zero:
            return head + f" transfers best, ahead of {second.task} by {gap}."
        return head + f" and {second.task} are too close to call ({gap})."


def _outcomes(points: list[Point], n_test: int) -> torch.Tensor:
    return torch.stack([p.outcomes(n_test) for p in sorted(points, key=lambda p: p.seed)])


def rank_tasks(protocols: dict[str, ExperimentReport]) -> list[BudgetRanking]:
    """Rankings for every dataset and budget of the protocols (titles "<dataset>, <task>"), from the
    reports' points and their per-image outcomes."""
    by_dataset: dict[str, dict[str, ExperimentReport]] = {}
    for title, report in protocols.items():
        dataset, _, task = title.rpartition(", ")
        by_dataset.setdefault(dataset, {})[task] = report
    rankings = []
    for dataset, reports in by_dataset.items():
        n_test = next(iter(reports.values())).n_test
        budgets = dict.fromkeys((p.budget_key, p.budget) for r in reports.values() for p in r.points)
        for key, budget in budgets:
            results, outcomes, scratch = [], {}, []
            for task, report in reports.items():
                at = [p for p in report.points if p.budget_key == key and p.budget == budget]
                modes = {m: [p for p in at if p.mode == m] for m in (*SSL_MODES, "scratch")}
                measured = [m for m in SSL_MODES if modes[m]]
                if not measured or not modes["scratch"] or any(p.correct is None for p in at):
                    continue
                mode = max(measured, key=lambda m: statistics.fmean(p.accuracy for p in modes[m]))
                seeds = {p.seed for p in modes[mode]} & {p.seed for p in modes["scratch"]}
                mine = [p for p in modes[mode] if p.seed in seeds]
                base = [p for p in modes["scratch"] if p.seed in seeds]
                outcomes[task] = {p.seed: p for p in mine}
                scratch += [p.accuracy for p in base]
                results.append(TaskResult(task, mode, statistics.fmean(p.accuracy for p in mine),
                                          paired_difference(_outcomes(mine, n_test), _outcomes(base, n_test))))
            if not results:
                continue
            results.sort(key=lambda r: r.accuracy, reverse=True)
            lead = None
            if len(results) > 1:
                first, second = outcomes[results[0].task], outcomes[results[1].task]
                seeds = sorted(set(first) & set(second))
                lead = paired_difference(_outcomes([first[s] for s in seeds], n_test),
                                         _outcomes([second[s] for s in seeds], n_test))
            rankings.append(BudgetRanking(dataset, budget_name({key: budget}), statistics.fmean(scratch),
                                          tuple(results), lead))
    return rankings
