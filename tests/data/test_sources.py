"""A dataset from a name or a path, as the command line takes it."""
import pytest
from PIL import Image

from ssl_core.data.sources import open_dataset


def test_a_built_in_name_opens_without_a_network():
    digits = open_dataset("digits")
    assert len(digits) == 1797 and digits.num_classes == 10


def test_a_folder_of_class_folders_opens_with_its_classes(tmp_path):
    for name, colour in (("cats", "red"), ("dogs", "blue")):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", (20, 20), colour).save(tmp_path / name / f"{i}.png")
    photos = open_dataset(str(tmp_path), size=16)
    assert photos.class_names == ("cats", "dogs") and len(photos) == 6


def test_neither_a_name_nor_a_folder_lists_the_names():
    with pytest.raises(ValueError, match="neither a dataset name .*mnist-10k.* nor a folder"):
        open_dataset("/no/such/place")
