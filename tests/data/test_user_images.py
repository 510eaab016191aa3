import io
import zipfile

import pytest

from ssl_core.data.datasets import UNLABELED
from ssl_core.data.user_images import ArchiveLimits, DatasetError, load_folder, load_zip
from tests.conftest import image_bytes, make_zip


def test_class_folders_unlabeled_and_skipped_files():
    png = image_bytes()
    data = make_zip({
        "photos/cats/a.png": png, "photos/cats/b.png": png,
        "photos/dogs/c.png": png,
        "photos/unlabeled/d.png": png,
        "photos/dogs/notes.txt": b"text",
        "photos/dogs/fake.jpg": b"a text file renamed",
        "photos/dogs/empty.png": b"",
    })
    dataset = load_zip(data, size=16)
    assert dataset.class_names == ("cats", "dogs")
    assert dataset.class_counts() == {"cats": 2, "dogs": 1}
    assert dataset.n_unlabeled == 1
    assert dataset.images.shape == (4, 3, 16, 16)
    reasons = dict(dataset.skipped)
    assert reasons["dogs/notes.txt"] == "not an image file type"
    assert "not an image" in reasons["dogs/fake.jpg"]
    assert "empty" in reasons["dogs/empty.png"]


def test_top_level_images_are_unlabeled():
    png = image_bytes()
    dataset = load_zip(make_zip({"a.png": png, "b.png": png}), size=8)
    assert dataset.num_classes == 0 and dataset.n_unlabeled == 2
    assert (dataset.labels == UNLABELED).all()


def test_unsafe_member_names_are_skipped():
    png = image_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("cats/ok.png", png)
        archive.writestr("../evil/x.png", png)
        archive.writestr("/abs/y.png", png)
        archive.writestr("cats/../../z.png", png)
        archive.writestr("C:/windows/w.png", png)
    dataset = load_zip(out.getvalue(), size=8)
    assert len(dataset) == 1
    unsafe = [name for name, reason in dataset.skipped if "unsafe path" in reason]
    assert len(unsafe) == 4


def test_grey_pictures_make_a_grey_dataset_and_one_colour_picture_keeps_colour():
    """A folder of scanned digits gets the digits' treatment (one channel, the grey recipe), as the
    built-in digits do; it used to load as colour and get the photo recipe."""
    grey = {f"{k}/{i}.png": image_bytes("L", size=(28, 28)) for k in "ab" for i in range(3)}
    dataset = load_zip(make_zip(grey))  # stored at their own 28 px, not blurred up to 64 and back
    assert dataset.channels == 1 and tuple(dataset.images.shape) == (6, 1, 28, 28) and not dataset.allow_flip
    coloured = load_zip(make_zip({**grey, "a/colour.png": image_bytes("RGB", size=(28, 28))}))
    assert coloured.channels == 3 and coloured.allow_flip
    large = load_zip(make_zip({"a/big.png": image_bytes(size=(300, 200)), "b/small.png": image_bytes(size=(20, 16))}))
    assert tuple(large.images.shape) == (2, 3, 64, 64)  # photos larger than the store size are kept at it


def test_a_colon_in_a_class_folder_is_a_name_not_a_drive():
    dataset = load_zip(make_zip({"cats: indoors/a.png": image_bytes(), "dogs:2/b.png": image_bytes()}), size=8)
    assert dataset.class_names == ("cats: indoors", "dogs:2") and not dataset.skipped


def test_zip_without_images_says_so():
    with pytest.raises(DatasetError, match="no readable images"):
        load_zip(make_zip({"readme.txt": b"hi"}))


def test_not_a_zip():
    with pytest.raises(DatasetError, match="not a readable zip"):
        load_zip(b"this is no archive")


def test_member_count_is_capped():
    data = make_zip({f"c/{i}.png": b"x" for i in range(30)})
    with pytest.raises(DatasetError, match="members"):
        load_zip(data, limits=ArchiveLimits(max_members=10))


def test_total_size_is_capped():
    data = make_zip({"c/big.png": b"\0" * 200_000})
    with pytest.raises(DatasetError, match="unpack"):
        load_zip(data, limits=ArchiveLimits(max_total_bytes=100_000))


def test_member_that_lies_about_its_size_is_stopped():
    """A member whose header claims a small size but inflates to more is read only up to the cap."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("c/ok.png", image_bytes())
        archive.writestr("c/bomb.png", b"\0" * 1_000_000)
    raw = bytearray(out.getvalue())
    # Patch the central directory's declared size of bomb.png down to 10 bytes.
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = archive.getinfo("c/bomb.png")
    central = raw.rfind(b"PK\x01\x02", 0, raw.rfind(b"c/bomb.png"))
    raw[central + 24: central + 28] = (10).to_bytes(4, "little")
    dataset = load_zip(bytes(raw), size=8, limits=ArchiveLimits(max_member_bytes=500_000))
    assert info.file_size == 1_000_000
    assert len(dataset) == 1
    assert any("bomb.png" in name for name, _ in dataset.skipped)


def test_single_class_folder(tmp_path):
    (tmp_path / "only").mkdir()
    for i in range(3):
        (tmp_path / "only" / f"{i}.png").write_bytes(image_bytes())
    dataset = load_folder(tmp_path, size=8)
    assert dataset.class_names == ("only",) and len(dataset) == 3


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_folder(tmp_path / "nope")


def test_unreadable_file_is_skipped_with_reason(tmp_path, monkeypatch):
    from pathlib import Path

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "ok.png").write_bytes(image_bytes())
    (tmp_path / "a" / "locked.png").write_bytes(image_bytes())
    real_open = Path.open

    def guarded(self, *args, **kwargs):
        if self.name == "locked.png":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)
    dataset = load_folder(tmp_path, size=8)
    assert len(dataset) == 1
    assert dict(dataset.skipped)["a/locked.png"] == "cannot read (Permission denied)"


def two_classes(**extra: bytes) -> dict[str, bytes]:
    png = image_bytes()
    return {"cats/1.png": png, "cats/2.png": png, "dogs/1.png": png, **extra}


def overlapping_zip() -> bytes:
    """Two central-directory entries pointing at one member's bytes: the overlap behind
    kilobyte zips that unpack to terabytes."""
    raw = bytearray(make_zip({"cats/a.png": image_bytes(), "cats/b.png": image_bytes()}))
    central = raw.rfind(b"PK\x01\x02", 0, raw.rfind(b"cats/b.png"))
    raw[central + 42: central + 46] = (0).to_bytes(4, "little")  # b's header offset = a's
    return bytes(raw)


def test_overlapping_members_are_refused_as_a_zip_bomb():
    with pytest.raises(DatasetError, match="overlap"):
        load_zip(overlapping_zip(), size=8)


def test_a_zip_inside_the_zip_is_skipped_with_its_reason():
    dataset = load_zip(make_zip(two_classes(**{"cats/more.zip": make_zip({"x.png": image_bytes()})})), size=8)
    assert ("cats/more.zip", "not an image file type") in dataset.skipped and len(dataset) == 3


def encrypted(data: bytes, name: str) -> bytes:
    """Mark member `name` as encrypted (zipfile cannot write passwords; the flag is what readers act on)."""
    raw = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.rfind(signature, 0, raw.rfind(name.encode(), 0, len(raw) if signature == b"PK\x01\x02" else None))
        raw[at + offset] |= 0x1
    return bytes(raw)


def test_password_protected_members_are_skipped_with_their_reason():
    data = encrypted(make_zip(two_classes(**{"dogs/secret.png": image_bytes()})), "dogs/secret.png")
    dataset = load_zip(data, size=8)
    assert len(dataset) == 3
    assert any(name == "dogs/secret.png" and "password" in reason for name, reason in dataset.skipped)


def test_an_empty_zip_says_it_has_no_images():
    with pytest.raises(DatasetError, match="no readable images"):
        load_zip(make_zip({}), size=8)


def test_an_empty_class_folder_is_named_not_silently_dropped():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in two_classes().items():
            archive.writestr(name, data)
        archive.writestr(zipfile.ZipInfo("birds/"), b"")
    dataset = load_zip(out.getvalue(), size=8)
    assert dataset.class_names == ("cats", "dogs")
    assert ("birds/", "empty folder: no images, so no class") in dataset.skipped


def test_macos_and_windows_junk_is_ignored_and_a_wrapping_folder_unwrapped():
    png = image_bytes()
    data = make_zip({"photos/cats/1.png": png, "photos/dogs/1.png": png, "__MACOSX/photos/cats/._1.png": b"junk",
                     "photos/.DS_Store": b"junk", "photos/cats/Thumbs.db": b"junk", "photos/dogs/desktop.ini": b"x"})
    dataset = load_zip(data, size=8)
    assert dataset.class_names == ("cats", "dogs") and len(dataset) == 2 and dataset.skipped == ()


def test_unicode_names_become_class_names():
    dataset = load_zip(make_zip({"猫/1.png": image_bytes(), "café/été.png": image_bytes()}), size=8)
    assert dataset.class_names == ("café", "猫")


def test_a_file_given_as_the_folder_says_so(tmp_path):
    (tmp_path / "x.png").write_bytes(image_bytes())
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        load_folder(tmp_path / "x.png")


def test_the_root_folder_is_refused_quickly_by_its_file_count():
    import time
    from pathlib import Path

    started = time.monotonic()
    with pytest.raises(DatasetError, match="holds more than 20,000 files"):  # the real cap; /proc on the way
        load_folder(Path("/"))
    assert time.monotonic() - started < 30  # 0.6 s here; unbounded, the walk of / took about 20 minutes


def test_a_symlink_loop_ends_the_walk(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "1.png").write_bytes(image_bytes())
    (tmp_path / "cats" / "loop").symlink_to(tmp_path)
    (tmp_path / "cats" / "self").symlink_to(tmp_path / "cats" / "self")  # a link to itself
    dataset = load_folder(tmp_path, size=8)
    assert len(dataset) == 1
    assert ("cats/self", "not a regular file") in dataset.skipped


def test_a_pipe_named_like_an_image_is_skipped_not_read(tmp_path):
    import os

    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "1.png").write_bytes(image_bytes())
    os.mkfifo(tmp_path / "cats" / "pipe.png")  # reading it would block forever
    dataset = load_folder(tmp_path, size=8)
    assert len(dataset) == 1 and ("cats/pipe.png", "not a regular file") in dataset.skipped


def test_in_public_mode_links_out_of_the_folder_are_not_followed(tmp_path):
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "private.png").write_bytes(image_bytes())
    root = tmp_path / "shared"
    (root / "cats").mkdir(parents=True)
    (root / "cats" / "1.png").write_bytes(image_bytes())
    (root / "cats" / "2.png").symlink_to(tmp_path / "secret" / "private.png")
    assert len(load_folder(root, size=8)) == 2  # locally, a link is the user's own business
    dataset = load_folder(root, size=8, stay_inside=True)
    assert len(dataset) == 1 and ("cats/2.png", "a link to a file outside the folder") in dataset.skipped


def test_a_file_that_cannot_even_be_looked_at_is_skipped_with_its_reason(tmp_path, monkeypatch):
    from pathlib import Path

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "ok.png").write_bytes(image_bytes())
    (tmp_path / "a" / "hidden.png").write_bytes(image_bytes())
    real_is_file = Path.is_file

    def guarded(self):
        if self.name == "hidden.png":  # as stat() of /proc/1/cwd raises, even for root
            raise PermissionError(13, "Permission denied")
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", guarded)
    dataset = load_folder(tmp_path, size=8)
    assert len(dataset) == 1 and ("a/hidden.png", "cannot read (Permission denied)") in dataset.skipped
