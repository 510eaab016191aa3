"""Who owns what: workspaces per visitor, their memory bounds and reaping of visitors who left."""
import time

import pytest
import torch

from ssl_core.app.deployment import MB, Limits
from ssl_core.app.jobs import STOPPED
from ssl_core.app.workspaces import CapacityError, Workspaces, dataset_bytes
from ssl_core.data.datasets import ImageDataset


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def images(name: str, mb: float) -> ImageDataset:
    n = int(mb * MB) // (3 * 32 * 32)
    return ImageDataset(name, torch.zeros(n, 3, 32, 32, dtype=torch.uint8), torch.zeros(n, dtype=torch.int64), ("a",))


def waiting_work(job):
    while not job.stop_requested:
        time.sleep(0.01)
    return "model"


def test_tokens_are_minted_by_the_server_never_taken_from_a_link():
    spaces = Workspaces()
    mine = spaces.open(None)
    assert len(mine.token) >= 32 and mine.token != spaces.open(None).token
    assert spaces.open(mine.token) is mine  # a reload finds it again
    for proposed in ("A" * 32, "x", "../etc", mine.token + "!"):
        planted = spaces.open(proposed)
        assert planted is not mine and planted.token != proposed


def test_a_token_from_another_browser_opens_a_fresh_workspace():
    spaces = Workspaces()
    mine = spaces.open(None, browser="b1")
    assert spaces.open(mine.token, browser="b1") is mine
    assert spaces.open(mine.token, browser="b2") is not mine


def test_jobs_are_seen_only_by_the_workspace_that_started_them():
    spaces = Workspaces()
    mine, theirs = spaces.open(None), spaces.open(None)
    job = spaces.start_job(mine, "train_job", "pretext", "t", waiting_work)
    assert spaces.job(mine, "train_job") is job and spaces.job(theirs, "train_job") is None
    theirs.jobs["train_job"] = job.id  # even holding the id shows nothing
    assert spaces.job(theirs, "train_job") is None
    job.stop()
    assert job.join(5)


def test_a_replaced_job_leaves_the_registry():
    spaces = Workspaces()
    mine = spaces.open(None)
    first = spaces.start_job(mine, "train_job", "pretext", "t", lambda job: 1)
    assert first.join(5)
    second = spaces.start_job(mine, "train_job", "pretext", "t", lambda job: 2)
    assert second.join(5)
    assert spaces.jobs.get(first.id) is None and spaces.job(mine, "train_job") is second


def test_datasets_are_per_visitor_and_the_least_recently_used_goes_first():
    spaces = Workspaces(Limits(datasets_per_session=2, session_mb=100, total_mb=1000))
    mine, theirs = spaces.open(None), spaces.open(None)
    spaces.add_dataset(theirs, "upload:t", images("theirs", 1))
    assert spaces.add_dataset(mine, "upload:a", images("a", 1)) == []
    spaces.add_dataset(mine, "upload:b", images("b", 1))
    spaces.dataset(mine, "upload:a")  # used again: b is now the older
    assert spaces.add_dataset(mine, "upload:c", images("c", 1)) == ["b"]
    assert set(mine.datasets) == {"upload:a", "upload:c"}
    assert spaces.dataset(mine, "upload:t") is None and spaces.dataset(theirs, "upload:t").name == "theirs"


def test_a_visitors_memory_cap_evicts_their_own_data_and_refuses_what_cannot_fit():
    spaces = Workspaces(Limits(datasets_per_session=5, session_mb=10, total_mb=1000))
    mine = spaces.open(None)
    spaces.add_dataset(mine, "upload:a", images("a", 6))
    assert spaces.add_dataset(mine, "upload:b", images("b", 6)) == ["a"]
    with pytest.raises(CapacityError, match="one visitor may keep 10 MB"):
        spaces.add_dataset(mine, "upload:big", images("big", 11))
    assert set(mine.datasets) == {"upload:b"}  # nothing lost by the refusal


def test_the_total_cap_refuses_new_data_without_touching_other_visitors():
    spaces = Workspaces(Limits(datasets_per_session=5, session_mb=8, total_mb=10))
    first, second = spaces.open(None), spaces.open(None)
    spaces.add_dataset(first, "upload:a", images("a", 6))
    with pytest.raises(CapacityError, match="as many visitors' images as it can"):
        spaces.add_dataset(second, "upload:b", images("b", 6))
    assert spaces.dataset(first, "upload:a") is not None
    assert spaces.data_bytes == dataset_bytes(first.datasets["upload:a"])


def test_visitors_gone_past_the_grace_period_lose_their_jobs_and_data():
    clock = Clock()
    spaces = Workspaces(Limits(session_grace_s=180), clock=clock)
    gone, present = spaces.open(None), spaces.open(None)
    spaces.add_dataset(gone, "upload:a", images("a", 1))
    job = spaces.start_job(gone, "train_job", "pretext", "t", waiting_work)
    clock.now += 120
    spaces.touch(present)  # the heartbeat of an open tab
    clock.now += 120
    assert spaces.reap() == [gone.token]
    assert job.join(5) and job.snapshot().status == STOPPED
    assert spaces.jobs.get(job.id) is None and not gone.datasets and spaces.data_bytes == 0
    assert spaces.open(present.token) is present and spaces.open(gone.token) is not gone


def test_each_ended_run_goes_into_its_owners_history_bounded_and_the_cancelled_ones_do_not():
    from ssl_core.app.history import HISTORY_RUNS

    spaces = Workspaces(Limits(running_jobs=1))
    mine, other = spaces.open(None), spaces.open(None)
    blocker = spaces.start_job(other, "train_job", "pretext", "theirs", waiting_work)
    queued = spaces.start_job(mine, "train_job", "pretext", "queued", lambda job: "never")
    queued.stop()  # cancelled while waiting: nothing ran
    assert queued.join(5) and not mine.history
    blocker.stop()
    assert blocker.join(5) and [r.title for r in other.history] == ["theirs"] and other.history[0].status == STOPPED
    for i in range(HISTORY_RUNS + 2):
        job = spaces.start_job(mine, "train_job", "pretext", f"run {i}", lambda job: None, settings=f"seed {i}")
        assert job.join(5)
    assert len(mine.history) == HISTORY_RUNS and mine.history[-1].number == HISTORY_RUNS + 2
    assert mine.history[-1].settings == f"seed {HISTORY_RUNS + 1}" and mine.history[0].title == "run 2"
