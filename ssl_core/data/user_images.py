"""The user's own images, from a zip archive or a local folder.

Layout: one subfolder per class; images in a folder named `unlabeled` or at the
top level carry no label and serve the pretext task only. Archives are read
member by member with bounded reads (never `extractall`), so odd paths and zip
bombs are skipped or refused with a reason instead of reaching the disk.
"""
from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image

from ssl_core.data.datasets import UNLABELED, ImageDataset
from ssl_core.data.images import IMAGE_SUFFIXES, MAX_FILE_BYTES, ImageError, decode_image, square_resize

UNLABELED_DIR = "unlabeled"
STORE_SIZE = 64  # images are kept at this square size: the largest training size offered


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 20_000
    max_member_bytes: int = MAX_FILE_BYTES
    max_total_bytes: int = 1 << 30


class DatasetError(ValueError):
    """A set of images that cannot form a dataset; the message is for the user."""


Entry = tuple[PurePosixPath, Callable[[], bytes]]  # relative path, reader
ProgressFn = Callable[[int, int], None]


DRIVE = re.compile(r"[A-Za-z]:$")  # "C:" (a Windows drive), not a class folder such as "cats: indoors"


def _safe_parts(name: str) -> PurePosixPath | None:
    name = name.replace("\\", "/")
    path = PurePosixPath(name)
    if not name or name.startswith("/") or path.is_absolute() or ".." in path.parts or DRIVE.match(path.parts[0]):
        return None
    return path


JUNK_NAMES = {"__MACOSX", "Thumbs.db", "desktop.ini", "ehthumbs.db"}  # what macOS and Windows add to folders


def _hidden(path: PurePosixPath) -> bool:
    return any(part.startswith(".") or part in JUNK_NAMES for part in path.parts)


def _overlapping(data: bytes, infos: list[zipfile.ZipInfo]) -> bool:
    """Members whose compressed bytes overlap: the trick behind small zips that unpack to terabytes
    (Fifield's "better zip bomb"; Python 3.11.7's zipfile does not refuse them itself). Spans are
    measured from each member's own local header, whose name and extra fields may differ in length
    from the central directory's."""
    spans = []
    for info in infos:
        start = info.header_offset
        header = data[start:start + 30]
        if len(header) < 30:
            return True  # points past the end: not a member at all
        name_len, extra_len = int.from_bytes(header[26:28], "little"), int.from_bytes(header[28:30], "little")
        spans.append((start, start + 30 + name_len + extra_len + info.compress_size))
    spans.sort()
    return any(end > next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))


def zip_entries(data: bytes, limits: ArchiveLimits, skipped: list[tuple[str, str]]) -> list[Entry]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
            struct.error) as exc:  # all seen on damaged archives (tests/test_fuzz.py)
        raise DatasetError(f"not a readable zip archive ({exc})") from None
    if len(infos) > limits.max_members:
        raise DatasetError(f"zip has {len(infos):,} members; the limit is {limits.max_members:,}")
    declared = sum(info.file_size for info in infos if not info.filename.endswith("/"))
    if declared > limits.max_total_bytes:
        raise DatasetError(f"zip would unpack to {declared / 2**20:,.0f} MB; the limit is "
                           f"{limits.max_total_bytes / 2**20:,.0f} MB")
    if _overlapping(data, infos):
        raise DatasetError("the zip's members overlap one another (a zip bomb?); make the archive again")
    budget = [limits.max_total_bytes]  # bytes still to unpack, whatever the members declare
    entries: list[Entry] = []
    for info in infos:
        if info.filename.endswith("/"):
            continue
        path = _safe_parts(info.filename)
        if path is None:
            skipped.append((info.filename, "unsafe path (absolute, a drive, or '..')"))
            continue
        if _hidden(path):
            continue
        if info.flag_bits & 0x1:
            skipped.append((info.filename, "password-protected: make the zip without a password"))
            continue
        if info.file_size > limits.max_member_bytes:
            skipped.append((info.filename, "file too large"))
            continue

        def read(info: zipfile.ZipInfo = info) -> bytes:
            cap = min(limits.max_member_bytes, budget[0])
            if cap <= 0:
                raise ImageError("the archive unpacks beyond its size limit (zip bomb?)")
            try:
                with archive.open(info) as handle:
                    blob = handle.read(cap + 1)  # declared sizes can lie
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError, ValueError,
                    struct.error) as exc:
                raise ImageError(f"damaged archive member ({exc})") from None
            budget[0] -= len(blob)
            if len(blob) > cap:
                raise ImageError("file unpacks beyond the size limit (zip bomb?)")
            return blob

        entries.append((path, read))
    files = {path.parts[0] for path, _ in entries if len(path.parts) > 1}
    for info in infos:
        path = _safe_parts(info.filename.rstrip("/"))
        if info.filename.endswith("/") and path is not None and len(path.parts) == 1 and not _hidden(path) and path.name not in files:
            skipped.append((info.filename, "empty folder: no images, so no class"))
    return entries


def folder_entries(root: Path, limits: ArchiveLimits = ArchiveLimits(), skipped: list[tuple[str, str]] | None = None,
                   stay_inside: bool = False) -> list[Entry]:
    """The regular files below `root`, refused past `limits.max_members` (a folder like `/` is not a
    dataset). Links to folders are not followed, so a link loop ends the walk instead of hanging it;
    with `stay_inside` (public mode) neither are links to files outside `root`."""
    skipped = [] if skipped is None else skipped
    root = Path(root).expanduser()
    shown = root.name if stay_inside else str(root)  # a visitor is not told where the server keeps its folders
    if not root.exists():
        raise DatasetError(f"folder not found: {shown}")
    if not root.is_dir():
        raise DatasetError(f"{shown} is a file, not a folder: give the folder that holds the class folders")
    entries: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=None, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in JUNK_NAMES)
        for fname in sorted(filenames):
            full = Path(dirpath) / fname
            rel = PurePosixPath(full.relative_to(root).as_posix())
            if _hidden(rel):
                continue
            try:
                regular = full.is_file()  # a pipe or device would block the read
            except OSError as exc:  # no permission to look (Python 3.11 raises EACCES here)
                skipped.append((str(rel), f"cannot read ({exc.strerror or exc})"))
                continue
            if not regular:
                skipped.append((str(rel), "not a regular file"))
                continue
            if stay_inside and full.is_symlink() and root.resolve() not in full.resolve().parents:
                skipped.append((str(rel), "a link to a file outside the folder"))
                continue
            entries.append((rel, lambda full=full: _read_capped(full)))
            if len(entries) > limits.max_members:
                raise DatasetError(f"{shown} holds more than {limits.max_members:,} files; give the folder that "
                                   "holds the class folders")
    return entries


def _read_capped(path: Path) -> bytes:
    with path.open("rb") as handle:
        blob = handle.read(MAX_FILE_BYTES + 1)
    if len(blob) > MAX_FILE_BYTES:
        raise ImageError("file too large")
    return blob


def common_root(paths: Sequence[PurePosixPath]) -> PurePosixPath:
    """The folders everything sits in above the class folders (a zip of a folder wraps everything in that
    folder's name): looked through, so the classes are the folders below."""
    depth = 0
    while (paths and all(len(p.parts) > depth + 2 for p in paths)
           and len({p.parts[depth] for p in paths}) == 1):
        depth += 1
    return PurePosixPath(*paths[0].parts[:depth]) if depth else PurePosixPath()


def class_of(path: PurePosixPath) -> str | None:
    """A file's class: its top folder; None (unlabeled) for a file at the top or in `unlabeled/`."""
    top = path.parts[0] if len(path.parts) > 1 else None
    return None if top is None or top.lower() == UNLABELED_DIR else top


def class_labels(classes: Sequence[str | None]) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Labels numbered by class name in sorted order; UNLABELED for None."""
    names = tuple(sorted({c for c in classes if c is not None}))
    index = {c: i for i, c in enumerate(names)}
    return torch.tensor([UNLABELED if c is None else index[c] for c in classes], dtype=torch.int64), names


def build_dataset(name: str, entries: Iterable[Entry], skipped: list[tuple[str, str]],
                  size: int = STORE_SIZE, progress: ProgressFn | None = None) -> ImageDataset:
    entries = list(entries)
    wrapper = common_root([path for path, _ in entries])
    entries = [(path.relative_to(wrapper), read) for path, read in entries]
    pictures: list[Image.Image] = []  # squares of at most `size` px: small pictures keep their own size
    classes: list[str | None] = []
    for done, (path, read) in enumerate(entries, 1):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((str(path), "not an image file type"))
            continue
        try:
            image = decode_image(read())
        except ImageError as exc:
            skipped.append((str(path), str(exc)))
            continue
        except OSError as exc:  # unreadable file: permissions, vanished, I/O error
            skipped.append((str(path), f"cannot read ({exc.strerror or exc})"))
            continue
        pictures.append(square_resize(image, min(size, *image.size)))
        classes.append(class_of(path))
        if progress:
            progress(done, len(entries))
    if not pictures:
        raise DatasetError("no readable images found" + (f" ({len(skipped)} files skipped)" if skipped else ""))
    labels, class_names = class_labels(classes)
    side = max(picture.size[0] for picture in pictures)  # 28 px scans stay 28 px, not blurred up to `size`
    images = torch.from_numpy(np.stack([np.asarray(square_resize(p, side)) for p in pictures])).permute(0, 3, 1, 2)
    grey = bool((images[:, 0] == images[:, 1]).all()) and bool((images[:, 1] == images[:, 2]).all())
    if grey:  # scans, digits: one channel and no mirroring, as the built-in digits (a mirrored 2 is no digit)
        images = images[:, :1]
    return ImageDataset(name, images.contiguous(), labels, class_names, allow_flip=not grey, skipped=tuple(skipped))


def load_zip(data: bytes, name: str = "my images", size: int = STORE_SIZE,
             limits: ArchiveLimits = ArchiveLimits(), progress: ProgressFn | None = None) -> ImageDataset:
    skipped: list[tuple[str, str]] = []
    return build_dataset(name, zip_entries(data, limits, skipped), skipped, size, progress)


def load_folder(path: str | Path, size: int = STORE_SIZE, progress: ProgressFn | None = None,
                limits: ArchiveLimits = ArchiveLimits(), stay_inside: bool = False) -> ImageDataset:
    root = Path(path).expanduser()
    skipped: list[tuple[str, str]] = []
    return build_dataset(root.name or str(root), folder_entries(root, limits, skipped, stay_inside), skipped, size,
                         progress)


def iter_class_samples(dataset: ImageDataset, per_class: int) -> Iterator[tuple[str, torch.Tensor]]:
    """A few images of each class (and of the unlabeled pool), for sample grids."""
    for index, cname in enumerate(dataset.class_names):
        yield cname, dataset.images[dataset.labels == index][:per_class]
    if dataset.n_unlabeled:
        yield UNLABELED_DIR, dataset.images[dataset.labels == UNLABELED][:per_class]
