"""Tile cutting shared by the tile tasks (jigsaw, context prediction), vectorised over the batch."""
from __future__ import annotations

import torch


def tile_size(image_size: int, grid: int, gap: float) -> int:
    return max(2, int(round(image_size // grid * (1 - gap))))


def cut_tiles(images: torch.Tensor, grid: int, gap: float, cells: torch.Tensor,
              generator: torch.Generator) -> torch.Tensor:
    """(B, C, S, S) -> (B, T, C, t, t): for each image, one tile inside each of its grid `cells`
    `(B, T)` (numbered row by row), jittered within the cell so that tiles never line up exactly."""
    b, c, s, _ = images.shape
    cell = s // grid
    tile = tile_size(s, grid, gap)
    device = images.device
    offset = torch.randint(0, cell - tile + 1, (*cells.shape, 2), generator=generator, device=device)
    top = (cells // grid) * cell + offset[..., 0]  # (B, T)
    left = (cells % grid) * cell + offset[..., 1]
    span = torch.arange(tile, device=device)
    rows = (top[..., None] + span)[..., :, None]  # (B, T, t, 1)
    cols = (left[..., None] + span)[..., None, :]  # (B, T, 1, t)
    batch = torch.arange(b, device=device)[:, None, None, None]
    return images.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 1, 4, 2, 3)


def grey_some(images: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Turn a random `fraction` of colour images grey: denies the colour-fringe shortcut."""
    if images.shape[1] != 3 or fraction <= 0:
        return images
    grey = torch.rand(len(images), generator=generator, device=images.device) < fraction
    return torch.where(grey[:, None, None, None], images.mean(1, keepdim=True).expand_as(images), images)


def normalise_tiles(tiles: torch.Tensor) -> torch.Tensor:
    """Each tile to zero mean and unit spread on its own: denies brightness cues between tiles."""
    mean = tiles.mean(dim=(2, 3, 4), keepdim=True)
    std = tiles.std(dim=(2, 3, 4), keepdim=True).clamp_min(1e-3)
    return (tiles - mean) / std


def assemble(tiles: torch.Tensor, grid: int, cells: list[int] | None = None, border: int = 1,
             empty: float = 1.0) -> torch.Tensor:
    """(T, C, t, t) in [0, 1] -> one picture with tile k at grid cell `cells[k]` (default k), white
    between, and `empty` grey where no tile is."""
    _, c, t, _ = tiles.shape
    step = t + border
    canvas = torch.ones(c, grid * step - border, grid * step - border)
    if cells is not None:
        for cell in set(range(grid * grid)) - set(cells):
            r, q = divmod(cell, grid)
            canvas[:, r * step: r * step + t, q * step: q * step + t] = empty
    for k, tile in enumerate(tiles.cpu()):
        r, q = divmod(cells[k] if cells is not None else k, grid)
        canvas[:, r * step: r * step + t, q * step: q * step + t] = tile
    return canvas
