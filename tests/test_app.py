"""Streamlit AppTest runs of every page, uploads included."""
import base64
import json
import time

import numpy as np
import pytest
import torch
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, image_bytes
from tests.test_user_images import make_zip

TIMEOUT = 120
INSIDE_VIEWS = ("🗺️ Embedding map", "🔍 Filters & activations", "👯 Nearest neighbours")  # the See inside page's


@pytest.fixture(autouse=True)
def fresh_caches():
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()


def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    return at.run()


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def button(at: AppTest, label: str):
    matches = [b for b in at.button if label in b.label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    return matches[0]


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def job_of(at: AppTest, key: str):
    """The session's job `key`, as its pages see it."""
    from pages.common import server

    return server().job(at.session_state.workspace, key)


def wait_for_job(at: AppTest, key: str, timeout: float = 120) -> None:
    job = job_of(at, key)
    assert job is not None
    assert job.join(timeout), "job did not finish"
    at.run()


def test_home_page_explains_and_links_the_steps():
    at = app()
    no_errors(at)
    assert "pretext task" in markdown(at)
    assert len(at.get("image")) == 4 + 6 * 2  # one photo: four rotations, a pair for each other task
    assert "Dataset:** mnist-10k (10,000 images)" in markdown(at)


def test_data_page_shows_the_offline_default_and_its_split():
    at = app()
    at.switch_page("pages/data.py").run()
    no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Unlabeled pool (pretext)": "8,000", "Labeled (downstream)": "20", "Held-out test": "2,000"}
    at.number_input[0].set_value(5).run()
    assert {m.label: m.value for m in at.metric}["Labeled (downstream)"] == "50"
    assert charts(at)  # class counts


def test_choosing_a_dataset_fills_in_its_recommended_settings_and_the_button_restores_them():
    at = app()
    assert at.session_state.train_settings["image_size"] == 28  # MNIST digits at their own size
    at.switch_page("pages/data.py").run()
    at.radio(key="builtin_choice").set_value("digits").run()
    button(at, "Use this dataset").click().run()
    no_errors(at)
    assert at.session_state.dataset_id == "builtin:digits"
    assert at.session_state.train_settings["image_size"] == 16
    assert {m.label: m.value for m in at.metric}["Labeled (downstream)"] == "20"
    at.switch_page("pages/train.py").run()
    recommended = dict(at.session_state.train_settings)
    assert at.select_slider(key="train_settings.image_size").value == 16
    at.number_input(key="train_settings.epochs").set_value(3).run()
    at.select_slider(key="train_settings.image_size").set_value(32).run()
    assert at.session_state.train_settings["epochs"] == 3
    assert any("Predicted on this" in c.value for c in at.caption)
    button(at, "Recommended").click().run()
    no_errors(at)
    assert at.session_state.train_settings == recommended
    assert at.number_input(key="train_settings.epochs").value == recommended["epochs"]


def upload_zip(at: AppTest, data: bytes, name: str = "pets.zip") -> AppTest:
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    at.file_uploader(key="zip_upload").set_value([(name, data, "application/zip")]).run()
    button(at, "Load the archive").click().run()
    return at


def test_zip_upload_becomes_the_dataset_and_lists_skipped_files():
    png = image_bytes(size=(32, 32))
    data = make_zip({**{f"pets/cats/{i}.png": png for i in range(4)}, **{f"pets/dogs/{i}.png": png for i in range(4)},
                   "pets/dogs/broken.jpg": b"text renamed"})
    at = upload_zip(app(), data)
    no_errors(at)
    assert at.session_state.dataset_id.startswith("upload:")
    assert any("pets" in h.value for h in at.subheader)
    assert any("1 files skipped" in e.label for e in at.expander)


def test_bad_zip_keeps_the_previous_dataset():
    at = upload_zip(app(), make_zip({"notes.txt": b"no images here"}))
    no_errors(at)
    assert any("no readable images" in e.value for e in at.error)
    assert at.session_state.dataset_id == "builtin:mnist-10k"


def test_one_class_zip_explains_the_downstream_needs_two():
    png = image_bytes(size=(32, 32))
    at = upload_zip(app(), make_zip({f"only/{i}.png": png for i in range(6)}))
    no_errors(at)
    assert any("fewer than two labeled classes" in i.value for i in at.info)


def test_download_without_network_says_so_and_keeps_the_dataset(monkeypatch, tmp_path):
    import socket

    from ssl_core import datasets

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
    assert at.session_state.dataset_id == "builtin:mnist-10k"


def test_pretext_gallery_for_rotation_and_jigsaw():
    at = app()
    at.switch_page("pages/pretext.py").run()
    no_errors(at)
    assert len(at.get("image")) == 6 * 4 + 1  # the gallery, then the guessing game's question
    at.multiselect[0].set_value([90, 180]).run()
    assert len(at.get("image")) == 6 * 2 + 1
    assert at.session_state.pretext["settings"]["rotation"].angles == (90, 180)
    at.radio[0].set_value("jigsaw").run()
    no_errors(at)
    assert any("minimum Hamming distance" in c.value for c in at.caption)
    assert len(at.get("image")) == 6 * 2 + 1 + 4  # the question: shuffled tiles, and four ways to put them back
    at.radio[1].set_value(3).run()
    no_errors(at)
    assert at.session_state.pretext["settings"]["jigsaw"].grid == 3
    at.radio[0].set_value("rotation").run()
    at.switch_page("pages/train.py").run()
    at.switch_page("pages/pretext.py").run()
    at.radio[0].set_value("jigsaw").run()
    assert at.session_state.pretext["settings"]["jigsaw"].grid == 3, "a task's settings survive switching away"
    assert at.session_state.pretext["settings"]["rotation"].angles == (90, 180)
    assert any(c.value.startswith("jigsaw 3×3: which of 24 permutations") for c in at.caption)


def start_training(at: AppTest, epochs: int = 2, size: int = 8) -> AppTest:
    """Small images keep the tests quick; the recommended sizes are checked by the benchmarks."""
    at.switch_page("pages/train.py").run()
    at.number_input(key="train_settings.epochs").set_value(epochs).run()
    at.select_slider(key="train_settings.image_size").set_value(size).run()
    button(at, "Start training").click().run()
    return at


def run_comparison(at: AppTest, epochs: int = 2) -> AppTest:
    """SSL against scratch on the Downstream page, quickly, to the end."""
    at.switch_page("pages/downstream.py").run()
    at.number_input(key="downstream_settings.epochs").set_value(epochs).run()
    button(at, "Compare SSL").click().run()
    wait_for_job(at, "downstream_job")
    return at


def test_training_runs_in_the_background_and_shows_results():
    at = start_training(app())
    no_errors(at)
    assert job_of(at, "train_job") is not None
    assert set(at.query_params) == {"session"}  # the URL carries the session's token, never a job id
    wait_for_job(at, "train_job")
    no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Held-out pretext accuracy"].rstrip("%")) > 25
    assert metrics["Chance level"] == "25.0%"
    figures = charts(at)
    assert any(trace["y"] for fig in figures for trace in fig["data"])  # curves have points


def test_second_start_while_running_is_refused_and_stop_keeps_the_model():
    at = start_training(app(), epochs=200)
    assert button(at, "Start training").disabled
    job = job_of(at, "train_job")
    time.sleep(1.0)
    at.run()
    button(at, "Stop").click().run()
    assert job.join(5)
    at.run()
    no_errors(at)
    assert job.snapshot().status == "stopped"
    assert any("Stopped early" in i.value for i in at.info)


def test_downstream_needs_a_pretrained_model_first():
    at = app()
    at.switch_page("pages/downstream.py").run()
    no_errors(at)
    assert any("First pretrain" in i.value for i in at.info)


def test_downstream_comparison_and_photo_upload():
    at = start_training(app())
    wait_for_job(at, "train_job")
    at.switch_page("pages/downstream.py").run()
    at.number_input(key="downstream_settings.epochs").set_value(3).run()
    at.number_input(key="downstream_settings.seeds").set_value(2).run()
    button(at, "Compare SSL").click().run()
    wait_for_job(at, "downstream_job")
    no_errors(at)
    labels = [m.label for m in at.metric]
    assert labels == ["SSL linear probe", "SSL fine-tuned", "from scratch"]
    assert all(" ± " in m.value for m in at.metric)  # mean ± std over the 2 seeds
    assert all("points vs scratch [" in m.delta for m in at.metric[:2])  # the interval beside the numbers
    verdicts = [box.value for box in (*at.success, *at.error, *at.info, *at.warning)]
    assert sum("With 20 labels, SSL" in v and "2,000 test images, mean of 2 seeds" in v for v in verdicts) == 2
    assert "from scratch" in markdown(at)  # the headline
    truncated = image_bytes(fmt="JPEG", size=(64, 64))
    at.file_uploader(key="photo_upload").set_value([
        ("digit.png", image_bytes(size=(40, 40)), "image/png"),
        ("broken.jpg", truncated[: len(truncated) // 2], "image/jpeg"),
        ("notes.jpg", b"just some text", "image/jpeg"),
    ]).run()
    no_errors(at)
    errors = " ".join(e.value for e in at.error)
    assert "broken\\.jpg" in errors and "notes\\.jpg" in errors  # file names shown as text, never as markup
    assert any("This model only knows handwritten digits (0-9)" in w.value for w in at.warning)  # a colour photo
    bars = [fig for fig in charts(at) if fig["data"] and fig["data"][0]["type"] == "bar"]
    names = [t["name"] for t in bars[0]["data"]]
    assert len(bars) == 1 and set(names) == {"SSL linear probe", "SSL fine-tuned", "from scratch"}  # every model
    assert names[-1] == "from scratch"  # the headline model first, the baseline last
    assert any("answers **" in m.value and "calibrated on the test images" in m.value for m in at.markdown)
    assert any("rotated by" in c.value for c in at.caption)
    assert not any("earlier pretext model" in i.value for i in at.info)
    start_training(at, epochs=1)
    wait_for_job(at, "train_job")
    at.switch_page("pages/downstream.py").run()
    assert any("These results come from an earlier pretext model" in i.value for i in at.info)


def reopen(token: str) -> AppTest:
    """A reload (or another visitor) opening the app with `token` in the URL."""
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    other.query_params["session"] = token
    return other.run()


def test_reload_reattaches_to_the_running_job():
    at = start_training(app(), epochs=200)
    job = job_of(at, "train_job")
    reloaded = reopen(at.session_state.workspace.token)
    reloaded.switch_page("pages/train.py").run()
    no_errors(reloaded)
    assert job_of(reloaded, "train_job") is job
    button(reloaded, "Stop").click().run()
    assert job.join(5)


def test_a_reload_keeps_every_setting_and_the_trained_model_beside_them():
    """Issue 21: a reload used to put the task back to rotation beside a model trained on another task."""
    at = app()
    at.switch_page("pages/pretext.py").run()
    at.radio[0].set_value("jigsaw").run()
    at.radio[1].set_value(3).run()
    start_training(at, epochs=1)
    at.number_input(key="train_settings.seed").set_value(7).run()
    wait_for_job(at, "train_job")
    at.switch_page("app.py").run()  # AppTest runs a switched-to page file alone; app.py (which keeps them) runs here
    reloaded = reopen(at.session_state.workspace.token)
    no_errors(reloaded)
    assert reloaded.session_state.pretext["task"] == "jigsaw"
    assert reloaded.session_state.pretext["settings"]["jigsaw"].grid == 3
    assert reloaded.session_state.train_settings["image_size"] == 8
    assert reloaded.session_state.train_settings["seed"] == 7
    reloaded.switch_page("pages/train.py").run()
    no_errors(reloaded)
    assert reloaded.number_input(key="train_settings.epochs").value == 1
    assert "Jigsaw" in reloaded.caption[0].value and job_of(reloaded, "train_job").snapshot().result is not None


def test_the_label_budget_page_takes_as_many_epochs_as_the_train_page_allows():
    """400 pretext epochs on the Train page crashed page 5, whose box stopped at 200 (found by the restart test)."""
    at = app()
    at.switch_page("pages/train.py").run()
    at.number_input(key="train_settings.epochs").set_value(400).run()
    at.switch_page("pages/experiments.py").run()
    no_errors(at)
    assert 400 in [n.value for n in at.number_input]


def test_after_a_restart_a_trained_model_is_kept_and_used_without_training_again():
    at = start_training(app(), epochs=1)
    wait_for_job(at, "train_job")
    st.cache_resource.clear()  # the server restarts: every visitor's workspace now comes from the disk
    back = reopen(at.session_state.workspace.token)
    no_errors(back)
    assert any("your pretext model is kept" in i.value for i in back.info)
    back.switch_page("pages/train.py").run()
    assert any("Your pretext model from before the server restarted is kept (rotation, 1 epoch trained)" in i.value
               for i in back.info)
    button(back, "Use the kept model").click().run()
    wait_for_job(back, "train_job")
    no_errors(back)
    assert job_of(back, "train_job").snapshot().result.evaluation is not None
    assert any("Held-out pretext" in m.label for m in back.metric)


def test_after_a_restart_the_comparisons_models_are_open_on_page_4():
    at = start_training(app(), epochs=1)
    wait_for_job(at, "train_job")
    run_comparison(at, epochs=1)
    st.cache_resource.clear()  # the server restarts
    back = reopen(at.session_state.workspace.token)
    no_errors(back)
    assert any("your latest comparison's models are open at the top of the **Downstream** page" in i.value
               for i in back.info)
    back.switch_page("pages/downstream.py").run()
    no_errors(back)
    assert any("Models trained on **mnist-10k** (10 classes, 8 px" in s.value and "from scratch" in s.value
               for s in back.success)
    back.file_uploader(key="file_photo_upload").set_value([("digit.png", image_bytes(size=(40, 40)),
                                                              "image/png")]).run()
    no_errors(back)
    assert any("(the headline model) answers" in m.value for m in back.markdown)


def test_after_a_restart_a_training_that_was_waiting_in_line_is_back_in_line():
    """The store wrote the training down when it was started, waiting for a slot; the server then stopped."""
    from pages.common import server
    from ssl_core.pretrain import PretrainConfig
    from ssl_core.splits import SplitConfig

    at = app()
    token = at.session_state.workspace.token
    server().store.put_checkpoint(token, "builtin:mnist-10k", 0, PretrainConfig(task="jigsaw", image_size=16,
                                                                                epochs=1), None, SplitConfig())
    st.cache_resource.clear()
    back = reopen(token)
    no_errors(back)
    assert any("your pretext training that was waiting in line is back in line" in i.value for i in back.info)
    job = job_of(back, "train_job")
    assert job is not None and "jigsaw on mnist-10k, back in line after a restart" == job.title
    wait_for_job(back, "train_job")
    back.switch_page("pages/train.py").run()
    no_errors(back)
    assert any("Held-out pretext" in m.label for m in back.metric)


def test_after_a_restart_the_photos_being_built_are_back():
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    add_class(at, "red things")
    at.file_uploader(key="drop:red things:0").set_value(colour_photos("r", (180, 20, 20), 3)).run()
    add_class(at, "blue things")  # a change with no rerun after it: kept as the run ends
    st.cache_resource.clear()
    back = reopen(at.session_state.workspace.token)
    no_errors(back)
    assert any("the 3 photos you were putting together are on the **Data** page" in i.value for i in back.info)
    back.switch_page("pages/data.py").run()
    back.radio(key="data_source").set_value("Your images").run()
    page = markdown(back)
    assert "**red things** · 3 photos" in page and "**blue things** · 0 photos" in page


def test_after_switching_datasets_the_old_training_says_where_it_ran():
    at = start_training(app(), epochs=1)
    wait_for_job(at, "train_job")
    at.switch_page("pages/data.py").run()
    at.radio(key="builtin_choice").set_value("digits").run()
    button(at, "Use this dataset").click().run()
    at.switch_page("pages/train.py").run()
    no_errors(at)
    assert any("ran on **mnist-10k**, not on the current dataset **digits**" in i.value for i in at.info)
    at.switch_page("app.py").run()  # AppTest draws the sidebar (app.py) on the main page only
    assert any("on mnist-10k: not the current dataset" in m.value for m in at.sidebar.markdown)
    at.switch_page("pages/downstream.py").run()
    no_errors(at)
    assert any("trained on 'mnist-10k', but the current dataset is 'digits'" in b.value
               for kind in (at.info, at.warning) for b in kind)


def test_a_link_with_a_job_id_or_a_made_up_token_shows_nothing_of_another_session():
    at = start_training(app(), epochs=200)
    job = job_of(at, "train_job")
    for params in ({"train": job.id}, {"session": "A" * 32}, {"session": job.id}):
        other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
        for name, value in params.items():
            other.query_params[name] = value
        other.run().switch_page("pages/train.py").run()
        no_errors(other)
        assert job_of(other, "train_job") is None and other.session_state.workspace.token != at.session_state.workspace.token
        assert any("No training yet" in i.value for i in other.info)
        assert "train" not in other.query_params
    job.stop()
    assert job.join(5)


def test_talk_preset_runs_pretext_then_comparison():
    at = app()
    at.switch_page("pages/train.py").run()
    button(at, "Talk preset").click().run()
    no_errors(at)
    assert job_of(at, "train_job") and job_of(at, "downstream_job")
    wait_for_job(at, "train_job", timeout=300)
    wait_for_job(at, "downstream_job", timeout=300)
    no_errors(at)
    page = markdown(at)
    assert "SSL linear probe" in page and "from scratch" in page and "font-size:5rem" in page  # the two numbers
    assert "With 10 labels, SSL linear probe" in page and "95% interval" in page  # one sentence with the interval
    at.switch_page("pages/downstream.py").run()
    no_errors(at)
    assert [m.label for m in at.metric] == ["SSL linear probe", "from scratch"]


def test_training_jointly_is_its_own_row_curve_and_verdict_and_only_offered_where_it_works():
    at = start_training(app())
    wait_for_job(at, "train_job")
    at.switch_page("pages/downstream.py").run()
    at.selectbox(key="downstream_settings.transfer").set_value("all").run()
    at.number_input(key="downstream_settings.epochs").set_value(2).run()
    button(at, "Compare SSL").click().run()
    wait_for_job(at, "downstream_job")
    no_errors(at)
    assert [m.label for m in at.metric] == ["SSL linear probe", "SSL fine-tuned", "SSL trained jointly", "from scratch"]
    boxes = [b.value for kind in (at.success, at.error, at.warning, at.info) for b in kind]
    assert sum("SSL trained jointly" in b and "95% interval" in b for b in boxes) == 1  # its own verdict
    curves = {t["name"] for fig in charts(at) for t in fig["data"] if t.get("name")}
    assert {"SSL linear probe", "SSL fine-tuned", "SSL trained jointly", "from scratch"} <= curves  # one line each
    progress = next(fig for fig in charts(at) if fig["layout"]["xaxis"]["title"]["text"] == "share of its training done")
    assert all(max(values(t["x"])) == pytest.approx(100) for t in progress["data"] if t.get("name"))
    assert any("2 epochs asked for become" in c.value for c in at.caption)  # 20 labels: one-step epochs, stretched
    at.switch_page("pages/pretext.py").run()
    at.radio[0].set_value("jigsaw").run()
    at = start_training(at, epochs=1, size=16)
    wait_for_job(at, "train_job")
    at.switch_page("pages/downstream.py").run()
    no_errors(at)
    transfer = at.selectbox(key="downstream_settings.transfer")
    assert transfer.value == "both" and "train jointly (labels + pretext)" not in transfer.options  # jigsaw: pieces
    assert "whole images" in transfer.help


def outcomes(n: int, right: range | list[int]):
    import torch

    correct = torch.zeros(n, dtype=torch.bool)
    correct[list(right)] = True
    return correct


# (name, n_test, chance, commonest class, SSL images right, scratch images right, labels per class)
STORIES = [
    ("significant but guessing", 361, 0.55, "dogs", range(203), range(178), 10),  # issue 20's cats and dogs
    ("20 test images", 20, 0.5, None, range(14), [*range(7), *range(14, 20)], 50),
    ("clear win", 2000, 0.1, None, range(1600), range(1200), 2),
    ("tie", 2000, 0.1, None, range(1600), range(10, 1610), 2),
    ("neither learned", 2000, 0.1135, None, range(200), range(10, 210), 2),
]


def test_markup_in_a_class_name_is_shown_as_text():
    """A class called like a phishing link: every place its name reaches on the Downstream page shows the
    text, escaped, never a link, an image or HTML."""
    story = ("significant but guessing", 361, 0.55, "**[Session expired](evil.example/login)** <img src=x>",
             range(203), range(178), 10)
    at = story_page(story)
    shown = [b.value for kind in (at.success, at.error, at.warning, at.info) for b in kind] + [
        m.value for m in at.markdown]
    named = [text for text in shown if "Session expired" in text]
    assert named, "the class name should appear in the verdict and the chance note"
    for text in named:
        assert "[Session expired](" not in text and "<img src=x>" not in text, text


@pytest.mark.parametrize("story", STORIES, ids=[s[0] for s in STORIES])
def test_every_element_of_a_result_tells_one_story(story):
    """Headline, badges, verdict boxes and notes agree, for each kind of result issue 20 names."""
    name = story[0]
    at = story_page(story)
    boxes = [b.value for kind in (at.success, at.error, at.warning, at.info) for b in kind]
    page = " ".join(boxes) + markdown(at)
    helped = name == "clear win"
    assert bool(at.success) == helped and ("helped" in page) == helped
    from streamlit.proto.Metric_pb2 import Metric

    badges = [m.proto.color for m in at.metric if m.proto.delta]  # a badge coloured only behind a verdict
    assert badges and all(c == (Metric.MetricColor.GREEN if helped else Metric.MetricColor.GRAY) for c in badges)
    assert "at chance level" not in page.replace("at or below chance level", "")
    if name == "significant but guessing":
        assert "6.9 points more" in page and "not clearly above chance" in page
        assert "always answering 'dogs' scores 55% here" in page
    if name == "20 test images":
        assert any(b.startswith("20 test images are too few") for b in boxes)
        assert "would need about" in page
        assert "20 test images can only show large differences" in markdown(at)
    if name == "tie":
        assert "too close to call" in page and "Repeat the comparison over 3 or more seeds" in markdown(at)
    if name == "neither learned":
        assert "neither SSL fine-tuned" in page and "No model is clearly better than guessing" in page
        assert "2 labels per class may be too few" in markdown(at)
    assert any("No gallery: these results were kept without each image's answer" in i.value for i in at.info)


def story_page(story) -> AppTest:
    """The Downstream page showing a constructed comparison (`STORIES`)."""
    from pages.common import server
    from ssl_core.comparison import Comparison
    from ssl_core.datasets import load_mnist_10k
    from ssl_core.downstream import DownstreamResult
    from ssl_core.evaluate import Evaluation
    from ssl_core.pretrain import PretrainConfig, pretrain
    import torch

    name, n, chance, commonest, ssl_right, scratch_right, per_class = story
    at = app()
    digits = load_mnist_10k()
    pretrained = pretrain(PretrainConfig(epochs=1, image_size=8), digits.images[:64], digits.images[:32])
    pretrained.dataset = "mnist-10k"

    def run(mode: str, right) -> DownstreamResult:
        correct = outcomes(n, right)
        return DownstreamResult(mode, pretrained.model, Evaluation(float(correct.float().mean()), 2.3,
                                                                   torch.zeros(10, 10, dtype=torch.int64), correct))

    comparison = Comparison({"finetune": [run("finetune", ssl_right)], "scratch": [run("scratch", scratch_right)]},
                            n_labeled=20, n_test=n, chance=chance, labels_per_class=per_class, chance_class=commonest)
    comparison.judge()
    space = at.session_state.workspace
    train = server().start_job(space, "train_job", "pretext", "t", lambda job: pretrained)
    downstream = server().start_job(space, "downstream_job", "downstream", "t", lambda job: comparison)
    assert train.join(5) and downstream.join(5)
    at.switch_page("pages/downstream.py").run()
    no_errors(at)
    return at


def test_experiments_page_label_budget_and_which_layer():
    at = app()
    at.switch_page("pages/train.py").run()
    at.select_slider(key="train_settings.image_size").set_value(8).run()  # the experiment uses the Train settings
    at.switch_page("pages/experiments.py").run()
    no_errors(at)
    at.multiselect[0].set_value([1, 2]).run()
    at.number_input[1].set_value(1).run()  # pretext epochs
    button(at, "Run the label-budget experiment").click().run()
    wait_for_job(at, "budget_job", timeout=300)
    no_errors(at)
    figures = charts(at)
    assert any(t.get("error_y") for fig in figures for t in fig["data"])
    assert "at 1/class (SSL" in markdown(at) and "95% interval" in markdown(at)
    assert any("First pretrain a backbone" in i.value for i in at.info)

    at = start_training(at, epochs=1)
    wait_for_job(at, "train_job")
    at.switch_page("pages/experiments.py").run()
    button(at, "Probe every block").click().run()
    wait_for_job(at, "blocks_job", timeout=300)
    no_errors(at)
    assert "transfers best" in markdown(at)


def test_experiments_page_shows_the_measured_reference_results():
    at = app()
    at.switch_page("pages/experiments.py").run()
    no_errors(at)
    protocols = at.selectbox(key="reference_protocol")
    assert "MNIST digits, rotation" in protocols.options and "Flowers, rotation" in protocols.options
    assert "Self-supervision helped at 1/class (SSL linear probe" in markdown(at)
    protocols.set_value("Flowers, rotation").run()
    no_errors(at)
    assert "at 10% of labels (SSL fine-tuned" in markdown(at)
    reference = next(fig for fig in charts(at) if fig["layout"]["xaxis"]["title"]["text"] == "fraction of labels")
    assert {trace["name"] for trace in reference["data"]} == {"SSL linear probe", "SSL fine-tuned", "from scratch"}
    text = markdown(at)  # every task ranked per dataset and budget, from assets/results
    for heading in ("MNIST digits, 1/class: **", "MNIST digits, 10/class: **", "Flowers, 10% of labels: **"):
        assert heading in text
    assert "| simclr | SSL " in text and "| colorization | SSL " in text


def test_flowers_folder_journey():
    from tests.conftest import shared

    flowers = shared("flowers")
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    at.text_input(key="folder_path").set_value(str(flowers)).run()
    button(at, "Load the folder").click().run()
    no_errors(at)
    assert at.session_state.dataset_id == f"folder:{flowers}"
    assert {m.label: m.value for m in at.metric}["Labeled (downstream)"] == "50"  # the recipe's 10 per class
    assert at.session_state.recipe.pretext.image_size >= 32
    at.switch_page("pages/pretext.py").run()
    no_errors(at)
    assert len(at.get("image")) == 24 + 1  # the gallery, the guessing game's question
    at = start_training(at, epochs=1)
    wait_for_job(at, "train_job")
    no_errors(at)
    assert at.session_state.train_settings["image_size"] == 8  # the test's; the recommendation was 32
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


# ---- public mode and many visitors ------------------------------------------------------------------


def pets_zip() -> bytes:
    png = image_bytes(size=(32, 32))
    return make_zip({**{f"cats/{i}.png": png for i in range(4)}, **{f"dogs/{i}.png": png for i in range(4)}})


def test_public_mode_hides_the_folder_input_and_bounds_uploads(monkeypatch):
    monkeypatch.setenv("SSL_PLAYGROUND_PUBLIC", "1")
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    no_errors(at)
    assert [t.label for t in at.tabs] == ["Build in the browser", "Upload a .zip"]  # no way to name a server folder
    assert not [t for t in at.text_input if t.key == "folder_path"]
    assert any("nobody else can see them" in c.value for c in at.caption)
    assert at.file_uploader(key="zip_upload").proto.max_upload_size_mb == 50
    assert {u.proto.max_upload_size_mb for u in at.file_uploader} == {50}  # the builder's drop zones too


def test_public_mode_with_a_root_reads_only_inside_it(monkeypatch, tmp_path):
    root = tmp_path / "shared"
    for name in ("cats", "dogs"):
        (root / "pets" / name).mkdir(parents=True)
        (root / "pets" / name / "1.png").write_bytes(image_bytes(size=(32, 32)))
    (tmp_path / "private").mkdir()
    monkeypatch.setenv("SSL_PLAYGROUND_PUBLIC", "1")
    monkeypatch.setenv("SSL_PLAYGROUND_FOLDER_ROOT", str(root))
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    assert [t.label for t in at.tabs] == ["Build in the browser", "Upload a .zip", "Folder on the server"]
    for outside, reason in (("../private", "only folders inside"), ("pets/../../private", "only folders inside"),
                            ("/etc", "folder not found: etc")):  # absolute paths start at the root
        at.text_input(key="folder_path").set_value(outside).run()
        button(at, "Load the folder").click().run()
        no_errors(at)
        assert at.error and reason in at.error[0].value and str(tmp_path) not in at.error[0].value
        assert at.session_state.dataset_id == "builtin:mnist-10k"
    at.text_input(key="folder_path").set_value("pets").run()
    button(at, "Load the folder").click().run()
    no_errors(at)
    assert any("Current dataset: pets" in h.value for h in at.subheader)


def test_public_mode_shows_no_server_path(monkeypatch, tmp_path):
    """Errors hid the server's paths; the folder box and the download caption showed them."""
    root = tmp_path / "photo-root"
    root.mkdir()
    monkeypatch.setenv("SSL_PLAYGROUND_PUBLIC", "1")
    monkeypatch.setenv("SSL_PLAYGROUND_FOLDER_ROOT", str(root))
    monkeypatch.setenv("SSL_PLAYGROUND_DATA", str(tmp_path / "downloads"))
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    assert at.text_input(key="folder_path").label == "Folder path inside `photo-root/`"
    at.radio(key="data_source").set_value("Download (torchvision)").run()
    no_errors(at)
    shown = [c.value for c in at.caption] + [t.label for t in at.text_input] + [m.value for m in at.markdown]
    assert shown and not [text for text in shown if str(tmp_path) in text]


def test_a_full_server_refuses_a_dataset_with_a_message_and_keeps_the_current_one():
    from pages.common import server
    from ssl_core.deployment import Limits

    at = app()
    server().limits = Limits(total_mb=0)
    at = upload_zip(at, pets_zip())
    no_errors(at)
    assert any("as many visitors' images as it can" in e.value for e in at.error)
    assert at.session_state.dataset_id == "builtin:mnist-10k"


def test_an_older_dataset_is_released_with_a_note_when_a_visitor_hits_their_cap():
    from pages.common import server
    from ssl_core.deployment import Limits

    at = app()
    server().limits = Limits(datasets_per_session=1)
    at = upload_zip(at, pets_zip(), name="first.zip")
    at = upload_zip(at, make_zip({"a/1.png": image_bytes(size=(32, 32)), "b/1.png": image_bytes(size=(32, 32))}),
                    name="second.zip")
    no_errors(at)
    assert any("your earlier dataset first was released" in i.value for i in at.info)
    assert len(at.session_state.workspace.datasets) == 1


def test_two_visitors_training_at_once_take_turns_and_each_sees_only_their_own():
    first = start_training(app(), epochs=3)
    second = upload_zip(app(), pets_zip())
    second = start_training(second, epochs=1)
    no_errors(second)
    waiting = job_of(second, "train_job")
    assert waiting.snapshot().status == "waiting" and waiting.snapshot().queue_position == 1
    assert "1st to start" in second.get("progress")[0].proto.text  # the visitor sees their place in line
    assert any("Cancel" in b.label for b in second.button)
    wait_for_job(first, "train_job")
    wait_for_job(second, "train_job")
    no_errors(first), no_errors(second)
    assert job_of(first, "train_job").snapshot().result.dataset == "mnist-10k"
    assert job_of(second, "train_job").snapshot().result.dataset == "pets"
    assert job_of(first, "train_job") is not job_of(second, "train_job")
    assert second.session_state.dataset_id not in first.session_state.workspace.datasets


def test_the_models_go_home_in_one_file_and_a_fresh_session_predicts_the_same():
    from ssl_core.model_file import to_bytes

    at = start_training(app())
    wait_for_job(at, "train_job")
    run_comparison(at)
    no_errors(at)
    download = at.get("download_button")
    assert len(download) == 1 and "Download the models" in download[0].proto.label
    photo = [("digit.png", image_bytes(size=(40, 40)), "image/png")]
    at.file_uploader(key="photo_upload").set_value(photo).run()
    before = [fig for fig in charts(at) if fig["data"] and fig["data"][0]["type"] == "bar"][0]["data"]
    comparison = job_of(at, "downstream_job").snapshot().result
    from ssl_core.datasets import load_mnist_10k

    digits = load_mnist_10k()  # the page's dataset: the file is made as its download button makes it
    data = to_bytes(comparison.pretrained, comparison, digits)

    fresh = app()  # another session, nothing trained
    fresh.switch_page("pages/downstream.py").run()
    fresh.file_uploader(key="model_file_upload").set_value([("models.pt", data, "application/octet-stream")]).run()
    no_errors(fresh)
    assert any("Models trained on **mnist-10k**" in s.value for s in fresh.success)
    fresh.file_uploader(key="file_photo_upload").set_value(photo).run()
    no_errors(fresh)
    after = [fig for fig in charts(fresh) if fig["data"] and fig["data"][0]["type"] == "bar"][0]["data"]
    probabilities = {t["name"]: t["y"] for t in before}  # the SSL model and scratch, in the first session
    assert set(probabilities) == {t["name"] for t in after} and len(probabilities) == 3  # every model
    for trace in after:
        if trace["name"] in probabilities:
            assert trace["y"] == pytest.approx(probabilities[trace["name"]], abs=1e-5), trace["name"]
            assert trace["x"] == [str(d) for d in range(10)]


@pytest.mark.parametrize("data", [b"not a model at all", b"PK\x03\x04 broken"])
def test_a_corrupt_or_foreign_model_file_gets_a_message(data):
    at = app()
    at.switch_page("pages/downstream.py").run()
    at.file_uploader(key="model_file_upload").set_value([("models.pt", data, "application/octet-stream")]).run()
    no_errors(at)
    assert any("Could not open models\\.pt: not an SSL Playground model file" in e.value for e in at.error)


def test_presenter_mode_walks_the_talk_in_three_steps_and_pause_holds_the_run():
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="builtin_choice").set_value("digits").run()
    button(at, "Use this dataset").click().run()
    at.switch_page("pages/train.py").run()
    at.number_input(key="train_settings.epochs").set_value(3).run()
    at.select_slider(key="train_settings.image_size").set_value(8).run()
    at.query_params["present"] = "1"  # as a link opens it (the browser test uses the sidebar's button)
    at.switch_page("pages/present.py").run()
    no_errors(at)
    assert at.title[0].value == "The puzzle" and len(at.get("image")) == 2 * 4  # two digits, four rotations each
    button(at, "Next").click().run()
    assert at.title[0].value == "Training, live"
    button(at, "Start").click().run()
    no_errors(at)
    pretext = job_of(at, "train_job")
    assert pretext is not None and pretext.snapshot().title == "rotation on digits"
    deadline = time.monotonic() + 60
    while not pretext.snapshot().steps and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    button(at, "Pause").click().run()
    assert pretext.snapshot().paused and button(at, "Resume") and button(at, "Step")
    held = len(pretext.snapshot().steps)
    time.sleep(1.0)
    assert len(pretext.snapshot().steps) == held
    button(at, "Resume").click().run()
    wait_for_job(at, "train_job")
    button(at, "Next").click().run()
    wait_for_job(at, "downstream_job")
    no_errors(at)
    assert at.title[0].value == "The result"
    page = markdown(at)
    assert "The puzzle: **" in page and "font-size:5rem" in page and "95% interval" in page
    button(at, "Back").click().run()
    assert at.title[0].value == "Training, live" and charts(at)  # the finished curves stay
    at.button(key="present_leave").click().run()
    assert "present" not in at.query_params


def test_give_a_talk_from_home_runs_the_talk_preset_in_presenter_mode_and_x_goes_back_home():
    from ssl_core.runs import TALK_SETUP
    from ssl_core.share import to_params

    at = app()
    at.switch_page("pages/train.py").run()
    at.number_input(key="train_settings.epochs").set_value(3).run()  # settings of their own, then Home
    at.switch_page("app.py").run()  # AppTest runs a page file alone; app.py's navigation enters presenter mode
    button(at, "Give a talk").click().run()
    no_errors(at)
    assert at.query_params["present"] == "1" and at.title[0].value == "The puzzle"
    assert at.session_state.dataset_id == "builtin:mnist-10k"
    from pages.common import current_setup  # noqa: F401 (the share link is built from the same settings)
    assert at.session_state.train_settings["epochs"] == TALK_SETUP.pretext.epochs
    assert at.session_state.train_settings["image_size"] == TALK_SETUP.pretext.image_size
    assert at.session_state.split_config.labels_per_class == 1
    assert at.session_state.downstream_settings["transfer"] == "linear"
    link = next(c.value for c in at.code)
    assert "size=20" in link and "epochs=10" in link and "labels=1" in link and "transfer=linear" in link
    assert link.endswith("&present=1")
    assert to_params(TALK_SETUP)["epochs"] == "10"
    button(at, "Next").click().run()
    start = button(at, "Start: about")
    assert not [b for b in at.button if "Use the talk preset" in b.label]  # it is the talk already
    at.button(key="present_leave").click().run()
    no_errors(at)
    assert "present" not in at.query_params and any("Three ways in" in h.value for h in at.subheader)


def test_presenter_steps_out_of_order_are_never_a_dead_end():
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="builtin_choice").set_value("digits").run()
    button(at, "Use this dataset").click().run()
    at = start_training(at, epochs=1, size=8)  # a pretext model, and no comparison
    wait_for_job(at, "train_job")
    at.query_params["present"] = "1"
    at.switch_page("app.py").run()
    button(at, "Next").click().run()
    button(at, "Next").click().run()  # straight to the result
    no_errors(at)
    assert at.title[0].value == "The result" and "The puzzle: **" in markdown(at)
    button(at, "Compare with training from scratch: about").click().run()
    assert at.title[0].value == "The result"
    wait_for_job(at, "downstream_job")
    no_errors(at)
    assert "font-size:5rem" in markdown(at) and "95% interval" in markdown(at)
    button(at, "Back").click().run()  # step 2: the curves, and nothing missing
    assert charts(at) and not [b for b in at.button if "Compare with training" in b.label]


def test_presenter_result_step_first_offers_the_whole_talk():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["present"] = "1"  # a link straight into presenter mode
    at.run()
    at.session_state.present_step = 2
    at.run()
    no_errors(at)
    assert any("Nothing is trained yet" in i.value for i in at.info)
    assert button(at, "Start: about") and button(at, "Use the talk preset instead")


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


# ---- a dataset built in the browser ---------------------------------------------------------------


def colour_photos(prefix: str, base: tuple[int, int, int], n: int) -> list[tuple[str, bytes, str]]:
    return [(f"{prefix}{i}.png", image_bytes(size=(48, 40), color=tuple(min(255, c + 6 * i) for c in base)),
             "image/png") for i in range(n)]


def add_class(at: AppTest, name: str) -> None:
    next(t for t in at.text_input if t.label == "New class").input(name)
    button(at, "Add class").click().run()


def test_a_dataset_built_from_dropped_photos_and_the_camera_trains_exports_and_reloads_elsewhere():
    from ssl_core.model_file import to_bytes

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
    assert at.session_state.dataset_id.startswith("built:")
    assert any("Current dataset: my photos" in h.value for h in at.subheader)

    at = start_training(at, epochs=2)
    wait_for_job(at, "train_job")
    run_comparison(at)
    no_errors(at)
    assert at.get("download_button")
    photo = [("new.png", image_bytes(size=(50, 50), color=(200, 30, 30)), "image/png")]
    at.file_uploader(key="photo_upload").set_value(photo).run()
    before = {t["name"]: t["y"] for fig in charts(at) if fig["data"] and fig["data"][0]["type"] == "bar"
              for t in fig["data"]}
    comparison = job_of(at, "downstream_job").snapshot().result
    from pages.common import server

    space = at.session_state.workspace
    dataset = server().dataset(space, at.session_state.dataset_id)
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
    assert fresh.session_state.dataset_id.startswith("upload:")
    assert any("2 classes, 4 without label" in c.value for c in fresh.caption)


def test_a_zip_made_on_macos_loads_with_the_right_classes():
    png = image_bytes(size=(32, 32))
    data = make_zip({"Holiday/": b"", "Holiday/beach/1.png": png, "Holiday/beach/2.png": png,
                     "Holiday/city/1.png": png, "Holiday/.DS_Store": b"\0\0\0\1Bud1",
                     "__MACOSX/Holiday/beach/._1.png": b"\0\5\26\7 resource fork",
                     "__MACOSX/Holiday/._.DS_Store": b"junk"})
    at = upload_zip(app(), data, name="Holiday.zip")
    no_errors(at)
    assert at.session_state.dataset_id.startswith("upload:")
    assert any("3 images, 2 classes, 0 without label" in c.value for c in at.caption)
    assert not [e for e in at.expander if "skipped" in e.label]  # the junk is not even listed


# ---- setups in links ------------------------------------------------------------------------------


def open_link(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


def test_a_shared_link_sets_up_the_dataset_task_and_settings_and_the_sidebar_makes_one():
    at = open_link({"data": "digits", "task": "jigsaw", "t.grid": "2", "t.permutations": "24", "epochs": "3",
                    "labels": "5", "d_epochs": "7"})
    no_errors(at)
    assert not at.info or "could not be used" not in at.info[0].value
    assert at.session_state.dataset_id == "builtin:digits"
    assert at.session_state.pretext["task"] == "jigsaw" and at.session_state.split_config.labels_per_class == 5
    assert set(at.query_params) == {"session"}  # the setup is taken, not kept in the address
    shared = [c.value for c in at.sidebar.code]  # 🔗 Share this setup (AppTest draws the sidebar on the first page)
    at.switch_page("pages/train.py").run()
    assert at.number_input(key="train_settings.epochs").value == 3
    assert "Jigsaw" in at.caption[0].value
    at.switch_page("pages/pretext.py").run()
    assert at.radio(key="pretext_task").value == "jigsaw" and len(at.get("image")) == 6 * 2 + 1 + 4  # and the game
    assert shared and "data=digits" in shared[0] and "task=jigsaw" in shared[0] and "d_epochs=7" in shared[0]
    params = dict(pair.split("=", 1) for pair in shared[0].split("?", 1)[1].split("&"))
    from urllib.parse import unquote

    again = open_link({k: unquote(v) for k, v in params.items()})  # the link it makes opens the same setup
    assert again.session_state.pretext == at.session_state.pretext
    assert again.session_state.train_settings == at.session_state.train_settings


@pytest.mark.parametrize("params, says", [({"data": "upload:0123456789abcdef", "epochs": "3"}, "not a built-in"),
                                          ({"data": "tv:cifar10"}, "not downloaded on this server yet"),
                                          ({"epochs": "-1"}, "outside")])
def test_a_bad_or_stale_link_opens_the_defaults_with_a_note(params, says, monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_PLAYGROUND_DATA", str(tmp_path))  # nothing downloaded
    at = open_link(params)
    no_errors(at)
    assert any("This link's setup could not be used" in i.value and says in i.value for i in at.info)
    assert at.session_state.dataset_id == "builtin:mnist-10k" and at.session_state.train_settings["epochs"] != 3


def test_the_run_history_lists_every_ended_run_and_overlays_two():
    at = start_training(app(), epochs=2)
    wait_for_job(at, "train_job")
    at.number_input(key="train_settings.epochs").set_value(3).run()
    at.select_slider(key="train_settings.lr").set_value(1e-2).run()
    button(at, "Start training").click().run()
    wait_for_job(at, "train_job")
    run_comparison(at)
    at.switch_page("pages/history.py").run()
    no_errors(at)
    table = at.dataframe[0].value
    assert list(table["#"]) == [3, 2, 1] and list(table["status"]) == ["done"] * 3
    assert "lr 0.01" in table["settings"][1] and "3 epochs" in table["settings"][1] and "8 px" in table["settings"][2]
    assert "held-out accuracy" in table["result"][2] and "− scratch" in table["result"][0] and "[" in table["result"][0]
    at.selectbox(key="history_first").set_value(1).run()
    at.selectbox(key="history_second").set_value(2).run()
    runs = {trace["name"].split(":")[0] for fig in charts(at) for trace in fig["data"]}
    assert runs == {"#1 pretext", "#2 pretext"}  # both curves on one chart
    metric = next(fig for fig in charts(at) if fig["layout"]["title"]["text"] == "Accuracy")
    assert sorted(len(t["x"]) for t in metric["data"] if t["name"].endswith("held-out")) == [2, 3]


def test_a_model_file_becomes_the_sessions_pretrained_model_and_its_training_continues():
    from ssl_core.model_file import to_bytes

    at = start_training(app(), epochs=2)
    wait_for_job(at, "train_job")
    first, first_loss = job_of(at, "train_job").snapshot().result, job_of(at, "train_job").snapshot().steps[0]["loss"]
    from ssl_core.datasets import load_mnist_10k

    data = to_bytes(first, None, load_mnist_10k())

    fresh = app()
    fresh.switch_page("pages/train.py").run()
    fresh.number_input(key="train_settings.epochs").set_value(1).run()
    fresh.select_slider(key="train_settings.image_size").set_value(8).run()
    assert button(fresh, "Continue training").disabled  # nothing to continue yet
    fresh.switch_page("pages/downstream.py").run()
    fresh.file_uploader(key="model_file_upload").set_value([("models.pt", data, "application/octet-stream")]).run()
    assert any("pretext model only" in i.value for i in fresh.info)
    button(fresh, "Use its pretext network on mnist-10k").click().run()
    wait_for_job(fresh, "train_job")
    no_errors(fresh)
    assert [b.label for b in fresh.button if "Compare SSL" in b.label]  # ready to transfer, nothing retrained
    loaded = job_of(fresh, "train_job").snapshot()
    assert loaded.result.evaluation.value == pytest.approx(first.evaluation.value, abs=1e-6) and not loaded.epochs
    fresh.switch_page("pages/train.py").run()
    button(fresh, "Continue training: 1 more epochs").click().run()
    wait_for_job(fresh, "train_job")
    no_errors(fresh)
    continued = job_of(fresh, "train_job").snapshot()
    assert continued.title.endswith("continued") and [p["epoch"] for p in continued.epochs] == [1]
    assert continued.steps[0]["loss"] < 0.8 * first_loss  # it starts from what the file's network knows
    fresh.switch_page("pages/history.py").run()
    assert list(fresh.dataframe[0].value["run"]) == ["rotation on mnist-10k, continued",
                                                     "rotation on mnist-10k, from a model file"]


# ---- see inside -------------------------------------------------------------------------------------

def load_folder(at: AppTest, folder) -> AppTest:
    at.switch_page("pages/data.py").run()
    at.radio(key="data_source").set_value("Your images").run()
    at.text_input(key="folder_path").set_value(str(folder)).run()
    button(at, "Load the folder").click().run()
    return at


def values(array) -> np.ndarray:
    """A figure's data array as plotly sends it: a list, or numpy's bytes in base64."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"])
    return np.asarray(array)


def image_captions(at: AppTest) -> list[str]:
    return [img.caption for el in at.get("image") for img in el.proto.imgs]


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


def test_the_train_page_watches_the_real_task_and_a_contrastive_runs_collapse():
    at = app()
    at.switch_page("pages/pretext.py").run()
    at.radio(key="pretext_task").set_value("simclr").run()
    at = start_training(at, epochs=2)
    wait_for_job(at, "train_job")
    no_errors(at)
    figure = next(f for f in charts(at) if f["layout"]["title"]["text"] == "The real task, meanwhile")
    probe, collapse = figure["data"]
    assert probe["name"] == "k-NN on the real labels (held-out)" and probe["x"][0] == 0 and probe["x"][-1] == 2
    assert all(0 <= y <= 1 for y in probe["y"])
    assert collapse["name"].startswith("collapse meter") and collapse["x"] == [1, 2]
    assert any("Does the pretext task teach the real task?" in c.value for c in at.caption)


def test_the_mistakes_gallery_shows_what_each_model_got_wrong():
    at = start_training(app())
    wait_for_job(at, "train_job")
    run_comparison(at)
    no_errors(at)
    assert any("Mistakes gallery" in e.label for e in at.expander)
    counts = next(c.value for c in at.caption if c.value.startswith("Of 2,000 test images"))
    assert "the SSL model (SSL linear probe) got" in counts and "Showing 48 of the" in counts
    assert sum(c.startswith("true ") for c in image_captions(at)) == 48
    at.selectbox(key="mistakes_mode").set_value("finetune").run()
    at.selectbox(key="mistakes_kind").set_value("both").run()
    at.selectbox(key="mistakes_truth").set_value(3).run()
    no_errors(at)
    shown = [c for c in image_captions(at) if c.startswith("true ")]
    assert shown and all(c.startswith("true 3 · SSL ") and "SSL 3 " not in c and not c.endswith("scratch 3")
                         for c in shown)


def answer_round(at: AppTest, pick: int = 0) -> AppTest:
    for _ in range(8):
        [b for b in at.button if b.key and b.key.startswith("quiz_")][pick].click().run()
    return at


def test_you_guess_first_then_the_trained_network_plays_the_same_questions():
    at = app()
    at.switch_page("pages/pretext.py").run()
    assert any("Which way was this image turned?" in m.value for m in at.markdown)
    answer_round(at)
    no_errors(at)
    score = next(m.value for m in at.markdown if m.value.startswith("You: "))
    assert " of 8**" in score and "chance: 25%" in score and "the network" not in score
    assert any("Train this task on the **Train** page" in c.value for c in at.caption)
    button(at, "Next round").click().run()
    assert any(m.value.startswith("**Question 1 of 8.**") for m in at.markdown)
    at = start_training(at)
    wait_for_job(at, "train_job")
    at.switch_page("pages/pretext.py").run()  # 8 px now: the images the network trained on, a new round
    answer_round(at, pick=1)
    no_errors(at)
    score = next(m.value for m in at.markdown if m.value.startswith("You: "))
    assert " of 8** · the network: **" in score and "of 8** on the same questions" in score
    assert any("The network chose" in box.value for box in (*at.success, *at.warning))


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


def test_a_contrastive_run_whose_embeddings_collapse_gets_a_warning():
    from pages.common import server
    from ssl_core.train import EpochEvent

    at = app()

    def collapsing(job):
        report = job.callbacks("pretext")
        for epoch, level in ((1, 0.2), (2, 0.8)):
            report.on_epoch(EpochEvent(epoch, 2, 10 * epoch, {"train_loss": 3.0, "train_accuracy": 0.1,
                                                               "collapse": level}))

    assert server().start_job(at.session_state.workspace, "train_job", "pretext", "t", collapsing).join(5)
    at.switch_page("pages/train.py").run()
    no_errors(at)
    assert any("Collapse meter at 80%" in w.value and "higher temperature" in w.value for w in at.warning)


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



def test_after_an_answer_the_game_shows_the_question_and_the_right_answer_with_why():
    at = app()
    at.switch_page("pages/pretext.py").run()
    at.radio(key="pretext_task").set_value("jigsaw").run()
    question = next(b for b in at.button if b.key == "quiz_1_0_0")
    wrong = next(b for b in at.button if b.key and b.key.startswith("quiz_1_0_")
                 and int(b.key.rsplit("_", 1)[1]) != at.session_state.game.quiz.questions[0].answer)
    assert question is not None
    wrong.click().run()
    no_errors(at)
    assert any("Not quite: the answer was" in w.value for w in at.warning)
    assert {"the question", "the right answer"} <= {c.value for c in at.caption}
    assert any(c.value.startswith("Why: Only in the right order") for c in at.caption)


def test_the_games_questions_do_not_give_the_answer_away():
    """SimCLR's wrong views come from other images of the round: all of one class, a 7 is not the only 7.
    Colorization asks only about colourful photos."""
    from pages.quiz_panel import question_images
    from ssl_core.datasets import ImageDataset, load_digits
    from ssl_core.pretext import make_task
    from ssl_core.splits import SplitConfig, make_split

    digits = load_digits()
    split = make_split(digits.labels, SplitConfig(), digits.class_names)
    for seed in range(5):
        picks = question_images(digits, split, make_task("simclr"), 16, torch.Generator().manual_seed(seed))
        assert len(picks) == 8 and len(set(digits.labels[picks].tolist())) == 1
    rotation = question_images(digits, split, make_task("rotation"), 16, torch.Generator().manual_seed(0))
    assert len(set(digits.labels[rotation].tolist())) > 1  # a task that compares nothing keeps its variety
    g = torch.Generator().manual_seed(0)
    colour = torch.randint(0, 256, (20, 3, 16, 16), dtype=torch.uint8, generator=g)
    grey = torch.randint(0, 256, (20, 1, 16, 16), dtype=torch.uint8, generator=g).expand(20, 3, 16, 16)
    photos = ImageDataset("photos", torch.cat([grey, colour]), torch.zeros(40, dtype=torch.int64), ("all",))
    everything = make_split(photos.labels, SplitConfig(test_fraction=0.99), photos.class_names)
    picks = question_images(photos, everything, make_task("colorization"), 16, torch.Generator().manual_seed(0))
    assert len(picks) == 8 and (picks >= 20).all()  # the colourful ones only
    with pytest.raises(ValueError, match="too few of these images suit the colorization game"):
        only_grey = ImageDataset("grey", grey.clone(), torch.zeros(20, dtype=torch.int64), ("all",))
        question_images(only_grey, make_split(only_grey.labels, SplitConfig(test_fraction=0.99)),
                        make_task("colorization"), 16, torch.Generator())


def test_context_questions_skip_digits_with_empty_corners():
    from ssl_core.pretext import make_task

    images = torch.zeros(2, 1, 27, 27, dtype=torch.uint8)
    images[0, :, 9:18, 9:18] = 255  # only the centre cell has ink
    images[1, :, 2:25, 2:25] = torch.randint(0, 256, (23, 23), dtype=torch.uint8, generator=torch.Generator())
    assert make_task("context").quiz_usable(images).tolist() == [False, True]


def test_a_double_click_in_the_guessing_game_scores_once():
    from pages.quiz_panel import Game
    from ssl_core.datasets import load_digits
    from ssl_core.pretrain import PretrainConfig
    from ssl_core.splits import SplitConfig, make_split

    digits = load_digits()
    game = Game(("digits",))
    game.new_round(digits, make_split(digits.labels, SplitConfig(), digits.class_names), PretrainConfig(image_size=8))
    right = game.quiz.questions[0].answer
    game.answer(0, right)
    game.answer(0, right)  # the same button again, before the page moved on
    assert (game.asked, game.you, len(game.answers)) == (1, 1, 1)
    game.answer(1, (game.quiz.questions[1].answer + 1) % 4)
    assert (game.asked, game.you) == (2, 1)
