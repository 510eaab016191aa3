"""A dataset made in the browser, the way Teachable Machine makes one: name a class, drop photos into
it (or take them with the camera), repeat; an unlabeled bucket takes photos for the pretext task only.

Photos go through the same safe decoding as zip uploads and are kept at the dataset size
(`STORE_SIZE`), so a builder of thousands of photos stays small. `to_zip` writes the class folders
as lossless PNGs, so `load_zip(to_zip())` gives the same dataset back (or use it with the CLI).
"""
from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from ssl_core.data.datasets import UNLABELED, ImageDataset
from ssl_core.data.images import ImageError, decode_image, square_resize
from ssl_core.data.user_images import JUNK_NAMES, STORE_SIZE, UNLABELED_DIR

MAX_NAME = 40


class BuilderError(ValueError):
    """A class name or photo the builder refuses; the message is for the user."""


@dataclass(frozen=True)
class Photo:
    name: str
    pixels: np.ndarray  # (STORE_SIZE, STORE_SIZE, 3) uint8
    digest: str  # of the original file: the same photo dropped twice into a class is added once


@dataclass(frozen=True)
class Added:
    added: int
    skipped: tuple[tuple[str, str], ...]  # (file, reason)


@dataclass
class DatasetBuilder:
    name: str = "my photos"
    max_photos: int = 20_000
    classes: dict[str, list[Photo]] = field(default_factory=dict)  # in the order they were made
    unlabeled: list[Photo] = field(default_factory=list)

    # -- classes ------------------------------------------------------------------------------
    def check_name(self, name: str, renaming: str | None = None) -> str:
        name = " ".join(name.split())
        if not name:
            raise BuilderError("a class needs a name")
        if len(name) > MAX_NAME:
            raise BuilderError(f"class names are at most {MAX_NAME} characters")
        if any(c in name for c in '/\\:*?"<>|') or name.startswith(".") or name in JUNK_NAMES:
            raise BuilderError(f"'{name}' cannot be a folder name: leave out / \\ : * ? \" < > | and a leading dot")
        if name.lower() == UNLABELED_DIR:
            raise BuilderError(f"'{UNLABELED_DIR}' is the bucket for photos without a class; choose another name")
        if any(name.lower() == other.lower() for other in self.classes if other != renaming):
            raise BuilderError(f"there is already a class '{name}'")
        return name

    def add_class(self, name: str) -> str:
        name = self.check_name(name)
        self.classes[name] = []
        return name

    def rename_class(self, old: str, new: str) -> str:
        new = self.check_name(new, renaming=old)
        self.classes = {(new if k == old else k): v for k, v in self.classes.items()}
        return new

    def remove_class(self, name: str) -> None:
        self.classes.pop(name, None)

    def bucket(self, name: str | None) -> list[Photo]:
        """The photos of class `name`; None is the unlabeled bucket."""
        if name is None:
            return self.unlabeled
        if name not in self.classes:
            raise BuilderError(f"there is no class '{name}' (was it removed?)")
        return self.classes[name]

    # -- photos -------------------------------------------------------------------------------
    def add_photos(self, bucket: str | None, files: Iterable[tuple[str, bytes]]) -> Added:
        """Decode and add each `(file name, bytes)` to the class `bucket` (None: unlabeled); what cannot
        be added is skipped with its reason, and the rest still goes in."""
        target = self.bucket(bucket)
        where = bucket or UNLABELED_DIR
        added, skipped = 0, []
        for name, data in files:
            digest = hashlib.sha256(data).hexdigest()[:20]
            if any(p.digest == digest for p in target):
                skipped.append((name, f"already in {where}"))
                continue
            if len(self) >= self.max_photos:
                skipped.append((name, f"this dataset has the most photos allowed here ({self.max_photos:,})"))
                continue
            try:
                image = decode_image(data)
            except ImageError as exc:
                skipped.append((name, str(exc)))
                continue
            target.append(Photo(name, np.asarray(square_resize(image, STORE_SIZE)), digest))
            added += 1
        return Added(added, tuple(skipped))

    def remove_photo(self, bucket: str | None, index: int) -> None:
        photos = self.bucket(bucket)
        if 0 <= index < len(photos):
            del photos[index]

    def __len__(self) -> int:
        return sum(map(len, self.classes.values())) + len(self.unlabeled)

    def counts(self) -> dict[str, int]:
        return {name: len(photos) for name, photos in self.classes.items()}

    def problem(self) -> str:
        """Why this cannot become a dataset yet; '' when it can."""
        empty = [name for name, photos in self.classes.items() if not photos]
        if empty:
            return f"the class{'es' if len(empty) > 1 else ''} {', '.join(empty)} ha{'ve' if len(empty) > 1 else 's'} no photos yet"
        return "" if len(self) else "add photos first"

    def digest(self) -> str:
        """Changes whenever a photo, a class or a name changes: the dataset's identity."""
        h = hashlib.sha256(self.name.encode())
        for name, photos in sorted(self.classes.items()):
            h.update(f"\0{name}\0".encode() + "".join(p.digest for p in photos).encode())
        h.update(b"\0\0" + "".join(p.digest for p in self.unlabeled).encode())
        return h.hexdigest()[:16]

    # -- out ----------------------------------------------------------------------------------
    def to_dataset(self) -> ImageDataset:
        """The photos as a dataset; class names sorted, as a zip of the same folders would give."""
        problem = self.problem()
        if problem:
            raise BuilderError(problem)
        names = tuple(sorted(self.classes))
        pixels, labels = [], []
        for index, name in enumerate(names):
            pixels += [p.pixels for p in self.classes[name]]
            labels += [index] * len(self.classes[name])
        pixels += [p.pixels for p in self.unlabeled]
        labels += [UNLABELED] * len(self.unlabeled)
        images = torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).contiguous()
        return ImageDataset(self.name, images, torch.tensor(labels, dtype=torch.int64), names, allow_flip=True)

    @property
    def file_stem(self) -> str:
        """The name, fit for a file or folder."""
        return re.sub(r"[^\w\- ]+", "_", self.name).strip(" _") or "photos"

    @property
    def nbytes(self) -> int:
        return len(self) * STORE_SIZE * STORE_SIZE * 3

    def to_zip(self) -> bytes:
        """One folder per class and `unlabeled/`, PNGs at the stored size."""
        top = self.file_stem
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            buckets = [(name, photos) for name, photos in self.classes.items()] + [(UNLABELED_DIR, self.unlabeled)]
            for folder, photos in buckets:
                for i, photo in enumerate(photos, 1):
                    png = io.BytesIO()
                    Image.fromarray(photo.pixels).save(png, "PNG")
                    archive.writestr(f"{top}/{folder}/{i:04d}.png", png.getvalue())
        return out.getvalue()
