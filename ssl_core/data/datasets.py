"""Image datasets decoded once into uint8 tensors.

A dataset is a small frozen record holding every image as one `(N, C, H, W)`
uint8 tensor and the labels (`-1` marks an image without a label, used by the
pretext task only). Three kinds of source produce it: the built-in offline
dataset, torchvision's downloadable ones and the user's own images
(`ssl_core.data.user_images`).
"""
from __future__ import annotations

import gzip
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ssl_core.data.downloads import DownloadError, ProgressFn, download_file

UNLABELED = -1
DATA_ENV = "SSL_PLAYGROUND_DATA"
ASSETS = Path(__file__).resolve().parents[2] / "assets" / "data"
DIGIT_NAMES = tuple(str(d) for d in range(10))
DIGITS_DOMAIN = "handwritten digits (0-9)"


@dataclass(frozen=True, eq=False)
class ImageDataset:
    name: str
    images: torch.Tensor  # (N, C, H, W) uint8
    labels: torch.Tensor  # (N,) int64, UNLABELED for pretext-only images
    class_names: tuple[str, ...]
    allow_flip: bool = True  # digits must not be mirrored
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (file, reason)
    domain: str = ""  # what every image shows, when the dataset is of one kind ("handwritten digits (0-9)")

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError("images must be a (N, C, H, W) uint8 tensor")
        if len(self.images) != len(self.labels):
            raise ValueError("images and labels differ in length")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_unlabeled(self) -> int:
        return int((self.labels == UNLABELED).sum())

    def class_counts(self) -> dict[str, int]:
        counts = torch.bincount(self.labels[self.labels >= 0], minlength=self.num_classes)
        return {name: int(c) for name, c in zip(self.class_names, counts)}


def default_data_root() -> Path:
    """Where downloads are cached: `$SSL_PLAYGROUND_DATA`, else a per-user cache folder."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ssl-playground"


def load_mnist_10k() -> ImageDataset:
    """The 10,000 MNIST test digits at 28 px, shipped in `assets/data` (the offline default)."""
    return load_idx_folder(ASSETS / "mnist-10k", "mnist-10k", DIGIT_NAMES, allow_flip=False, domain=DIGITS_DOMAIN)


def load_digits() -> ImageDataset:
    """scikit-learn's 1,797 handwritten 8x8 digits: real images, shipped with the package (the quick option)."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    pixels = np.asarray(bunch.images, dtype=np.float32) * (255.0 / 16.0)
    images = torch.from_numpy(pixels.round().astype(np.uint8)).unsqueeze(1)
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return ImageDataset("digits", images, labels, DIGIT_NAMES, allow_flip=False, domain=DIGITS_DOMAIN)


# ---- torchvision's downloadable datasets -------------------------------------------------

def _idx_array(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise ValueError(f"{path.name} is not an idx file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path.name} is truncated")
    return data.reshape(shape)


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_idx_folder(folder: Path, name: str, class_names: tuple[str, ...], allow_flip: bool,
                    domain: str = "") -> ImageDataset:
    """Read every images/labels idx pair (train and/or t10k, gzipped or not) in a folder."""
    folder = Path(folder)
    images, labels = [], []
    for prefix in ("train", "t10k"):
        img = _find(folder, f"{prefix}-images-idx3-ubyte")
        lab = _find(folder, f"{prefix}-labels-idx1-ubyte")
        if img and lab:
            images.append(_idx_array(img))
            labels.append(_idx_array(lab))
    if not images:
        raise FileNotFoundError(f"no idx image files in {folder}")
    x = torch.from_numpy(np.concatenate(images)).unsqueeze(1)
    y = torch.from_numpy(np.concatenate(labels).astype(np.int64))
    return ImageDataset(name, x, y, class_names, allow_flip=allow_flip, domain=domain)


def _load_cifar10(folder: Path) -> ImageDataset:
    batches = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    xs, ys = [], []
    for batch in batches:
        path = folder / batch
        if path.is_file():
            with path.open("rb") as handle:
                entry = pickle.load(handle, encoding="latin1")  # the user's own data folder
            xs.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(entry["labels"], dtype=np.int64))
    if not xs:
        raise FileNotFoundError(f"no CIFAR-10 batches in {folder}")
    names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    return ImageDataset("cifar10", torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys)), names,
                        domain="small photos of 10 kinds of object (CIFAR-10)")


@dataclass(frozen=True)
class Downloadable:
    title: str
    subdir: str  # folder under the data root that holds the files
    files: tuple[tuple[str, str, str], ...]  # (url, file name, md5)
    megabytes: int
    read: Callable[[Path], ImageDataset]
    extract: bool = False


def _mnist_like(cls_name: str, name: str, classes: tuple[str, ...], allow_flip: bool, mb: int,
                domain: str) -> Downloadable:
    from torchvision import datasets as tvd

    cls = getattr(tvd, cls_name)
    files = tuple((cls.mirrors[0] + fname, fname, md5) for fname, md5 in cls.resources)
    return Downloadable(
        title=cls_name, subdir=f"{cls_name}/raw", files=files, megabytes=mb,
        read=lambda folder: load_idx_folder(folder, name, classes, allow_flip, domain))


def _cifar() -> Downloadable:
    from torchvision.datasets import CIFAR10

    return Downloadable(
        title="CIFAR-10", subdir="", files=((CIFAR10.url, CIFAR10.filename, CIFAR10.tgz_md5),),
        megabytes=163, read=lambda root: _load_cifar10(root / CIFAR10.base_folder), extract=True)


FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DOWNLOADABLE: dict[str, Callable[[], Downloadable]] = {
    "mnist": lambda: _mnist_like("MNIST", "mnist", DIGIT_NAMES, False, 11, DIGITS_DOMAIN),
    "fashion-mnist": lambda: _mnist_like("FashionMNIST", "fashion-mnist", FASHION_CLASSES, True, 30,
                                         "grey pictures of 10 kinds of clothing (Fashion-MNIST)"),
    "cifar10": _cifar,
}
BUILTIN: dict[str, Callable[[], ImageDataset]] = {"mnist-10k": load_mnist_10k, "digits": load_digits}
BUILTIN_TITLES = {"mnist-10k": "MNIST digits: 10,000 at 28×28 px (the default)",
                  "digits": "scikit-learn digits: 1,797 at 8×8 px (quick)"}


def dataset_folder(name: str, root: Path | None = None) -> Path:
    spec = DOWNLOADABLE[name]()
    return (Path(root) if root else default_data_root()) / spec.subdir


def load_downloadable(name: str, root: Path | None = None, progress: ProgressFn | None = None,
                      timeout: float = 10.0) -> ImageDataset:
    """Load a torchvision dataset from the data root, downloading missing files first."""
    if name not in DOWNLOADABLE:
        raise KeyError(f"unknown dataset {name!r}; choose from {sorted(DOWNLOADABLE)}")
    spec = DOWNLOADABLE[name]()
    root = Path(root) if root else default_data_root()
    folder = root / spec.subdir
    try:
        return spec.read(root if spec.extract else folder)
    except (FileNotFoundError, ValueError):
        pass  # not there yet (or incomplete): fetch it
    folder.mkdir(parents=True, exist_ok=True)
    for url, fname, md5 in spec.files:
        target = folder / fname
        if spec.extract or not _find(folder, fname.removesuffix(".gz")):
            download_file(url, target, md5=md5, progress=progress, timeout=timeout,
                          hint=f"put the file {fname} into {folder} by hand")
    if spec.extract:
        from torchvision.datasets.utils import extract_archive

        extract_archive(str(folder / spec.files[0][1]), str(folder))
    try:
        return spec.read(root if spec.extract else folder)
    except (FileNotFoundError, ValueError) as exc:
        raise DownloadError(f"downloaded files in {folder} are unreadable: {exc}") from None
