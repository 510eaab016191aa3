"""Page 1, Data: built-in, downloads, zips, folders, the builder, capacity."""
import time

import pytest

from tests.app_helpers import (INSIDE_VIEWS, add_class, app, button, charts, colour_photos, job_of, markdown, no_errors,
                               pets_zip, run_comparison, start_training, upload_zip, wait_for_job)
from tests.conftest import image_bytes, make_zip


def test_a_dataset_built_from_dropped_photos_and_the_camera_trains_exports_and_reloads_elsewhere():
    from ssl_core.engine.model_file import to_bytes

    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    assert any("Start with a class" in i.value for i in at.info)
    add_class(at, "red things")
    add_class(at, "blue things")
    assert any("the classes red things, blue things have no photos yet" in i.value for i in at.info)
    add_class(at, "red things")  # twice: refused with its reason
    assert any("already a class 'red things'" in e.value for e in at.error)
    at.file_uploader(key="drop:red things:0").set_value(colour_photos("r", (180, 20, 20), 10)).run()
    at.file_uploader(key="drop:blue things:1").set_value(
        colour_photos("b", (20, 20, 180), 9) + [("notes.png", b"not a photo", "image/png")]).run()
    no_errors(at)
    assert any("9 photos added to blue things" in s.value for s in at.success)
    assert any(row == "notes.png" for row in at.dataframe[0].value["file"])  # skipped, with its reason
    at.toggle(key="builder_camera").set_value(True).run()
    shot = image_bytes(size=(64, 48), fmt="JPEG", color=(30, 30, 200))
    at.camera_input[0].set_value(("shot.jpg", shot, "image/jpeg")).run()
    at.selectbox(key="camera_into").set_value("blue things").run()
    at.button(key="camera_add").click().run()
    at.file_uploader(key="drop:None:3").set_value(colour_photos("u", (120, 120, 120), 4)).run()
    no_errors(at)
    page = markdown(at)
    assert "**red things** · 10 photos" in page and "**blue things** · 10 photos" in page
    assert "**unlabeled (pretext only)** · 4 photos" in page and "**24 photos**" in page
    at.switch_page("pages/train.py").run()  # switching pages keeps the work
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    assert "**24 photos**" in markdown(at)
    at.button(key="builder_use").click().run()
    no_errors(at)
    assert at.session_state.settings.dataset.startswith("built:")
    assert any("Current dataset: my photos" in h.value for h in at.subheader)

    at = start_training(at, epochs=2)
    wait_for_job(at, "train_job")
    run_comparison(at)
    no_errors(at)
    assert [d.proto.ignore_rerun for d in at.get("download_button")] == [True]  # see the Downstream page's test
    photo = [("new.png", image_bytes(size=(50, 50), color=(200, 30, 30)), "image/png")]
    at.file_uploader(key="photo_upload").set_value(photo).run()
    before = {t["name"]: t["y"] for fig in charts(at) if fig["data"] and fig["data"][0]["type"] == "bar"
              for t in fig["data"]}
    comparison = job_of(at, "downstream_job").snapshot().result
    from pages.ui.state import server

    space = at.session_state.workspace
    dataset = server().dataset(space, at.session_state.settings.dataset)
    data = to_bytes(comparison.pretrained, comparison, dataset)  # what Download the models hands over
    photos_zip = space.builder.to_zip()  # what Download as a zip hands over

    fresh = app()
    fresh.switch_page("pages/downstream.py").run()
    fresh.file_uploader(key="model_file_upload").set_value([("models.pt", data, "application/octet-stream")]).run()
    fresh.file_uploader(key="file_photo_upload").set_value(photo).run()
    no_errors(fresh)
    after = {t["name"]: t["y"] for fig in charts(fresh) if fig["data"] and fig["data"][0]["type"] == "bar"
             for t in fig["data"]}
    assert len(before) == 3 and set(before) == set(after)
    for name, probabilities in before.items():
        assert after[name] == pytest.approx(probabilities, abs=1e-5), name
    fresh = upload_zip(fresh, photos_zip, name="my photos.zip")  # and the photos come back as the same classes
    assert fresh.session_state.settings.dataset.startswith("upload:")
    assert any("2 classes, 4 without label" in c.value for c in fresh.caption)


def test_data_page_shows_the_offline_default_and_its_split():
    at = app()
    at.switch_page("pages/data.py").run()
    no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Unlabeled pool (pretext)": "8,000", "Labeled (downstream)": "20", "Held-out test": "2,000"}
    at.number_input[0].set_value(5).run()
    assert {m.label: m.value for m in at.metric}["Labeled (downstream)"] == "50"
    assert charts(at)  # class counts


def test_zip_upload_becomes_the_dataset_and_lists_skipped_files():
    png = image_bytes(size=(32, 32))
    data = make_zip({**{f"pets/cats/{i}.png": png for i in range(4)}, **{f"pets/dogs/{i}.png": png for i in range(4)},
                   "pets/dogs/broken.jpg": b"text renamed"})
    at = upload_zip(app(), data)
    no_errors(at)
    assert at.session_state.settings.dataset.startswith("upload:")
    assert any("pets" in h.value for h in at.subheader)
    assert any("1 files skipped" in e.label for e in at.expander)


def test_bad_zip_keeps_the_previous_dataset():
    at = upload_zip(app(), make_zip({"notes.txt": b"no images here"}))
    no_errors(at)
    assert any("no readable images" in e.value for e in at.error)
    assert at.session_state.settings.dataset == "builtin:mnist-10k"


def test_download_without_network_says_so_and_keeps_the_dataset(monkeypatch, tmp_path):
    import socket

    from ssl_core.data import datasets

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = datasets.DOWNLOADABLE["mnist"]()
    dead = tuple((f"http://127.0.0.1:{port}/{name}", name, md5) for _, name, md5 in spec.files)
    monkeypatch.setitem(datasets.DOWNLOADABLE, "mnist", lambda: datasets.Downloadable(
        spec.title, spec.subdir, dead, spec.megabytes, spec.read))
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Download (torchvision)").run()
    started = time.monotonic()
    button(at, "Download and use").click().run()
    assert time.monotonic() - started < 15
    no_errors(at)
    message = " ".join(e.value for e in at.error)
    assert "No network" in message and str(tmp_path / "MNIST" / "raw") in message
    assert at.session_state.settings.dataset == "builtin:mnist-10k"


def test_flowers_folder_journey():
    from tests.conftest import shared

    flowers = shared("flowers")
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    at.text_input(key="folder_path").set_value(str(flowers)).run()
    button(at, "Load the folder").click().run()
    no_errors(at)
    assert at.session_state.settings.dataset == f"folder:{flowers}"
    assert {m.label: m.value for m in at.metric}["Labeled (downstream)"] == "50"  # the recipe's 10 per class
    assert at.session_state.recipe.pretext.image_size >= 32
    at.switch_page("pages/pretext.py").run()
    no_errors(at)
    assert len(at.get("image")) == 24 + 1  # the gallery, the guessing game's question
    at = start_training(at, epochs=1)
    wait_for_job(at, "train_job")
    no_errors(at)
    assert at.session_state.settings.pretext.image_size == 8  # the test's; the recommendation was 32
    run_comparison(at)
    no_errors(at)
    photo = next((flowers / "tulip").iterdir())
    at.file_uploader(key="photo_upload").set_value([(photo.name, photo.read_bytes(), "image/jpeg")]).run()
    no_errors(at)
    bars = [fig for fig in charts(at) if fig["data"] and fig["data"][0]["type"] == "bar"]
    assert bars and bars[0]["data"][0]["x"] == ["daisy", "dandelion", "rose", "sunflower", "tulip"]
    at.switch_page("pages/inside.py").run()
    no_errors(at)
    maps = charts(at)
    assert [trace["name"] for trace in maps[0]["data"]] == ["daisy", "dandelion", "rose", "sunflower", "tulip"]
    assert any("k-NN accuracy in feature space" in b.value for b in (*at.success, *at.info, *at.error))
    at.radio(key="inside_view").set_value(INSIDE_VIEWS[2]).run()
    no_errors(at)
    assert "**after pretraining**: " in markdown(at)  # a held-out flower's neighbours among the training photos


def test_a_full_server_refuses_a_dataset_with_a_message_and_keeps_the_current_one():
    from pages.ui.state import server
    from ssl_core.app.deployment import Limits

    at = app()
    server().limits = Limits(total_mb=0)
    at = upload_zip(at, pets_zip())
    no_errors(at)
    assert any("as many visitors' images as it can" in e.value for e in at.error)
    assert at.session_state.settings.dataset == "builtin:mnist-10k"


def test_the_data_page_remembers_its_source_across_pages():
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    at.switch_page("pages/train.py").run()
    at.switch_page("pages/data.py").run()
    assert at.radio(key="data_source").value == "Your images"
    at.switch_page("app.py").run()
    at.session_state.data_source_kept = "Built-in (offline)"
    at.button(key="home_photos").click().run()
    no_errors(at)
    assert at.session_state.data_source_kept == "Your images"


def test_a_zip_made_on_macos_loads_with_the_right_classes():
    png = image_bytes(size=(32, 32))
    data = make_zip({"Holiday/": b"", "Holiday/beach/1.png": png, "Holiday/beach/2.png": png,
                     "Holiday/city/1.png": png, "Holiday/.DS_Store": b"\0\0\0\1Bud1",
                     "__MACOSX/Holiday/beach/._1.png": b"\0\5\26\7 resource fork",
                     "__MACOSX/Holiday/._.DS_Store": b"junk"})
    at = upload_zip(app(), data, name="Holiday.zip")
    no_errors(at)
    assert at.session_state.settings.dataset.startswith("upload:")
    assert any("3 images, 2 classes, 0 without label" in c.value for c in at.caption)
    assert not [e for e in at.expander if "skipped" in e.label]  # the junk is not even listed


def test_class_names_from_a_folder_are_captions_as_typed_never_markup(tmp_path):
    from pages.ui.text import escape
    from tests.app_helpers import image_captions, load_folder

    for name in ("**bold**", "[a](http_x.com)"):
        (tmp_path / name).mkdir()
        for i in range(3):
            (tmp_path / name / f"{i}.png").write_bytes(image_bytes(size=(32, 32)))
    at = load_folder(app(), tmp_path)
    no_errors(at)
    captions = image_captions(at)
    assert captions == [escape("**bold**"), escape("[a](http_x.com)")]  # escaped: shown as typed, not as markup
    assert captions[0] == r"\*\*bold\*\*"
