import pytest
import torch
from PIL import Image

from ssl_core.data.streaming import BROKEN, CachedImages, StreamedImages, build_cache, cache_folder, index_folder
from ssl_core.data.user_images import DatasetError


@pytest.fixture
def folder(tmp_path):
    for cls, colour in (("cats", (200, 30, 30)), ("dogs", (30, 30, 200)), ("unlabeled", (30, 200, 30))):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (40 + i, 30), colour).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")  # not an image type: not indexed
    (tmp_path / "cats" / "broken.jpg").write_bytes(b"a text file renamed .jpg")
    Image.new("L", (20, 20), 128).save(tmp_path / "loose.png")  # at the top: unlabeled
    return tmp_path


def test_the_index_takes_classes_from_folders_and_leaves_other_files_out(folder):
    index = index_folder(folder)
    assert index.class_names == ("cats", "dogs")
    assert len(index) == 3 + 1 + 3 + 3 + 1  # the broken .jpg is an image by name: it fails when decoded
    names = [str(p) for p in index.files]
    assert "dogs/notes.txt" not in names
    assert index.labels[names.index("loose.png")] == -1 and index.labels[names.index("unlabeled/0.png")] == -1
    assert index.labels[names.index("dogs/2.png")] == 1
    (folder / "empty").mkdir()
    with pytest.raises(DatasetError, match="no image files"):
        index_folder(folder / "empty")


def test_a_folder_wrapping_the_class_folders_is_looked_through_as_the_in_memory_loader_does(folder, tmp_path_factory):
    from ssl_core.data.user_images import load_folder

    outer = tmp_path_factory.mktemp("outer")
    (folder / "loose.png").unlink()  # everything in class folders
    folder.rename(outer / "photos")  # outer/photos/cats/..., as unzipping a zip of a folder leaves it
    index = index_folder(outer)
    in_memory = load_folder(outer)
    assert index.class_names == in_memory.class_names == ("cats", "dogs")
    assert index.root == outer / "photos" and (index.root / index.files[0]).is_file()
    decoded = [i for i, name in enumerate(index.files) if name.name != "broken.jpg"]  # load_folder skips it
    assert index.labels[decoded].tolist() == in_memory.labels.tolist()


def test_streamed_items_are_square_rgb_at_the_size_and_a_broken_file_is_marked(folder):
    index = index_folder(folder)
    data = StreamedImages(index, 16)
    names = [str(p) for p in index.files]
    image, label = data[names.index("cats/1.png")]
    assert image.shape == (3, 16, 16) and image.dtype == torch.uint8 and label == 0
    assert image[0].float().mean() > 150 and image[2].float().mean() < 60  # red stays red
    image, label = data[names.index("cats/broken.jpg")]
    assert label == BROKEN and not image.any()
    grey, _ = data[names.index("loose.png")]
    assert grey.shape == (3, 16, 16)


def test_the_cache_holds_the_same_pixels_and_an_unfinished_one_is_never_read(folder, tmp_path_factory):
    index = index_folder(folder)
    streamed = StreamedImages(index, 12)
    target = cache_folder(tmp_path_factory.mktemp("cache"), index, 12)
    assert target == cache_folder(target.parent, index, 12)  # the same folder and size: the same cache
    with pytest.raises(FileNotFoundError):
        CachedImages(target)  # nothing built yet
    build_cache(streamed, target, batch_size=4)
    cached = CachedImages(target)
    assert len(cached) == len(streamed)
    for i in range(len(streamed)):
        a, la = streamed[i]
        b, lb = cached[i]
        assert torch.equal(a, b) and la == lb
    (target / "images.u8").write_bytes(b"")  # a later build finds the finished cache and leaves it alone
    assert build_cache(streamed, target) == target
