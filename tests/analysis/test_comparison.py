import pytest

from ssl_core.analysis.comparison import Comparison, compare_modes
from ssl_core.app.jobs import DONE, JobRegistry
from ssl_core.app.runs import comparison_work
from ssl_core.engine.downstream import DownstreamConfig
from ssl_core.engine.train import Callbacks
from tests.conftest import digits_setup as setup  # noqa: F401 (a fixture)


@pytest.mark.slow  # trains every mode on the digits: about 20 s, a journey more than a unit
def test_comparison_job_trains_every_mode_and_judges_it(setup):
    digits, split, pretrained = setup
    work = comparison_work(digits, split, pretrained, ["linear", "finetune", "scratch"], DownstreamConfig(epochs=2))
    job = JobRegistry().start("downstream", "t", work)
    assert job.join(120)
    snap = job.snapshot()
    assert snap.status == DONE and isinstance(snap.result, Comparison)
    assert {mode: len(runs) for mode, runs in snap.result.runs.items()} == {"linear": 1, "finetune": 1, "scratch": 1}
    assert {p.run for p in snap.epochs} == {"SSL linear probe", "SSL fine-tuned", "from scratch"}
    assert set(snap.result.verdicts) == {"linear", "finetune"}
    assert "test images" in snap.result.verdicts["finetune"].text


def test_several_seeds_draw_other_labels_and_score_the_same_test_images(setup):
    digits, split, pretrained = setup
    seen = []
    comparison = compare_modes(digits, split, pretrained, ["linear", "scratch"],
                               DownstreamConfig(epochs=1, min_steps=2), seeds=3,
                               callbacks_for=lambda title, i, n: seen.append((title, i, n)) or Callbacks())
    assert [len(runs) for runs in comparison.runs.values()] == [3, 3]
    assert seen[:2] == [("SSL linear probe (seed 1)", 0, 6), ("from scratch (seed 1)", 1, 6)]
    assert all(len(run.evaluation.correct) == len(split.test) for run in comparison.runs["scratch"])
    difference = comparison.difference("linear")
    assert difference.n_seeds == 3 and difference.n_test == len(split.test)
    assert len({tuple(run.model.head.weight.flatten()[:3].tolist()) for run in comparison.runs["scratch"]}) == 3


def test_a_stop_request_keeps_the_finished_runs(setup):
    digits, split, pretrained = setup
    calls = iter([False, False, True])
    comparison = compare_modes(digits, split, pretrained, ["linear", "scratch"], DownstreamConfig(epochs=1,
                               min_steps=2), seeds=2, should_stop=lambda: next(calls))
    assert comparison.n_seeds == 1 and "linear" in comparison.verdicts
