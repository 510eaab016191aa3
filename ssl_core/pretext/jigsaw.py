"""Jigsaw puzzles (Noroozi & Favaro, "Unsupervised Learning of Visual
Representations by Solving Jigsaw Puzzles", ECCV 2016).

The image is cut into a grid of tiles with a random gap and jitter, the tiles
are shuffled by one permutation of a fixed set, and the network predicts which
permutation it was. The set is chosen greedily for maximal average Hamming
distance, so the classes differ in many tile positions. Tiles are normalised
one by one and some images are turned grey, to deny colour and edge shortcuts.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ssl_core.engine.models import TileClassifier
from ssl_core.pretext.base import ClassificationTask, PretextSample, TaskSettings, option, stretch, to_display
from ssl_core.pretext.tiles import assemble, cut_tiles, grey_some, normalise_tiles


def all_permutations(n: int) -> np.ndarray:
    """Every permutation of range(n) as rows of int8, built by inserting one value at a time."""
    perms = np.zeros((1, 0), dtype=np.int8)
    for value in range(n):
        m = len(perms)
        grown = np.empty((m * (value + 1), value + 1), dtype=np.int8)
        for pos in range(value + 1):
            block = grown[pos * m:(pos + 1) * m]
            block[:, :pos] = perms[:, :pos]
            block[:, pos] = value
            block[:, pos + 1:] = perms[:, pos:]
        perms = grown
    return perms


@functools.lru_cache(maxsize=16)  # 1,000 of 9 tiles take about a second; pages rebuild tasks on every run
def hamming_permutations(n_tiles: int, count: int, seed: int = 0) -> tuple[torch.Tensor, int]:
    """`count` permutations of `n_tiles` with maximal average Hamming distance.

    Greedy, as in Noroozi & Favaro: each step adds the candidate with the fewest
    position matches summed over the set so far (the most distant on average);
    among equals, the one whose closest member is farthest. The running counts
    are updated with one precomputed row per tile position, never recomputing
    the full distance matrix.
    Returns the set `(count, n_tiles)` and its minimum pairwise distance.
    """
    total = math.factorial(n_tiles)
    if not 1 <= count <= total:
        raise ValueError(f"a {n_tiles}-tile puzzle has {total} permutations; asked for {count}")
    rng = np.random.default_rng(seed)
    candidates = all_permutations(n_tiles)[rng.permutation(total)]  # seeded order breaks ties
    # matches[pos * n + value, j] == 1 where candidate j holds `value` at `pos`.
    values = np.arange(n_tiles, dtype=np.int8)[None, :, None]
    matches = (candidates.T[:, None, :] == values).reshape(n_tiles * n_tiles, total).view(np.uint8)
    summed = np.zeros(total, dtype=np.int32)  # matches with the whole set: lower = larger mean distance
    worst = np.zeros(total, dtype=np.uint8)  # most matches with any member: ties go to the larger minimum
    step_matches = np.empty(total, dtype=np.uint8)
    chosen = np.empty(count, dtype=np.int64)
    pick = int(rng.integers(total))
    for step in range(count):
        chosen[step] = pick
        np.copyto(step_matches, matches[candidates[pick, 0]])
        for pos in range(1, n_tiles):
            np.add(step_matches, matches[pos * n_tiles + candidates[pick, pos]], out=step_matches)
        np.add(summed, step_matches, out=summed, casting="unsafe")
        np.maximum(worst, step_matches, out=worst)
        key = summed * 16 + worst
        key[chosen[:step + 1]] = np.iinfo(np.int32).max
        pick = int(key.argmin())
    perms = torch.from_numpy(candidates[chosen].astype(np.int64))
    if count == 1:
        return perms, 0
    distance = (perms[:, None, :] != perms[None, :, :]).sum(-1)
    distance.fill_diagonal_(n_tiles + 1)
    return perms, int(distance.min())


@dataclass(frozen=True)
class JigsawSettings(TaskSettings):
    grid: int = option(2, "Tiles per side: 2×2 has 24 possible orders, 3×3 has 362,880.", choices=(2, 3))
    permutations: int = option(24, "How many tile orders the network must tell apart, chosen for large "
                               "Hamming distance (a 2×2 grid has 24 in all).",
                               choices=(2, 4, 8, 12, 16, 24, 32, 64, 100, 200, 500, 1000))
    gap: float = option(0.15, "Share of each cell left out between tiles, so edges do not give the order away.",
                        low=0.0, high=0.5)
    grey_fraction: float = option(0.3, "Share of colour images turned grey, so colour fringes do not give the "
                                  "order away.", low=0.0, high=1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        total = math.factorial(self.grid * self.grid)
        if self.permutations > total:
            raise ValueError(f"a {self.grid}×{self.grid} puzzle has only {total} permutations")


class JigsawTask(ClassificationTask):
    name = "jigsaw"
    title = "Jigsaw"
    Settings = JigsawSettings
    explanation = ("The image is cut into tiles with a random gap, the tiles are shuffled by one permutation of a "
                   "fixed set, and the network must say which (Noroozi & Favaro 2016). The set is chosen for "
                   "maximal average Hamming distance, so its classes differ in many tiles.")
    gallery_group = 2

    def __init__(self, settings: JigsawSettings | None = None, seed: int = 0) -> None:
        super().__init__(settings, seed)
        self.grid = self.settings.grid
        self.n_tiles = self.grid * self.grid
        self.permutations, self.min_distance = hamming_permutations(self.n_tiles, self.settings.permutations, seed)

    @property
    def num_classes(self) -> int:
        return len(self.permutations)

    def cut_tiles(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, C, S, S) -> (B, T, C, t, t): one jittered tile inside each grid cell."""
        return cut_tiles(images, self.grid, self.settings.gap, torch.arange(self.n_tiles, device=images.device)
                         .expand(len(images), -1), generator)

    def shuffle(self, tiles: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Position i of the result holds tile `permutations[label][i]`."""
        if self.permutations.device != tiles.device:  # moved once, not on every batch
            self.permutations = self.permutations.to(tiles.device)
        order = self.permutations[labels]  # (B, T)
        return tiles[torch.arange(len(tiles), device=tiles.device)[:, None], order]

    def make_batch(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        images = grey_some(images, self.settings.grey_fraction, generator)
        labels = torch.randint(0, self.num_classes, (len(images),), generator=generator, device=images.device)
        return normalise_tiles(self.shuffle(self.cut_tiles(images, generator), labels)), labels

    def build_model(self, backbone: nn.Module) -> nn.Module:
        return TileClassifier(backbone, self.n_tiles, self.num_classes)

    quiz_ask = "The tiles were shuffled. Which of these puts them back in order?"
    quiz_why = "Only in the right order do strokes, edges and colours run on across the tiles' borders."

    def quiz_picture(self, network_input: torch.Tensor) -> np.ndarray:
        return to_display(assemble(stretch(network_input), self.grid))

    def choice_picture(self, network_input: torch.Tensor, label: int) -> np.ndarray:
        """Undo permutation `label`: position i holds tile `permutations[label][i]`, so it goes back there."""
        return to_display(assemble(stretch(network_input), self.grid, self.permutations[label].tolist()))

    def render(self, images: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> list[PretextSample]:
        samples = []
        for image, tiles, label in zip(images, inputs, targets.tolist()):
            order = self.permutations[label].tolist()
            samples.append(PretextSample(to_display(image), "original"))
            samples.append(PretextSample(to_display(assemble(stretch(tiles), self.grid)),
                                         f"permutation #{label}: {order}"))
        return samples

    def describe(self) -> str:
        return (f"jigsaw {self.grid}×{self.grid}: which of {self.num_classes} permutations "
                f"(minimum Hamming distance {self.min_distance})")
