"""Property-based fuzzing of what untrusted bytes reach: image decoding and zip reading.

Hypothesis mutates real files (flipped, inserted and deleted bytes, truncation, splices) of every
format we read; whatever comes out, `decode_image` must either return an RGB image or raise
`ImageError`, and `load_zip` must either return a dataset or raise `DatasetError`: no other
exception, no hang. The run is bounded in time (FUZZ_SECONDS per target) and the number of inputs
tried is written to tests/artifacts/fuzz.txt.
"""
import io
import os
import time
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ssl_core.data.images import ImageError, decode_image
from ssl_core.data.user_images import ArchiveLimits, DatasetError, load_zip
from tests.conftest import ROOT, image_bytes

FUZZ_SECONDS = float(os.environ.get("FUZZ_SECONDS", 25))  # per target; CI keeps the default
ARTIFACT = ROOT / "tests" / "artifacts" / "fuzz.txt"


def seeds() -> list[bytes]:
    animated = io.BytesIO()
    frames = [Image.new("P", (6, 6), i) for i in range(3)]
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:])
    return [image_bytes(fmt="PNG"), image_bytes(fmt="JPEG", size=(24, 24)), image_bytes(fmt="WEBP"),
            image_bytes(fmt="BMP"), image_bytes(fmt="TIFF"), image_bytes("RGBA", fmt="PNG"),
            image_bytes("L", fmt="PNG"), image_bytes("CMYK", fmt="JPEG"), animated.getvalue()]


def zip_seed() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cats/1.png", image_bytes(size=(8, 8)))
        archive.writestr("dogs/1.jpg", image_bytes(fmt="JPEG", size=(8, 8)))
        archive.writestr("unlabeled/x.gif", image_bytes(fmt="GIF", size=(8, 8)))
    return out.getvalue()


@st.composite
def mutated(draw, originals: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "repeat"]))
        if action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "set":
            data[at] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80, draw(st.integers(0, 255))]))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif action == "truncate":
            del data[at:]
        else:  # repeat a chunk: lengths and counts that no longer agree
            data[at:at] = data[at:at + draw(st.integers(1, 64))] * draw(st.integers(1, 8))
    return bytes(data)


class Budget:
    """Stops feeding inputs after FUZZ_SECONDS; counts what was tried."""

    def __init__(self) -> None:
        self.started, self.tried = time.monotonic(), 0

    def spent(self) -> bool:
        return time.monotonic() - self.started > FUZZ_SECONDS


def record(target: str, budget: Budget) -> None:
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    lines = [line for line in (ARTIFACT.read_text().splitlines() if ARTIFACT.exists() else [])
             if not line.startswith(target)]
    ARTIFACT.write_text("\n".join(lines + [f"{target}: {budget.tried} inputs in "
                                            f"{time.monotonic() - budget.started:.0f} s, no unhandled exception"]) + "\n")
    print(f"{target}: {budget.tried} inputs")


# Each call of a test function tries up to 200 fresh random inputs; the tests call it until the time is spent.
FUZZ = settings(max_examples=200, deadline=None, database=None, derandomize=False,
                suppress_health_check=list(HealthCheck))


def fuzz(target: str, originals: list[bytes], check) -> Budget:
    """Feed mutations of `originals` to `check` until FUZZ_SECONDS are spent; `check` raises only on a
    real failure (an unexpected exception or a wrong result)."""
    budget = Budget()

    @FUZZ
    @given(mutated(originals))
    def run(data: bytes) -> None:
        if budget.spent():
            return
        budget.tried += 1
        check(data)

    while not budget.spent():
        run()
    record(target, budget)
    return budget


def test_decoding_mutated_images_only_ever_raises_image_error():
    def check(data: bytes) -> None:
        try:
            image = decode_image(data)
        except ImageError:
            return
        assert image.mode == "RGB" and image.width * image.height > 0

    assert fuzz("decode_image", seeds(), check).tried > 200


def test_reading_mutated_zips_only_ever_raises_dataset_error():
    limits = ArchiveLimits(max_members=50, max_member_bytes=1 << 20, max_total_bytes=4 << 20)

    def check(data: bytes) -> None:
        try:
            dataset = load_zip(data, size=8, limits=limits)
        except DatasetError:
            return
        assert len(dataset) >= 1 and dataset.images.shape[1:] == (3, 8, 8)

    assert fuzz("load_zip", [zip_seed()], check).tried > 100
