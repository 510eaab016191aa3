"""Run history holds every kind of run that ends: pretext, comparison, page 5's label budget and block probe."""
import torch

from ssl_core.analysis.experiment import BlockProbe
from ssl_core.analysis.report import ExperimentReport, Point, pack_outcomes
from ssl_core.app.history import record, summary
from ssl_core.app.jobs import Snapshot
from ssl_core.app.store import WorkspaceStore
from ssl_core.engine.train import EpochPoint, StepPoint


def snapshot(kind: str, title: str, epochs: tuple[EpochPoint, ...], result, found: tuple = ()) -> Snapshot:
    return Snapshot("j1", kind, title, "done", 1.0, 12.0, None, None, "finished", (), epochs, result, found)


def budget_report() -> ExperimentReport:
    n = 200
    right = lambda k: pack_outcomes(torch.arange(n) < k)  # noqa: E731
    points = [Point(0, "labels_per_class", 1, 10, "linear", 0.8, right(160)),
              Point(0, "labels_per_class", 1, 10, "scratch", 0.5, right(100))]
    return ExperimentReport.judged(points, [0.9], 1000, n, 30.0, chance=0.1)


def test_a_label_budget_run_is_recorded_with_its_curves_and_each_budgets_verdict():
    report = budget_report()
    entry = record(3, snapshot("experiment", "label budget on mnist-10k", (), report, found=report.points),
                   "budgets 1")
    assert entry.result.startswith("1/class: helped (+30.0 points [")  # its difference, with the interval
    assert entry.curves() == ((), ())  # its points are results, not training curves


def test_a_block_probe_run_is_recorded_with_each_blocks_accuracy():
    probe = BlockProbe({1: 0.5, 2: 0.625}, {1: torch.ones(8, dtype=torch.bool), 2: torch.ones(8, dtype=torch.bool)})
    entry = record(4, snapshot("probe", "probe blocks", (), probe, found=((1, 0.5),)), "")
    assert entry.result == "block 1 50.0%, block 2 62.5%"
    assert summary(object()) == ""  # a result it does not know: the job's message is used instead


def test_a_runs_curves_come_back_from_the_store_typed_and_named_after_the_run(tmp_path):
    steps = (StepPoint("pretext", 5, 1, 0.9, 1.5), StepPoint("pretext", 10, 2, 0.5, 3.0))
    epochs = (EpochPoint("pretext", 1, 2, 5, {"train_loss": 0.9, "test_accuracy": 0.4}),)
    snap = Snapshot("j1", "pretext", "rotation on digits", "done", 1.0, 3.0, None, None, "done", steps, epochs)
    store = WorkspaceStore(tmp_path, keep_s=60)
    store.save("tok", None, "builtin:digits", None)
    store.put_run("tok", record(1, snap, "8 px"), keep=30)
    (back,) = WorkspaceStore(tmp_path, keep_s=60).load("tok").history
    assert back.steps == steps and back.epochs == epochs
    assert [p.run for p in back.curves()[1]] == ["#1 pretext"]


def test_a_history_kept_before_the_points_were_typed_still_reads():
    from ssl_core.app.history import RunRecord

    old = {"number": 2, "kind": "pretext", "title": "t", "settings": "", "status": "done", "seconds": 1.0,
           "ended_at": 0.0, "result": "", "steps": [{"run": "pretext", "step": 5, "epoch": 1, "loss": 0.7,
                                                      "seconds": 0.5}],
           "epochs": [{"run": "pretext", "epoch": 1, "epochs": 3, "step": 5, "test_accuracy": 0.6},
                      {"block": 1, "accuracy": 0.5}]}  # a block probe's point, kept with the curves then
    back = RunRecord.from_json(old)
    assert back.steps[0].loss == 0.7 and back.epochs == (EpochPoint("pretext", 1, 3, 5, {"test_accuracy": 0.6}),)
