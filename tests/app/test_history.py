"""Run history holds every kind of run that ends: pretext, comparison, page 5's label budget and block probe."""
import torch

from ssl_core.analysis.experiment import BlockProbe
from ssl_core.analysis.report import ExperimentReport, Point, pack_outcomes
from ssl_core.app.history import record, summary
from ssl_core.app.jobs import Snapshot


def snapshot(kind: str, title: str, epochs: tuple[dict, ...], result) -> Snapshot:
    return Snapshot("j1", kind, title, "done", 1.0, 12.0, None, None, "finished", (), epochs, result)


def budget_report() -> ExperimentReport:
    n = 200
    right = lambda k: pack_outcomes(torch.arange(n) < k)  # noqa: E731
    points = [Point(0, "labels_per_class", 1, 10, "linear", 0.8, right(160)),
              Point(0, "labels_per_class", 1, 10, "scratch", 0.5, right(100))]
    return ExperimentReport.judged(points, [0.9], 1000, n, 30.0, chance=0.1)


def test_a_label_budget_run_is_recorded_with_its_curves_and_each_budgets_verdict():
    report = budget_report()
    entry = record(3, snapshot("experiment", "label budget on mnist-10k",
                               tuple(p.to_json() for p in report.points), report), "budgets 1")
    assert entry.result.startswith("1/class: helped (+30.0 points [")  # its difference, with the interval
    steps, epochs = entry.curves()  # its points name no run: the record's title stands in
    assert [p["run"] for p in epochs] == ["#3 label budget on mnist-10k"] * 2


def test_a_block_probe_run_is_recorded_with_each_blocks_accuracy():
    probe = BlockProbe({1: 0.5, 2: 0.625}, {1: torch.ones(8, dtype=torch.bool), 2: torch.ones(8, dtype=torch.bool)})
    entry = record(4, snapshot("probe", "probe blocks", ({"block": 1, "accuracy": 0.5},), probe), "")
    assert entry.result == "block 1 50.0%, block 2 62.5%"
    assert entry.curves()[1][0]["run"] == "#4 probe blocks"
    assert summary(object()) == ""  # a result it does not know: the job's message is used instead
