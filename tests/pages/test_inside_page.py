"""See inside: maps, filters, activations and neighbours, before and after pretraining."""
import pytest

from tests.app_helpers import (INSIDE_VIEWS, answer_round, app, charts, image_captions, load_folder, markdown,
                               no_errors, start_training, values, wait_for_job)
from tests.conftest import image_bytes


def test_see_inside_maps_filters_activations_and_neighbours_before_and_after_pretraining():
    at = app()
    at.switch_page("pages/inside.py").run()
    assert any("First pretrain a backbone" in i.value for i in at.info)
    at = start_training(at)
    wait_for_job(at, "train_job")
    at.switch_page("pages/inside.py").run()
    no_errors(at)
    summary = [b.value for b in (*at.success, *at.info, *at.error)]
    assert any("k-NN accuracy in feature space (block 3, 1,000 held-out images)" in s and "95% interval" in s
               for s in summary), summary
    assert [m.label for m in at.metric] == ["k-NN accuracy, random weights", "k-NN accuracy, after pretraining"]
    why = next(c.value for c in at.caption if "not the Train page's *real task* chart" in c.value)
    assert "only the split's 20 labeled images vote" in why and "The Train page's last figure for this model: " in why
    assert any(c.value.startswith("**How to read this:**") for c in at.caption)
    maps = charts(at)
    assert len(maps) == 2 and all(len(fig["data"]) == 10 for fig in maps)  # one colour per digit class
    assert sum(values(trace["x"]).size for trace in maps[0]["data"]) == 1000
    at.radio(key="map_method").set_value("tsne").run()
    at.select_slider(key="map_limit").set_value(300).run()
    at.toggle(key="map_pictures").set_value(True).run()
    no_errors(at)
    assert [len(fig["layout"]["images"]) for fig in charts(at)] == [300, 300]
    assert "t-SNE of block 3" in charts(at)[0]["layout"]["title"]["text"]

    at.radio(key="inside_view").set_value(INSIDE_VIEWS[1]).run()
    no_errors(at)
    captions = image_captions(at)
    assert "random weights: 16 filters of 3×3" in captions and "after pretraining: 16 filters of 3×3" in captions
    assert sum(c.value.startswith("Block ") for c in at.caption) == 4
    assert len(at.get("image")) == 2 + 1 + 4 * 8  # filters before and after, the image, 8 maps per block
    assert at.number_input(key="activation_number").value > 0  # the clearest picture, not simply the first
    at.radio(key="activation_source").set_value("my photo").run()
    at.file_uploader(key="activation_upload").set_value([("notes.jpg", b"just text", "image/jpeg")]).run()
    no_errors(at)
    assert any("notes\\.jpg" in e.value for e in at.error)  # the name as text, never markup
    at.file_uploader(key="activation_upload").set_value([("digit.png", image_bytes(size=(40, 40)), "image/png")]).run()
    no_errors(at)
    assert sum(c.value.startswith("Block ") for c in at.caption) == 4

    at.radio(key="inside_view").set_value(INSIDE_VIEWS[2]).run()
    no_errors(at)
    text = markdown(at)
    assert "**random weights**: " in text and "**after pretraining**: " in text and " of 8 are of class " in text
    assert len(at.get("image")) == 1 + 2 * 8  # the image asked about, then 8 neighbours under each network
    assert any("A fixed random 5,000 of the 8,000 pretext training images searched" in c.value for c in at.caption)


@pytest.mark.parametrize("task", ["rotation", "jigsaw", "context", "colorization", "inpainting", "superres", "simclr"])
def test_every_task_plays_and_shows_inside_on_a_folder_of_colour_photos(task, tmp_path):
    from PIL import Image

    for name, colour in (("red", (200, 40, 40)), ("blue", (40, 40, 200))):
        (tmp_path / name).mkdir()
        for i in range(12):
            picture = Image.new("RGB", (32, 32), "white")
            picture.paste(colour, (4 + i % 6, 4 + i % 5, 20 + i % 9, 24))
            picture.save(tmp_path / name / f"{i}.png")
    at = load_folder(app(), tmp_path)
    at.switch_page("pages/pretext.py").run()
    at.radio(key="pretext_task").set_value(task).run()
    no_errors(at)
    assert any(m.value.startswith("**Question 1 of") for m in at.markdown)
    at = start_training(at, epochs=1)
    wait_for_job(at, "train_job")
    no_errors(at)
    at.switch_page("pages/pretext.py").run()
    answer_round(at)
    no_errors(at)
    assert any("the network: **" in m.value for m in at.markdown)
    at.switch_page("pages/inside.py").run()
    for view in INSIDE_VIEWS:
        at.radio(key="inside_view").set_value(view).run()
        no_errors(at)
    assert "**after pretraining**: " in markdown(at)


def test_see_inside_and_the_game_on_photos_without_labels_say_what_they_need(tmp_path):
    from PIL import Image

    for i in range(16):
        Image.new("RGB", (24, 24), (10 * i, 100, 200 - 10 * i)).save(tmp_path / f"{i}.png")
    at = load_folder(app(), tmp_path)
    at.switch_page("pages/pretext.py").run()
    no_errors(at)
    assert any(m.value.startswith("**Question 1 of 8.**") for m in at.markdown)  # the game needs no labels
    at = start_training(at, epochs=1)
    wait_for_job(at, "train_job")
    at.switch_page("pages/inside.py").run()
    no_errors(at)
    assert any("too few labeled held-out images" in i.value for i in at.info)
    for view in INSIDE_VIEWS[1:]:
        at.radio(key="inside_view").set_value(view).run()
        no_errors(at)
        assert any("no held-out images: upload a photo" in i.value for i in at.info)
    at.radio(key="neighbours_source").set_value("my photo").run()
    at.file_uploader(key="neighbours_upload").set_value([("a.png", image_bytes(size=(30, 30)), "image/png")]).run()
    no_errors(at)
    assert "**after pretraining**" in markdown(at) and " are of class " not in markdown(at)
