"""Workspaces on disk: what a server restart gives back, and what it must not."""
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from ssl_core.analysis.comparison import compare_modes
from ssl_core.app.deployment import Limits
from ssl_core.app.history import RunRecord
from ssl_core.app.jobs import JobBusy
from ssl_core.app.settings import Settings
from ssl_core.app.store import DEFAULT_SETUP, WorkspaceStore
from ssl_core.app.workspaces import Workspaces
from ssl_core.data.builder import DatasetBuilder
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import SplitConfig
from ssl_core.engine.downstream import DownstreamConfig
from ssl_core.engine.inference import predict
from ssl_core.engine.model_file import to_bytes
from ssl_core.engine.pretrain import PretrainConfig, pretrain
from ssl_core.engine.train import EpochPoint, StepPoint
from tests.conftest import digits_setup, image_bytes  # noqa: F401 (a fixture)


def photos(name: str = "my photos", n: int = 6) -> ImageDataset:
    images = torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    return ImageDataset(name, images, torch.arange(n) % 2, ("cats", "dogs"), skipped=(("x.txt", "not an image"),))


def run(number: int) -> RunRecord:
    return RunRecord(number, "pretext", f"rotation on my photos {number}", "28 px", "done", 12.5, time.time(),
                     "held-out accuracy 80%", (StepPoint("pretext", 1, 1, 1.2, 0.5),),
                     (EpochPoint("pretext", 1, 1, 1, {"test_accuracy": 0.8}),))


def test_a_restart_gives_back_datasets_settings_and_history(tmp_path):
    """Two `Workspaces` on one folder: the second is the server after a restart (a kill -9 included: every
    write is its own committed transaction)."""
    limits = Limits()
    before = Workspaces(limits, store=WorkspaceStore(tmp_path, keep_s=limits.session_grace_s))
    space = before.open(None, browser="browser-1")
    before.add_dataset(space, "upload:abc", photos())
    space.dataset_id = "upload:abc"
    space.setup = Settings("builtin:mnist-10k", DEFAULT_SETUP.pretext.__class__(task="jigsaw", epochs=3),
                           DEFAULT_SETUP.split, DEFAULT_SETUP.downstream)
    before.save(space)
    job = before.start_job(space, "train_job", "pretext", "rotation on my photos", lambda job: "model",
                           settings="28 px")
    assert job.join(5)
    time.sleep(0.1)  # on_end runs on the job's thread

    after = Workspaces(limits, store=WorkspaceStore(tmp_path, keep_s=limits.session_grace_s))
    back = after.open(space.token, browser="browser-1")
    assert back.token == space.token and back.restored
    assert back.dataset_id == "upload:abc"
    restored = back.datasets["upload:abc"]
    assert restored.name == "my photos" and torch.equal(restored.images, photos().images)
    assert restored.class_names == ("cats", "dogs") and restored.skipped == (("x.txt", "not an image"),)
    assert back.setup.pretext.task == "jigsaw" and back.setup.pretext.epochs == 3
    assert [r.title for r in back.history] == ["rotation on my photos"] and back.runs_ended == 1
    assert back.history[0].steps == space.history[0].steps
    assert after.job(back, "train_job") is None  # running trainings and models are not kept


def test_another_browser_with_the_token_gets_a_fresh_workspace_after_a_restart(tmp_path):
    store = WorkspaceStore(tmp_path, keep_s=60)
    before = Workspaces(store=store)
    space = before.open(None, browser="mine")
    before.add_dataset(space, "upload:abc", photos())
    after = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60))
    assert after.open(space.token, browser="someone else's").token != space.token


def test_workspaces_unseen_past_the_keep_time_are_deleted_with_their_files(tmp_path):
    now = [1000.0]
    store = WorkspaceStore(tmp_path, keep_s=60, clock=lambda: now[0])
    store.save("t" * 32, None, "upload:abc", None)
    store.put_dataset("t" * 32, "upload:abc", photos())
    store.put_run("t" * 32, run(1), keep=30)
    assert store.load("t" * 32) is not None and (tmp_path / ("t" * 32)).is_dir()
    now[0] += 61
    assert store.load("t" * 32) is None and not (tmp_path / ("t" * 32)).exists()


def test_a_visitor_who_left_is_forgotten_on_disk_too(tmp_path):
    spaces = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60))
    space = spaces.open(None)
    spaces.add_dataset(space, "upload:abc", photos())
    spaces.close(space)
    assert spaces.store.load(space.token) is None and not (tmp_path / space.token).exists()


def test_a_damaged_dataset_file_costs_that_dataset_only(tmp_path):
    store = WorkspaceStore(tmp_path, keep_s=60)
    token = "d" * 32
    store.save(token, None, "upload:b", None)
    store.put_dataset(token, "upload:a", photos("first"))
    store.put_dataset(token, "upload:b", photos("second"))
    files = sorted((tmp_path / token).iterdir())
    files[-1].write_bytes(files[-1].read_bytes()[:100])  # cut short, as by a crash mid-write
    saved = store.load(token)
    assert list(saved.datasets) == ["upload:a"] and saved.damaged == ["upload:b"]
    back = Workspaces(store=store).open(token)
    assert back.dataset_id is None and list(back.datasets) == ["upload:a"]  # the default dataset is shown


def test_a_crafted_dataset_file_runs_no_code(tmp_path):
    """The files are read with weights_only=True: a pickle that would run code is refused, as damaged."""
    import pickle

    class Evil:
        def __reduce__(self):
            return (exec, (f"import pathlib; pathlib.Path({str(tmp_path / 'owned')!r}).write_text('x')",))

    store = WorkspaceStore(tmp_path, keep_s=60)
    token = "e" * 32
    store.save(token, None, "upload:a", None)
    store.put_dataset(token, "upload:a", photos())
    file = next((tmp_path / token).iterdir())
    file.write_bytes(pickle.dumps(Evil()))
    saved = store.load(token)
    assert saved.damaged == ["upload:a"] and not (tmp_path / "owned").exists()


def test_the_history_keeps_the_newest_runs(tmp_path):
    store = WorkspaceStore(tmp_path, keep_s=60)
    store.save("h" * 32, None, None, None)
    for number in range(1, 8):
        store.put_run("h" * 32, run(number), keep=3)
    assert [r.number for r in store.load("h" * 32).history] == [5, 6, 7]


def training(tmp_path, epochs: int):
    """A small rotation run's config and images, and a visitor's workspace with the saver its job gets."""
    config = PretrainConfig(task="rotation", image_size=16, epochs=epochs, batch_size=4)
    spaces = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60))
    space = spaces.open(None)
    return config, photos(n=8).images, spaces, space, spaces.checkpointer(space, "upload:abc", config)


def test_a_training_cut_short_by_a_restart_comes_back_resumable_from_its_last_epoch(tmp_path):
    config, images, spaces, space, save = training(tmp_path, epochs=3)
    trained = pretrain(config, images, images[:4],  # killed during epoch 3: epochs 1 and 2 left their weights
                       checkpoint=lambda epoch, model: save(epoch, model) if epoch < 3 else None)
    back = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60)).open(space.token)
    point = back.interrupted
    assert point.dataset_id == "upload:abc" and point.epoch == 2 and not point.finished
    assert point.config == replace(config, settings=config.make_task().settings)
    network = point.network(3)
    assert set(network.state_dict()) == set(trained.model.state_dict())
    resumed = pretrain(replace(config, epochs=1), images, images[:4], start_from=network)
    assert resumed.evaluation is not None
    point.state["backbone.features.0.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match="does not fit"):
        point.network(3)


def test_a_training_that_ended_comes_back_as_a_model_to_use(tmp_path):
    config, images, spaces, space, save = training(tmp_path, epochs=2)
    job = spaces.start_job(space, "train_job", "pretext", "rotation",
                           lambda job: pretrain(config, images, images[:4], checkpoint=save), checkpoint=save)
    assert job.join(30)
    time.sleep(0.1)
    point = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60)).open(space.token).interrupted
    assert point.finished and point.epoch == 2
    weights = job.snapshot().result.model.state_dict()
    assert all(torch.equal(weights[k].cpu(), v) for k, v in point.network(3).state_dict().items())


def test_photos_being_built_in_the_browser_come_back_after_a_restart(tmp_path):
    spaces = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60))
    space = spaces.open(None)
    space.builder = DatasetBuilder("garden *finds*")
    space.builder.add_class("snails")
    space.builder.add_photos("snails", [("a.png", image_bytes(color=(200, 10, 10))),
                                        ("b.png", image_bytes(color=(10, 200, 10)))])
    space.builder.add_class("slugs")  # still empty
    space.builder.add_photos(None, [("c.png", image_bytes(color=(10, 10, 200)))])
    spaces.save_builder(space)

    back = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60)).open(space.token).builder
    assert back.digest() == space.builder.digest() and back.name == "garden *finds*"
    assert list(back.classes) == ["snails", "slugs"] and back.counts() == {"snails": 2, "slugs": 0}
    assert [p.name for p in back.classes["snails"]] == ["a.png", "b.png"] and len(back.unlabeled) == 1
    assert np.array_equal(back.classes["snails"][1].pixels, space.builder.classes["snails"][1].pixels)
    back.add_photos("slugs", [("a.png", image_bytes(color=(200, 10, 10)))])  # it goes on working as before
    assert back.to_dataset().class_names == ("slugs", "snails")


def test_a_damaged_builder_file_starts_the_builder_afresh(tmp_path):
    spaces = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60))
    space = spaces.open(None)
    space.builder = DatasetBuilder()
    space.builder.add_class("snails")
    spaces.save_builder(space)
    (tmp_path / space.token / "builder.pt").write_bytes(b"cut short")
    back = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60)).open(space.token)
    assert back.restored and back.builder is None


def blocked_job(spaces, space):
    """A job that holds the only slot until the returned event is set."""
    release = threading.Event()
    spaces.start_job(space, "other_job", "pretext", "first in line", lambda job: release.wait(30))
    return release


def test_a_training_waiting_in_line_is_written_down_and_comes_back_waiting(tmp_path):
    spaces = Workspaces(Limits(running_jobs=1), store=WorkspaceStore(tmp_path, keep_s=60))
    space = spaces.open(None)
    release = blocked_job(spaces, space)
    config, split = PretrainConfig(task="jigsaw", epochs=5), SplitConfig(labels_per_class=3, seed=4)
    saver = spaces.checkpointer(space, "upload:abc", config, split)
    job = spaces.start_job(space, "train_job", "pretext", "jigsaw", lambda job: None, checkpoint=saver)
    assert job.snapshot().status == "waiting"
    try:
        point = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60)).open(space.token).interrupted
        assert point.waiting and point.epoch == 0 and point.state is None and not point.finished
        assert point.dataset_id == "upload:abc" and point.split == split and point.config.task == "jigsaw"
        assert point.config.epochs == 5
        with pytest.raises(ValueError, match="no weights"):
            point.network(3)
    finally:
        release.set()


def test_a_training_cancelled_in_line_does_not_come_back(tmp_path):
    spaces = Workspaces(Limits(running_jobs=1), store=WorkspaceStore(tmp_path, keep_s=60))
    space = spaces.open(None)
    release = blocked_job(spaces, space)
    saver = spaces.checkpointer(space, "upload:abc", PretrainConfig())
    job = spaces.start_job(space, "train_job", "pretext", "rotation", lambda job: None, checkpoint=saver)
    job.stop()
    assert job.join(5) and job.snapshot().message == "cancelled before it started"
    release.set()
    back = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60)).open(space.token)
    assert back.interrupted is None and [r.title for r in back.history] == []


def test_a_refused_training_leaves_the_previous_one_as_it_was(tmp_path):
    """A start refused (the visitor's training still runs) must not write a waiting training over it."""
    config, images, spaces, space, save = training(tmp_path, epochs=1)
    release = threading.Event()
    spaces.start_job(space, "train_job", "pretext", "running", lambda job: release.wait(30), checkpoint=save)
    try:
        save(1, pretrain(config, images, images[:4]).model)
        with pytest.raises(JobBusy):
            spaces.start_job(space, "train_job", "pretext", "refused", lambda job: None,
                             checkpoint=spaces.checkpointer(space, "upload:other", config))
        point = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60)).open(space.token).interrupted
        assert point.dataset_id == "upload:abc" and point.epoch == 1 and point.state is not None
    finally:
        release.set()


def test_a_finished_comparison_leaves_its_models_for_after_a_restart(tmp_path, digits_setup):
    digits, split, pretrained = digits_setup
    spaces = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60))
    space = spaces.open(None)
    job = spaces.start_job(space, "downstream_job", "downstream", "compare",
                           lambda job: compare_modes(digits, split, pretrained, ["linear", "scratch"],
                                                     DownstreamConfig(epochs=1, min_steps=2)),
                           keep=lambda comparison: to_bytes(comparison.pretrained, comparison, digits))
    assert job.join(120)
    time.sleep(0.2)
    comparison = job.snapshot().result
    kept = Workspaces(store=WorkspaceStore(tmp_path, keep_s=60)).open(space.token).kept_models
    assert kept.dataset == digits.name and set(kept.classifiers) == {"linear", "scratch"}
    assert kept.accuracies["linear"] == pytest.approx(comparison.mean("linear"))
    images = digits.images[split.test][:16]
    assert torch.allclose(predict(comparison.model("scratch"), images), predict(kept.classifiers["scratch"], images),
                          atol=1e-5)
