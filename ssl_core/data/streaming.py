"""Image folders too large for memory: decoded and resized in DataLoader workers, with the same safe
decoding as uploads, and optionally cached once at the training size in a memory-mapped uint8 array
so that later epochs (and later runs) do not decode JPEGs again.

A file that cannot be decoded yields a black image labelled BROKEN; training drops those rows, so one
bad file among a hundred thousand costs one image, not the run.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ssl_core.data.images import IMAGE_SUFFIXES, ImageError, decode_image, square_resize
from ssl_core.data.user_images import ArchiveLimits, DatasetError, class_labels, class_of, common_root, folder_entries

BROKEN = -2  # label of a file that could not be decoded
MAX_FILES = 10_000_000


@dataclass(frozen=True)
class FolderIndex:
    """Every image file below a folder, with its class (the top folder's name; `unlabeled` or none: -1)."""

    root: Path
    files: tuple[PurePosixPath, ...]
    labels: torch.Tensor
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.files)


def index_folder(root: str | Path) -> FolderIndex:
    """The folder's images with their classes, read by the same rules as `load_folder`, so the experiment's
    split of the in-memory copy and `pretext_pool`'s of this index pick the same files."""
    root = Path(root).expanduser()
    paths = [path for path, _ in folder_entries(root, ArchiveLimits(max_members=MAX_FILES))]
    wrapper = common_root(paths)
    entries = [path.relative_to(wrapper) for path in paths if path.suffix.lower() in IMAGE_SUFFIXES]
    if not entries:
        raise DatasetError(f"no image files in {root}")
    labels, names = class_labels([class_of(path) for path in entries])
    return FolderIndex(root / wrapper, tuple(entries), labels, names)


class StreamedImages(Dataset):
    """Decodes one file per item: `(uint8 (3, S, S), label)`; BROKEN for a file that will not decode."""

    def __init__(self, index: FolderIndex, size: int) -> None:
        self.index, self.size = index, size

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        try:
            data = (self.index.root / self.index.files[i]).read_bytes()
            image = square_resize(decode_image(data), self.size).convert("RGB")
        except (ImageError, OSError):
            return torch.zeros(3, self.size, self.size, dtype=torch.uint8), BROKEN
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1), int(self.index.labels[i])


class CachedImages(Dataset):
    """The same items read from a memory-mapped cache: no decoding, and the OS pages it in as needed."""

    def __init__(self, folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text())
        self.images = np.memmap(folder / "images.u8", dtype=np.uint8, mode="r", shape=tuple(meta["shape"]))
        self.labels = torch.tensor(meta["labels"], dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(np.array(self.images[i])), int(self.labels[i])


def cache_folder(root: Path, index: FolderIndex, size: int) -> Path:
    """Where the cache of `index` at `size` lives below `root`: one folder per source folder and size."""
    key = hashlib.sha256(f"{index.root.resolve()}|{len(index)}|{size}".encode()).hexdigest()[:12]
    return Path(root) / f"{index.root.name}-{size}px-{key}"


def build_cache(dataset: StreamedImages, folder: Path, workers: int = 0, batch_size: int = 256) -> Path:
    """Decode every image once into `folder` (images.u8 + meta.json). Written to a temporary name and
    renamed when complete, so an interrupted build is never read as a cache."""
    done = folder / "meta.json"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    shape = (len(dataset), 3, dataset.size, dataset.size)
    images = np.memmap(folder / "images.u8", dtype=np.uint8, mode="w+", shape=shape)
    labels: list[int] = []
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    for batch, batch_labels in loader:
        images[len(labels):len(labels) + len(batch)] = batch.numpy()
        labels.extend(batch_labels.tolist())
    images.flush()
    partial = folder / "meta.json.partial"
    partial.write_text(json.dumps({"shape": list(shape), "labels": labels,
                                   "class_names": list(dataset.index.class_names)}))
    partial.rename(done)
    return folder
