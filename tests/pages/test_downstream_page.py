"""Page 4, Downstream: the comparison, its verdicts, the models in a file, your photos."""
import pytest

from tests.app_helpers import (STORIES, app, button, charts, image_captions, job_of, markdown, no_errors,
                               run_comparison, start_training, story_page, upload_zip, values, wait_for_job)
from tests.conftest import image_bytes, make_zip


def test_the_models_go_home_in_one_file_and_a_fresh_session_predicts_the_same():
    from ssl_core.engine.model_file import to_bytes

    at = start_training(app())
    wait_for_job(at, "train_job")
    run_comparison(at)
    no_errors(at)
    download = at.get("download_button")
    assert len(download) == 1 and "Download the models" in download[0].proto.label
    # a click must not rerun the page: Streamlit makes the file while the rerun drops the button's old file id,
    # and a download lost that race (CI, the browser test): nothing came, no message
    assert download[0].proto.ignore_rerun and download[0].proto.deferred_file_id
    photo = [("digit.png", image_bytes(size=(40, 40)), "image/png")]
    at.file_uploader(key="photo_upload").set_value(photo).run()
    before = [fig for fig in charts(at) if fig["data"] and fig["data"][0]["type"] == "bar"][0]["data"]
    comparison = job_of(at, "downstream_job").snapshot().result
    from ssl_core.data.datasets import load_mnist_10k

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


def test_a_model_file_becomes_the_sessions_pretrained_model_and_its_training_continues():
    from ssl_core.engine.model_file import to_bytes

    at = start_training(app(), epochs=2)
    wait_for_job(at, "train_job")
    first, first_loss = job_of(at, "train_job").snapshot().result, job_of(at, "train_job").snapshot().steps[0].loss
    from ssl_core.data.datasets import load_mnist_10k

    data = to_bytes(first, None, load_mnist_10k())

    fresh = app()
    fresh.switch_page("pages/train.py").run()
    fresh.number_input(key="pretext.epochs").set_value(1).run()
    fresh.select_slider(key="pretext.image_size").set_value(8).run()
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
    assert continued.title.endswith("continued") and [p.epoch for p in continued.epochs] == [1]
    assert continued.steps[0].loss < 0.8 * first_loss  # it starts from what the file's network knows
    fresh.switch_page("pages/history.py").run()
    assert list(fresh.dataframe[0].value["run"]) == ["rotation on mnist-10k, continued",
                                                     "rotation on mnist-10k, from a model file"]


def test_one_class_zip_explains_the_downstream_needs_two():
    png = image_bytes(size=(32, 32))
    at = upload_zip(app(), make_zip({f"only/{i}.png": png for i in range(6)}))
    no_errors(at)
    assert any("fewer than two labeled classes" in i.value for i in at.info)


def test_downstream_needs_a_pretrained_model_first():
    at = app()
    at.switch_page("pages/downstream.py").run()
    no_errors(at)
    assert any("First pretrain" in i.value for i in at.info)


def test_downstream_comparison_and_photo_upload():
    at = start_training(app())
    wait_for_job(at, "train_job")
    at.switch_page("pages/downstream.py").run()
    at.number_input(key="downstream.epochs").set_value(3).run()
    at.number_input(key="downstream.seeds").set_value(2).run()
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


def test_training_jointly_is_its_own_row_curve_and_verdict_and_only_offered_where_it_works():
    at = start_training(app())
    wait_for_job(at, "train_job")
    at.switch_page("pages/downstream.py").run()
    at.selectbox(key="downstream.transfer").set_value("all").run()
    at.number_input(key="downstream.epochs").set_value(2).run()
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
    transfer = at.selectbox(key="downstream.transfer")
    assert transfer.value == "both" and "train jointly (labels + pretext)" not in transfer.options  # jigsaw: pieces
    assert "whole images" in transfer.help


@pytest.mark.parametrize("data", [b"not a model at all", b"PK\x03\x04 broken"])
def test_a_corrupt_or_foreign_model_file_gets_a_message(data):
    at = app()
    at.switch_page("pages/downstream.py").run()
    at.file_uploader(key="model_file_upload").set_value([("models.pt", data, "application/octet-stream")]).run()
    no_errors(at)
    assert any("Could not open models\\.pt: not an SSL Playground model file" in e.value for e in at.error)


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
