import time

import pytest

from ssl_core.datasets import load_digits
from ssl_core.jobs import DONE, FAILED, STOPPED, JobBusy, JobRegistry
from ssl_core.pretrain import PretrainConfig
from ssl_core.runs import pretext_work
from ssl_core.splits import SplitConfig, make_split


def wait_until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def digits():
    dataset = load_digits()
    return dataset, make_split(dataset.labels, SplitConfig())


def test_job_reports_progress_and_finishes(digits):
    dataset, split = digits
    registry = JobRegistry()
    job = registry.start("pretext", "t", pretext_work(dataset, split, PretrainConfig(epochs=2, image_size=8)))
    assert wait_until(lambda: not job.alive)
    snap = job.snapshot()
    assert snap.status == DONE and snap.progress == 1.0
    assert [p["epoch"] for p in snap.epochs] == [1, 2] and snap.steps
    assert snap.result.dataset == "digits" and snap.result.evaluation.value > 0.25
    assert registry.get(job.id) is job


def test_stop_ends_a_job_within_a_second_and_keeps_the_model(digits):
    dataset, split = digits
    job = JobRegistry().start("pretext", "t", pretext_work(dataset, split, PretrainConfig(epochs=500, image_size=16)))
    assert wait_until(lambda: job.snapshot().steps, timeout=30)
    asked = time.monotonic()
    job.stop()
    assert job.join(timeout=5)
    snap = job.snapshot()
    assert snap.status == STOPPED and snap.result is not None and snap.result.stopped
    assert time.monotonic() - asked < 1.0 + 1.0  # stop within a second (+ final held-out scoring)


def test_second_start_while_running_is_refused(digits):
    dataset, split = digits
    registry = JobRegistry()
    work = pretext_work(dataset, split, PretrainConfig(epochs=500, image_size=8))
    first = registry.start("pretext", "t", work)
    with pytest.raises(JobBusy, match="already running"):
        registry.start("pretext", "t", work, busy=first.id)
    first.stop()
    assert first.join(5)
    registry.start("pretext", "t", pretext_work(dataset, split, PretrainConfig(epochs=1, image_size=8)),
                   busy=first.id).join(60)


def test_nan_loss_fails_the_job_with_advice(digits):
    dataset, split = digits
    job = JobRegistry().start("pretext", "t", pretext_work(dataset, split, PretrainConfig(epochs=3, lr=1e6)))
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == FAILED and "lower learning rate" in snap.message


def test_failing_work_is_reported_not_raised():
    def work(job):
        raise RuntimeError("disk on fire")

    job = JobRegistry().start("x", "t", work)
    job.join(5)
    assert job.snapshot().status == FAILED and "disk on fire" in job.snapshot().message


def test_dataset_too_small_for_pretext_is_refused_before_starting():
    dataset = load_digits()
    split = make_split(dataset.labels[:1], SplitConfig(test_fraction=0.0))
    with pytest.raises(ValueError, match="at least 2"):
        pretext_work(dataset, split, PretrainConfig())
