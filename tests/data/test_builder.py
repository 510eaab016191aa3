import pytest
import torch
from tests.conftest import image_bytes

from ssl_core.data.builder import BuilderError, DatasetBuilder
from ssl_core.data.datasets import UNLABELED
from ssl_core.data.user_images import STORE_SIZE, load_zip


def photo(color) -> bytes:
    return image_bytes(size=(40, 30), color=color)


def two_classes() -> DatasetBuilder:
    builder = DatasetBuilder("pets")
    builder.add_class("dogs")
    builder.add_class("cats")
    builder.add_photos("dogs", [("d1.png", photo("red")), ("d2.png", photo("orange"))])
    builder.add_photos("cats", [("c1.png", photo("blue"))])
    builder.add_photos(None, [("u.png", photo("green"))])
    return builder


def test_photos_become_a_dataset_with_sorted_classes_and_an_unlabeled_bucket():
    dataset = two_classes().to_dataset()
    assert dataset.class_names == ("cats", "dogs")
    assert dataset.labels.tolist() == [0, 1, 1, UNLABELED]
    assert dataset.images.shape == (4, 3, STORE_SIZE, STORE_SIZE)
    assert dataset.images[0, 2].float().mean() > 200  # the blue cat comes first


def test_adding_keeps_what_was_there_and_skips_duplicates_and_broken_files_with_reasons():
    builder = two_classes()
    result = builder.add_photos("dogs", [("d1 again.png", photo("red")), ("notes.txt", b"hello"),
                                         ("d3.png", photo("purple"))])
    assert result.added == 1
    assert dict(result.skipped) == {"d1 again.png": "already in dogs", "notes.txt": "not an image (unrecognised format)"}
    assert builder.counts() == {"dogs": 3, "cats": 1}
    assert builder.add_photos("cats", [("d1.png", photo("red"))]).added == 1  # another class may hold it


def test_class_names_are_checked():
    builder = two_classes()
    for bad, says in [("", "needs a name"), ("Dogs", "already"), ("a/b", "folder name"), (".hidden", "folder name"),
                      ("unlabeled", "bucket"), ("x" * 41, "at most")]:
        with pytest.raises(BuilderError, match=says):
            builder.add_class(bad)
    assert builder.add_class("  big   birds ") == "big birds"


def test_rename_and_remove_keep_the_order_and_the_photos():
    builder = two_classes()
    assert builder.rename_class("dogs", "Dogs") == "Dogs"  # a change of case is not a clash with itself
    builder.rename_class("cats", "kittens")
    assert builder.counts() == {"Dogs": 2, "kittens": 1}
    with pytest.raises(BuilderError, match="already"):
        builder.rename_class("kittens", "dogs")
    builder.remove_class("Dogs")
    assert builder.counts() == {"kittens": 1}
    with pytest.raises(BuilderError, match="no class"):
        builder.add_photos("Dogs", [("d.png", photo("red"))])


def test_an_empty_class_or_no_photos_is_not_a_dataset_yet():
    builder = DatasetBuilder()
    assert builder.problem() == "add photos first"
    builder.add_class("a")
    builder.add_class("b")
    builder.add_photos("a", [("a.png", photo("red"))])
    with pytest.raises(BuilderError, match="b has no photos"):
        builder.to_dataset()


def test_the_cap_on_photos_skips_the_rest():
    builder = DatasetBuilder(max_photos=2)
    builder.add_class("a")
    result = builder.add_photos("a", [(f"{c}.png", photo(c)) for c in ("red", "green", "blue")])
    assert result.added == 2 and "most photos" in result.skipped[0][1]


def test_the_zip_reloads_as_the_same_dataset():
    builder = two_classes()
    builder.name = "my pets / 2026"  # not a folder name: the zip uses a safe one
    built, reloaded = builder.to_dataset(), load_zip(builder.to_zip())
    assert reloaded.class_names == built.class_names
    assert reloaded.labels.sort().values.tolist() == built.labels.sort().values.tolist()
    for label in (0, 1, UNLABELED):
        a = built.images[built.labels == label].flatten(1).sort(0).values
        b = reloaded.images[reloaded.labels == label].flatten(1).sort(0).values
        assert torch.equal(a, b)  # lossless PNGs at the stored size


def test_the_digest_follows_the_content():
    a, b = two_classes(), two_classes()
    assert a.digest() == b.digest()
    b.rename_class("cats", "kittens")
    assert a.digest() != b.digest()
    a.remove_photo("dogs", 0)
    assert a.counts()["dogs"] == 1 and a.digest() != two_classes().digest()
