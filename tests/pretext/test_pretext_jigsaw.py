import itertools
import math

import pytest
import torch

from ssl_core.pretext import JigsawTask, hamming_permutations, make_task
from ssl_core.pretext.jigsaw import JigsawSettings
from ssl_core.pretext.tiles import assemble


def images(n=3, c=3, s=12):
    return torch.arange(n * c * s * s, dtype=torch.float32).reshape(n, c, s, s)


@pytest.mark.parametrize("grid", [2, 3])
def test_tiles_put_back_by_the_permutation_restore_the_image(grid):
    task = JigsawTask(JigsawSettings(grid=grid, permutations=12, gap=0.0))
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
        rebuilt = assemble(tiles[b], grid, border=0)
        assert torch.equal(rebuilt, x[b])


def test_tiles_have_gap_and_jitter_within_their_cell():
    task = JigsawTask(JigsawSettings(grid=3, permutations=4, gap=0.25))
    x = images(2, 1, 24)
    tiles = task.cut_tiles(x, torch.Generator().manual_seed(1))
    assert tiles.shape == (2, 9, 1, 6, 6)
    first = tiles[0, 0, 0, 0, 0].item()  # top-left tile's corner lies in the first 8x8 cell
    row, col = divmod(int(first), 24)
    assert row <= 2 and col <= 2


def test_jigsaw_batch_is_normalised_per_tile():
    task = JigsawTask(JigsawSettings(grid=3, permutations=16))
    inputs, labels = task.make_batch(torch.rand(6, 3, 30, 30), torch.Generator().manual_seed(0))
    assert inputs.shape[:2] == (6, 9) and labels.max() < 16
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




def test_settings_refuse_more_permutations_than_the_grid_has():
    with pytest.raises(ValueError, match="only 24 permutations"):
        JigsawSettings(grid=2, permutations=32)
    with pytest.raises(ValueError, match="grid must be one of"):
        JigsawSettings(grid=4)


def test_the_permutation_set_follows_the_training_seed():
    settings = JigsawSettings(grid=3, permutations=32)
    assert torch.equal(JigsawTask(settings, seed=4).permutations, JigsawTask(settings, seed=4).permutations)
    assert not torch.equal(JigsawTask(settings, seed=4).permutations, JigsawTask(settings, seed=0).permutations)


def test_a_network_that_knows_the_permutation_wins_the_guessing_game():
    task = make_task("jigsaw")
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    quiz = task.quiz(images, torch.Generator().manual_seed(1))
    outputs = torch.nn.functional.one_hot(quiz.targets, 24).float()
    assert task.choose(outputs, quiz).tolist() == [q.answer for q in quiz.questions]


def test_the_right_choice_in_the_guessing_game_puts_the_tiles_back():
    from ssl_core.pretext.base import stretch, to_display

    task = make_task("jigsaw", JigsawSettings(grid=2, permutations=24))
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    quiz = task.quiz(images, torch.Generator().manual_seed(0))
    for question, tiles, label in zip(quiz.questions, quiz.inputs, quiz.targets):
        restored = torch.empty_like(tiles)
        for position, tile in enumerate(task.permutations[label]):
            restored[tile] = tiles[position]
        expected = to_display(assemble(stretch(restored), 2))
        assert (question.pictures[question.answer] == expected).all()
        assert sum((picture == expected).all() for picture in question.pictures) == 1
