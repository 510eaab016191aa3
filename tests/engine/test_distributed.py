"""Distributed pretext training: 2 CPU processes with gloo, launched by torchrun as a user would."""
import json
import os
import subprocess
import sys

import pytest
import torch
from PIL import Image, ImageDraw

from ssl_core.engine.distributed import shard_sampler
from ssl_core.engine.model_file import from_bytes
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """192 photos of circles and squares, and one broken file."""
    root = tmp_path_factory.mktemp("shapes")
    for cls, draw in (("circles", "ellipse"), ("squares", "rectangle")):
        (root / cls).mkdir()
        for i in range(96):
            image = Image.new("RGB", (48, 48), (40 + i, 255, 255))
            getattr(ImageDraw.Draw(image), draw)((6 + i % 9, 8 + i % 7, 34 + i % 11, 40 - i % 5), fill=(200, 30 + i, 40))
            image.save(root / cls / f"{i}.jpg")
    (root / "circles" / "broken.jpg").write_bytes(b"not an image")
    return root


def torchrun(processes: int, *args: str, tmp_path=None) -> dict:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               "-m", "ssl_core", "pretrain", *args, "--json"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_rank_gets_a_disjoint_shard_of_every_epoch():
    data = list(range(101))
    for epoch in (1, 2):
        shards = []
        for rank in (0, 1):
            sampler = shard_sampler(data, 2, rank, seed=0)
            sampler.set_epoch(epoch)
            shards.append(list(sampler))
        assert len(shards[0]) == len(shards[1]) == 50  # the odd one out is dropped: same steps on every rank
        assert not set(shards[0]) & set(shards[1])
    first = shard_sampler(data, 2, 0, seed=0)
    first.set_epoch(1)
    second = shard_sampler(data, 2, 0, seed=0)
    second.set_epoch(2)
    assert list(first) != list(second)  # reshuffled each epoch


def test_two_gloo_processes_learn_like_one_process_with_the_same_global_batch(shapes, tmp_path):
    common = ["--data", str(shapes), "--epochs", "8", "--batch-size", "32", "--image-size", "16", "--lr", "0.003",
              "--workers", "0"]
    one = torchrun(1, *common)
    two = torchrun(2, *common, "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "model.pt"))
    assert two["world"] == 2 and two["backend"] == "gloo"
    for run in (one, two):
        losses = run["epoch_losses"]
        assert losses[-1] < losses[0] - 0.05, losses  # it learns
    tail = lambda run: sum(run["epoch_losses"][-3:]) / 3  # noqa: E731
    assert abs(tail(one) - tail(two)) < 0.05, (one["epoch_losses"], two["epoch_losses"])
    per_rank = two["images_per_rank"]
    assert len(per_rank) == 2 and abs(per_rank[0] - per_rank[1]) <= 8  # each saw its half (less the broken file)
    assert sum(per_rank) == pytest.approx(one["images_per_rank"][0], abs=16)
    opened = from_bytes((tmp_path / "model.pt").read_bytes())  # the format the app and the CLI open
    assert opened.pretext.task == "rotation" and opened.class_names == ("circles", "squares")
    assert opened.image_size == 16 and not opened.classifiers
    assert (tmp_path / "cache").is_dir()
    for run in (one, two):  # rank 0 scores the network on the 38 held-out files, 4 rotations each
        assert run["held_out_images"] == 38
        assert run["held_out"]["metric"] == "accuracy" and run["held_out"]["n"] == 4 * 38
        assert run["held_out"]["baseline"] == 0.25 and 0 <= run["held_out"]["value"] <= 1


def test_a_global_batch_that_does_not_divide_among_the_processes_is_refused(shapes):
    command = [sys.executable, "-m", "ssl_core", "pretrain", "--data", str(shapes), "--batch-size", "31"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": "29533"}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1 and "must divide among 2 processes" in done.stderr


def test_pretraining_leaves_out_exactly_the_images_the_experiment_tests_on(tmp_path):
    from ssl_core.data.splits import SplitConfig, make_split
    from ssl_core.data.streaming import index_folder
    from ssl_core.data.user_images import load_folder
    from ssl_core.engine.distributed import Stream, held_out_images, pretext_pool

    for cls in ("a", "b", "c"):
        (tmp_path / cls).mkdir()
        for i in range(7 + len(cls)):
            Image.new("RGB", (20, 20), (i * 20, 0, 0)).save(tmp_path / cls / f"{i}.png")
    pool = pretext_pool(index_folder(tmp_path), 0.2)
    in_memory = load_folder(tmp_path)
    tested = make_split(in_memory.labels, SplitConfig(test_fraction=0.2, seed=0)).test
    assert not set(pool.tolist()) & set(tested.tolist())
    assert len(pool) + len(tested) == len(in_memory)
    assert len(pretext_pool(index_folder(tmp_path), 0.0)) == len(in_memory)
    held = held_out_images(Stream(tmp_path, holdout=0.2, workers=0), 8)  # what the end of a run scores on
    assert held.shape == (len(tested), 3, 8, 8) and held.dtype == torch.uint8
    assert sorted(held[:, 0, 0, 0].tolist()) == sorted(in_memory.images[tested][:, 0, 0, 0].tolist())
    assert len(held_out_images(Stream(tmp_path, holdout=0.0, workers=0), 8)) == 0


def test_the_experiment_under_torchrun_pretrains_on_two_processes_then_compares_on_rank_0(shapes):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "ssl_core", "experiment", "--data", str(shapes), "--epochs", "2", "--image-size", "16",
               "--batch-size", "32", "--labels-per-class", "5", "--downstream-epochs", "2", "--workers", "0"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("| 5/class | 10 |") == 1  # one table: rank 0's
    assert "2 process(es), gloo, cpu: 155 of 193 images (38 held out)" in done.stderr
