import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
torch.set_num_threads(2)
# Whole modules outside the fast lane (`tests/run.sh --fast`): Streamlit's AppTest and servers, a browser, several
# processes, fuzzing, real data; single slow tests elsewhere carry @pytest.mark.slow themselves.
SLOW_MODULES = {"test_app", "test_browser", "test_load", "test_fuzz", "test_distributed", "test_bench",
                "test_integration", "test_model_file_hostile"}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.path.stem in SLOW_MODULES or item.path.parent.name == "pages":
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True, scope="session")
def _workspace_store(tmp_path_factory):
    """Tests (and the servers they start) keep visitors' workspaces in a temporary folder, never the user's."""
    os.environ["SSL_PLAYGROUND_STATE"] = str(tmp_path_factory.mktemp("workspaces"))


def shared(name: str) -> Path:
    """A folder of ../shared/data, or skip the test saying why."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data not available: {path} is missing (CI provides ../shared beside the clone)")
    return path


def image_bytes(mode: str = "RGB", size=(20, 16), fmt: str = "PNG", color=None, **save) -> bytes:
    rng = np.random.default_rng(0)
    if color is None:
        channels = {"RGB": 3, "RGBA": 4, "L": 1, "CMYK": 4}.get(mode, 3)
        array = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
        image = Image.fromarray(array.squeeze(-1) if channels == 1 else array, mode if mode != "CMYK" else None)
        if mode == "CMYK":
            image = Image.fromarray(array, "CMYK")
    else:
        image = Image.new(mode, size, color)
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


@pytest.fixture(scope="session")
def digits_setup():
    """The 8x8 digits, a split with 10 labels per class and a briefly pretrained backbone."""
    from ssl_core.data.datasets import load_digits
    from ssl_core.data.splits import SplitConfig, make_split
    from ssl_core.engine.pretrain import PretrainConfig, pretrain

    digits = load_digits()
    split = make_split(digits.labels, SplitConfig(labels_per_class=10))
    pretrained = pretrain(PretrainConfig(epochs=4, image_size=16), digits.images[split.pool],
                          digits.images[split.test], allow_flip=False)
    return digits, split, pretrained


@pytest.fixture
def png_bytes() -> bytes:
    return image_bytes()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_app(log_path: Path, port: int | None = None, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run app.py` on `port` (a free loopback port by default), as the README starts it; its URL
    and process."""
    port = port or free_port()
    log = open(log_path, "a")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "streamlit"), "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("streamlit did not become healthy within 60 s")
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def make_zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def clusters(n: int = 100, d: int = 16, spread: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of two well-separated classes around two orthogonal directions, normalised."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    centres = torch.eye(d)[:2]
    return F.normalize(centres[labels] + spread * torch.randn(n, d, generator=g), dim=1), labels
