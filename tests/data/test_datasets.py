import gzip
import hashlib
import http.server
import pickle
import socket
import threading
import time
from functools import partial

import numpy as np
import pytest
import torch

from ssl_core.data import datasets
from ssl_core.data.datasets import ImageDataset, load_digits, load_downloadable, load_idx_folder
from ssl_core.data.downloads import DownloadError, download_file
from tests.conftest import shared


def test_builtin_digits_are_real_images():
    ds = load_digits()
    assert ds.images.shape == (1797, 1, 8, 8) and ds.images.dtype == torch.uint8
    assert ds.class_counts()["0"] == 178
    assert ds.images.max() == 255 and not ds.allow_flip


def test_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        ImageDataset("x", torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64), ("a",))


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_idx_reader_round_trip(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28))
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(5)))
    ds = load_idx_folder(tmp_path, "m", tuple("0123456789"), False)
    assert torch.equal(ds.images[:, 0], torch.from_numpy(images.astype(np.uint8)))
    assert ds.labels.tolist() == [0, 1, 2, 3, 4]


def test_shared_mnist_test_digits():
    ds = load_idx_folder(shared("mnist"), "mnist", tuple("0123456789"), False)
    assert ds.images.shape == (10_000, 1, 28, 28)
    assert sum(ds.class_counts().values()) == 10_000


def test_prefilled_mnist_root_needs_no_network(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (raw / stem).write_bytes((shared("mnist") / stem).read_bytes())
    monkeypatch.setattr(datasets, "download_file", lambda *a, **k: pytest.fail("must not download"))
    ds = load_downloadable("mnist")
    assert len(ds) == 10_000 and ds.name == "mnist"


def test_prefilled_cifar_root(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    data = np.random.default_rng(0).integers(0, 256, (4, 3072), dtype=np.uint8)
    with (folder / "data_batch_1").open("wb") as handle:
        pickle.dump({"data": data, "labels": [0, 1, 2, 3]}, handle)
    ds = load_downloadable("cifar10", root=tmp_path)
    assert ds.images.shape == (4, 3, 32, 32) and ds.class_names[0] == "airplane"
    assert torch.equal(ds.images[1].flatten(), torch.from_numpy(data[1]))


@pytest.fixture
def file_server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_reports_progress_and_checks_md5(file_server, tmp_path):
    served, url = file_server
    payload = bytes(range(256)) * 1000
    (served / "blob.bin").write_bytes(payload)
    seen = []
    target = download_file(f"{url}/blob.bin", tmp_path / "blob.bin", md5=hashlib.md5(payload).hexdigest(),
                           progress=lambda name, done, total: seen.append((done, total)), chunk=50_000)
    assert target.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload)) and len(seen) > 2
    with pytest.raises(DownloadError, match="checksum"):
        download_file(f"{url}/blob.bin", tmp_path / "other.bin", md5="0" * 32)
    assert not (tmp_path / "other.bin").exists()


def test_no_network_fails_fast_with_a_hint(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(DownloadError, match="No network.*by hand"):
        download_file(f"http://127.0.0.1:{port}/x.gz", tmp_path / "x.gz", timeout=2, hint="fill it by hand")
    assert time.monotonic() - started < 5
    assert not list(tmp_path.iterdir())


def test_downloadable_dataset_download_path(file_server, tmp_path, monkeypatch):
    """The whole first-use path: files fetched from a (local) mirror, then read."""
    served, url = file_server
    images = np.random.default_rng(1).integers(0, 256, (3, 28, 28))
    files = {"train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images)),
             "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(np.array([1, 2, 3])))}
    for name, blob in files.items():
        (served / name).write_bytes(blob)
    spec = datasets.Downloadable(
        "Tiny", "Tiny/raw", tuple((f"{url}/{n}", n, hashlib.md5(b).hexdigest()) for n, b in files.items()), 1,
        read=lambda folder: load_idx_folder(folder, "tiny", tuple("0123456789"), False))
    monkeypatch.setitem(datasets.DOWNLOADABLE, "tiny", lambda: spec)
    progress = []
    ds = load_downloadable("tiny", root=tmp_path, progress=lambda *a: progress.append(a))
    assert ds.labels.tolist() == [1, 2, 3] and progress
    assert (tmp_path / "Tiny" / "raw" / "train-labels-idx1-ubyte.gz").exists()
