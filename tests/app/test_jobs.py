import threading
import time

import pytest

from ssl_core.app.jobs import DONE, FAILED, RUNNING, STOPPED, WAITING, JobBusy, JobRegistry
from ssl_core.app.runs import pretext_work
from ssl_core.data.datasets import load_digits
from ssl_core.data.splits import SplitConfig, make_split
from ssl_core.engine.pretrain import PretrainConfig


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
    assert [p.epoch for p in snap.epochs] == [1, 2] and snap.steps
    assert snap.result.dataset == "digits" and snap.result.evaluation.value > 0.25
    assert registry.get(job.id) is job



def test_a_training_resumed_after_a_restart_records_its_whole_schedule(digits):
    """It trains the epochs left, and its result is the result of the settings the visitor chose (presenter mode
    and the model file read the whole schedule)."""
    from dataclasses import replace

    from ssl_core.app.runs import trained_as

    dataset, split = digits
    whole = PretrainConfig(epochs=3, image_size=8)
    job = JobRegistry().start("pretext", "t", pretext_work(dataset, split, replace(whole, epochs=1), schedule=whole))
    assert wait_until(lambda: not job.alive)
    snap = job.snapshot()
    assert [p.epoch for p in snap.epochs] == [1] and snap.result.config == whole and trained_as(snap.result, whole)

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


def blocking_work(release: threading.Event):
    def work(job):
        while not release.is_set() and not job.stop_requested:
            time.sleep(0.01)
        return job.title

    return work


def test_jobs_past_the_slots_wait_in_line_with_their_position_and_can_be_cancelled():
    registry = JobRegistry(max_running=1)
    release = threading.Event()
    first, second, third = (registry.start("x", name, blocking_work(release)) for name in ("a", "b", "c"))
    assert wait_until(lambda: first.snapshot().status == RUNNING)
    assert wait_until(lambda: third.snapshot().queue_position == 2)
    assert second.snapshot().status == WAITING and second.snapshot().queue_position == 1
    assert "1st to start" in second.snapshot().message and second.snapshot().active
    third.stop()  # cancel while waiting: it never runs
    assert third.join(2)
    assert third.snapshot().status == STOPPED and third.snapshot().result is None
    assert "cancelled" in third.snapshot().message
    assert registry.running == 1
    release.set()
    assert first.join(5) and second.join(5)
    assert first.snapshot().result == "a" and second.snapshot().result == "b"


def test_a_full_line_refuses_new_jobs_with_a_reason():
    registry = JobRegistry(max_running=1, max_waiting=1)
    release = threading.Event()
    first = registry.start("x", "a", blocking_work(release))
    assert wait_until(lambda: first.snapshot().status == RUNNING)
    registry.start("x", "b", blocking_work(release))
    with pytest.raises(JobBusy, match="line of trainings is full"):
        registry.start("x", "c", blocking_work(release))
    release.set()


def test_a_job_after_another_waits_for_it_without_holding_a_slot():
    registry = JobRegistry(max_running=2)
    release = threading.Event()
    first = registry.start("x", "a", blocking_work(release))
    then = registry.start("x", "b", lambda job: first.snapshot().result + "+b", after=first)
    other = registry.start("x", "c", blocking_work(release))
    assert wait_until(lambda: other.snapshot().status == RUNNING)  # the slot `then` does not hold yet
    assert then.snapshot().status == WAITING and "previous step" in then.snapshot().message
    release.set()
    assert then.join(5) and then.snapshot().result == "a+b"


def test_a_forgotten_job_is_stopped_and_dropped_once_it_ends():
    registry = JobRegistry()
    release = threading.Event()
    job = registry.start("x", "a", blocking_work(release))
    registry.forget(job.id)
    assert job.join(5) and job.snapshot().status == STOPPED
    assert len(registry) == 0 and registry.get(job.id) is None


def test_pause_holds_the_step_resume_carries_on_and_step_runs_one_epoch(digits):
    dataset, split = digits
    registry = JobRegistry()
    job = registry.start("pretext", "t", pretext_work(dataset, split, PretrainConfig(epochs=4, image_size=8)))
    assert wait_until(lambda: job.snapshot().status == RUNNING and job.snapshot().steps)
    job.pause()
    assert wait_until(lambda: job.snapshot().paused)
    time.sleep(0.5)  # let the step in flight end
    held = job.snapshot()
    time.sleep(1.0)
    still = job.snapshot()
    assert still.paused and still.message.startswith("⏸ paused")
    assert len(still.steps) == len(held.steps) and still.progress == held.progress  # nothing trains while paused
    assert still.seconds == pytest.approx(held.seconds, abs=0.05)  # and the clock does not run
    epochs_before = len(still.epochs)
    job.step_epoch()
    assert wait_until(lambda: len(job.snapshot().epochs) == epochs_before + 1)
    assert wait_until(lambda: job.snapshot().paused)  # one epoch, then held again
    assert job.snapshot().message == f"⏸ paused: pretext: epoch {epochs_before + 1} of 4 done"
    time.sleep(0.5)
    assert len(job.snapshot().epochs) == epochs_before + 1
    job.resume()
    assert wait_until(lambda: not job.alive)
    snap = job.snapshot()
    assert snap.status == DONE and [p.epoch for p in snap.epochs] == [1, 2, 3, 4]
    steps = [p.step for p in snap.steps]
    assert steps == sorted(set(steps))  # the same run went on from where it was held


def test_a_paused_job_still_stops_and_a_shared_servers_pause_runs_out(digits):
    dataset, split = digits
    registry = JobRegistry(max_pause_s=0.5)
    job = registry.start("pretext", "t", pretext_work(dataset, split, PretrainConfig(epochs=2, image_size=8)))
    assert wait_until(lambda: job.snapshot().steps)
    job.pause()
    assert wait_until(lambda: job.snapshot().paused)
    assert wait_until(lambda: not job.snapshot().paused, timeout=5)  # resumed by itself
    job.pause()
    job.stop()
    assert wait_until(lambda: not job.alive, timeout=5)
    assert job.snapshot().status == STOPPED and job.snapshot().result is not None
