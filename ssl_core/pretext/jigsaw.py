"""Jigsaw puzzles (Noroozi & Favaro, "Unsupervised Learning of Visual
Representations by Solving Jigsaw Puzzles", ECCV 2016).

The image is cut into a grid of tiles with a random gap and jitter, the tiles
are shuffled by one permutation of a fixed set, and the network predicts which
permutation it was. The set is chosen greedily for maximal average Hamming
distance, so the classes differ in many tile positions. Tiles are normalised
one by one and some images are turned grey, to deny colour and edge shortcuts.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ssl_core.pretext.base import PretextSample, PretextTask, to_display


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


class JigsawHead(nn.Module):
    """Context-free network: the shared backbone embeds each tile, an MLP reads them all."""

    def __init__(self, backbone: nn.Module, n_tiles: int, num_classes: int, hidden: int = 256) -> None:
        super().__init__()
        self.backbone = backbone
        self.n_tiles = n_tiles
        self.head = nn.Sequential(
            nn.Linear(backbone.num_features * n_tiles, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes))

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        b = tiles.shape[0]
        features = self.backbone(tiles.flatten(0, 1))
        return self.head(features.reshape(b, -1))


class JigsawTask(PretextTask):
    name = "jigsaw"

    def __init__(self, grid: int = 3, num_permutations: int = 100, seed: int = 0,
                 gap: float = 0.15, grey_fraction: float = 0.3) -> None:
        if grid not in (2, 3):
            raise ValueError("grid must be 2 or 3")
        self.grid = grid
        self.n_tiles = grid * grid
        self.permutations, self.min_distance = hamming_permutations(self.n_tiles, num_permutations, seed)
        self.gap = gap
        self.grey_fraction = grey_fraction

    @property
    def num_classes(self) -> int:
        return len(self.permutations)

    def label_name(self, label: int) -> str:
        return f"#{label}"

    def tile_size(self, image_size: int) -> int:
        cell = image_size // self.grid
        return max(2, int(round(cell * (1 - self.gap))))

    def cut_tiles(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(B, C, S, S) -> (B, T, C, t, t): one jittered tile inside each grid cell."""
        b, c, s, _ = images.shape
        cell = s // self.grid
        tile = self.tile_size(s)
        slack = cell - tile + 1
        device = images.device
        offset = torch.randint(0, slack, (b, self.n_tiles, 2), generator=generator, device=device)
        cells = torch.arange(self.n_tiles, device=device)
        top = (cells // self.grid) * cell + offset[..., 0]  # (B, T)
        left = (cells % self.grid) * cell + offset[..., 1]
        span = torch.arange(tile, device=device)
        rows = (top[..., None] + span)[..., :, None]  # (B, T, t, 1)
        cols = (left[..., None] + span)[..., None, :]  # (B, T, 1, t)
        batch = torch.arange(b, device=device)[:, None, None, None]
        tiles = images.permute(0, 2, 3, 1)[batch, rows, cols]  # (B, T, t, t, C)
        return tiles.permute(0, 1, 4, 2, 3)

    def shuffle(self, tiles: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Position i of the result holds tile `permutations[label][i]`."""
        if self.permutations.device != tiles.device:  # moved once, not on every batch
            self.permutations = self.permutations.to(tiles.device)
        order = self.permutations[labels]  # (B, T)
        return tiles[torch.arange(len(tiles), device=tiles.device)[:, None], order]

    def make_batch(self, images: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        device = images.device
        if images.shape[1] == 3 and self.grey_fraction > 0:
            grey = torch.rand(len(images), generator=generator, device=device) < self.grey_fraction
            images = torch.where(grey[:, None, None, None], images.mean(1, keepdim=True).expand_as(images), images)
        labels = torch.randint(0, self.num_classes, (len(images),), generator=generator, device=device)
        tiles = self.shuffle(self.cut_tiles(images, generator), labels)
        mean = tiles.mean(dim=(2, 3, 4), keepdim=True)
        std = tiles.std(dim=(2, 3, 4), keepdim=True).clamp_min(1e-3)
        return (tiles - mean) / std, labels

    def build_model(self, backbone: nn.Module) -> nn.Module:
        return JigsawHead(backbone, self.n_tiles, self.num_classes)

    def preview(self, images: torch.Tensor, generator: torch.Generator) -> list[PretextSample]:
        samples = []
        pixels = images.float() / 255
        labels = torch.randint(0, self.num_classes, (len(images),), generator=generator)
        shuffled = self.shuffle(self.cut_tiles(pixels, generator), labels)
        for i, image in enumerate(pixels):
            order = self.permutations[labels[i]].tolist()
            samples.append(PretextSample(to_display(image), "original"))
            samples.append(PretextSample(to_display(self.assemble(shuffled[i])),
                                         f"permutation #{int(labels[i])}: {order}"))
        return samples

    def assemble(self, tiles: torch.Tensor, border: int = 1) -> torch.Tensor:
        """(T, C, t, t) -> one picture with the tiles laid out on the grid, white gaps between."""
        _, c, t, _ = tiles.shape
        step = t + border
        canvas = torch.ones(c, self.grid * step - border, self.grid * step - border)
        for k, tile in enumerate(tiles):
            r, q = divmod(k, self.grid)
            canvas[:, r * step: r * step + t, q * step: q * step + t] = tile
        return canvas

    def describe(self) -> str:
        return (f"jigsaw {self.grid}x{self.grid}: which of {self.num_classes} permutations "
                f"(minimum Hamming distance {self.min_distance})")
