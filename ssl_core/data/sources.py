"""Open a dataset from a name or a path, as the CLI and benchmarks take it."""
from __future__ import annotations

from pathlib import Path

from ssl_core.data.datasets import (BUILTIN, DIGIT_NAMES, DIGITS_DOMAIN, DOWNLOADABLE, ImageDataset, load_downloadable,
                                    load_idx_folder)
from ssl_core.data.user_images import STORE_SIZE, load_folder


def open_dataset(spec: str, size: int = STORE_SIZE) -> ImageDataset:
    """A built-in name, a torchvision name (downloaded on first use), a folder of
    MNIST-style idx files, or a folder with one subfolder per class."""
    if spec in BUILTIN:
        return BUILTIN[spec]()
    if spec in DOWNLOADABLE:
        return load_downloadable(spec)
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise ValueError(f"{spec!r} is neither a dataset name ({', '.join(sorted({*BUILTIN, *DOWNLOADABLE}))}) "
                         "nor a folder")
    if any(path.glob("*-images-idx3-ubyte*")):
        return load_idx_folder(path, path.name, DIGIT_NAMES, allow_flip=False, domain=DIGITS_DOMAIN)
    return load_folder(path, size=size)
