import itertools
import math

import pytest
import torch

from ssl_core.models import small_cnn
from ssl_core.pretext import TASKS, JigsawTask, RotationTask, hamming_permutations, make_task


def images(n=3, c=3, s=12):
    return torch.arange(n * c * s * s, dtype=torch.float32).reshape(n, c, s, s)


@pytest.mark.parametrize("angles", [(0, 90, 180, 270), (90, 180), (0, 180)])
def test_rotating_back_by_the_label_restores_the_image_exactly(angles):
    task = RotationTask(angles)
    x = images()
    inputs, targets = task.make_batch(x, torch.Generator())
    assert inputs.shape == (len(angles) * 3, 3, 12, 12)
    for sample, label, original in zip(inputs, targets, x.repeat(len(angles), 1, 1, 1)):
        back = torch.rot90(sample, -task.angles[int(label)] // 90, dims=(-2, -1))
        assert torch.equal(back, original)


def test_all_rotations_of_an_image_are_in_the_same_batch():
    task = RotationTask()
    _, targets = task.make_batch(images(5), torch.Generator())
    assert torch.bincount(targets).tolist() == [5, 5, 5, 5]


def test_bad_angles_are_refused():
    with pytest.raises(ValueError):
        RotationTask((0, 45))
    with pytest.raises(ValueError):
        RotationTask((90,))


@pytest.mark.parametrize("grid", [2, 3])
def test_tiles_put_back_by_the_permutation_restore_the_image(grid):
    task = JigsawTask(grid=grid, num_permutations=10, gap=0.0)
    x = images(4, 3, grid * 5)
    g = torch.Generator().manual_seed(0)
    tiles = task.cut_tiles(x, g)
    labels = torch.tensor([0, 3, 7, 9])
    shuffled = task.shuffle(tiles, labels)
    restored = torch.empty_like(shuffled)
    for b, label in enumerate(labels):
        for position, tile in enumerate(task.permutations[label]):
            restored[b, tile] = shuffled[b, position]
    assert torch.equal(restored, tiles)
    # with no gap the tiles are exactly the grid cells: assembling them rebuilds the image
    for b in range(4):
        rebuilt = task.assemble(tiles[b], border=0)
        assert torch.equal(rebuilt, x[b])


def test_tiles_have_gap_and_jitter_within_their_cell():
    task = JigsawTask(grid=3, num_permutations=5, gap=0.25)
    x = images(2, 1, 24)
    tiles = task.cut_tiles(x, torch.Generator().manual_seed(1))
    assert tiles.shape == (2, 9, 1, 6, 6)
    first = tiles[0, 0, 0, 0, 0].item()  # top-left tile's corner lies in the first 8x8 cell
    row, col = divmod(int(first), 24)
    assert row <= 2 and col <= 2


def test_jigsaw_batch_is_normalised_per_tile():
    task = JigsawTask(grid=3, num_permutations=20)
    inputs, labels = task.make_batch(torch.rand(6, 3, 30, 30), torch.Generator().manual_seed(0))
    assert inputs.shape[:2] == (6, 9) and labels.max() < 20
    means = inputs.mean(dim=(2, 3, 4))
    assert means.abs().max() < 1e-4


@pytest.mark.parametrize("tiles, count", [(4, 24), (9, 100), (9, 1000)])
def test_permutation_set_size_uniqueness_and_reported_distance(tiles, count):
    perms, min_distance = hamming_permutations(tiles, count, seed=0)
    assert perms.shape == (count, tiles)
    assert len({tuple(p) for p in perms.tolist()}) == count
    assert all(sorted(p) == list(range(tiles)) for p in perms.tolist())
    distances = (perms[:, None] != perms[None]).sum(-1)
    distances.fill_diagonal_(tiles + 1)
    assert int(distances.min()) == min_distance
    if tiles == 9 and count <= 100:
        assert min_distance >= 4  # the tie-break on the closest member keeps sets well spread


def test_greedy_set_beats_random_sets_on_mean_and_minimum_distance():
    perms, min_distance = hamming_permutations(9, 50, seed=0)
    generator = torch.Generator().manual_seed(0)
    everything = torch.tensor(list(itertools.islice(itertools.permutations(range(9)), 0, None, 7)))
    random_set = everything[torch.randperm(len(everything), generator=generator)[:50]]

    def mean_distance(p):
        d = (p[:, None] != p[None]).sum(-1).float()
        return d.sum() / (len(p) * (len(p) - 1))

    assert mean_distance(perms) > mean_distance(random_set)
    random_distances = (random_set[:, None] != random_set[None]).sum(-1)
    random_distances.fill_diagonal_(10)
    assert min_distance > int(random_distances.min())


def test_permutation_set_is_deterministic_from_seed():
    a, _ = hamming_permutations(9, 30, seed=5)
    b, _ = hamming_permutations(9, 30, seed=5)
    c, _ = hamming_permutations(9, 30, seed=6)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_too_many_permutations_is_refused():
    with pytest.raises(ValueError, match="24 permutations"):
        hamming_permutations(4, 25)
    assert math.factorial(4) == 24


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_builds_a_model_that_takes_its_batches(name):
    task = make_task(name)
    inputs, targets = task.make_batch(torch.randn(4, 3, 24, 24), torch.Generator())
    logits = task.build_model(small_cnn(3))(inputs)
    assert logits.shape == (len(targets), task.num_classes)
    samples = task.preview(torch.randint(0, 256, (2, 3, 24, 24), dtype=torch.uint8), torch.Generator())
    assert samples and all(s.image.dtype.name == "uint8" and s.image.shape[-1] == 3 for s in samples)


def test_unknown_task_lists_the_valid_ones():
    with pytest.raises(KeyError, match="jigsaw.*rotation"):
        make_task("colorization")
