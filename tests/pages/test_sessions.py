"""Visitors' sessions: reloads, restarts, links, public mode, markup as text."""
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.app_helpers import (TIMEOUT, add_class, app, button, colour_photos, job_of, markdown, no_errors, open_link,
                               pets_zip, reopen, run_comparison, start_training, story_page, upload_zip, wait_for_job)
from tests.conftest import ROOT, image_bytes, make_zip


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
    at.number_input(key="pretext.seed").set_value(7).run()
    wait_for_job(at, "train_job")
    at.switch_page("app.py").run()  # AppTest runs a switched-to page file alone; app.py (which keeps them) runs here
    reloaded = reopen(at.session_state.workspace.token)
    no_errors(reloaded)
    assert reloaded.session_state.settings.pretext.task == "jigsaw"
    assert reloaded.session_state.settings.tasks["jigsaw"].grid == 3
    assert reloaded.session_state.settings.pretext.image_size == 8
    assert reloaded.session_state.settings.pretext.seed == 7
    reloaded.switch_page("pages/train.py").run()
    no_errors(reloaded)
    assert reloaded.number_input(key="pretext.epochs").value == 1
    assert "Jigsaw" in reloaded.caption[0].value and job_of(reloaded, "train_job").snapshot().result is not None


def test_after_a_restart_a_trained_model_is_kept_and_used_without_training_again():
    at = start_training(app(), epochs=1)
    wait_for_job(at, "train_job")
    st.cache_resource.clear()  # the server restarts: every visitor's workspace now comes from the disk
    back = reopen(at.session_state.workspace.token)
    no_errors(back)
    assert any("your pretext model is kept" in i.value for i in back.info)
    # one story on every page: the sidebar and page 4 name the kept model too, never "not started"
    assert "**Pretext training:** kept across a restart (see the Train page)" in [m.value for m in back.sidebar.markdown]
    back.switch_page("pages/downstream.py").run()
    assert any("Your pretext model from before the server restarted is kept (1 epoch trained): see the "
               "**Train** page." in i.value for i in back.info)
    back.switch_page("pages/train.py").run()
    assert any("Your pretext model from before the server restarted is kept (rotation, 1 epoch trained)" in i.value
               for i in back.info)
    assert not any("No training yet" in i.value for i in back.info)  # one story: a model is kept
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
    from pages.ui.state import server
    from ssl_core.data.splits import SplitConfig
    from ssl_core.engine.pretrain import PretrainConfig

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
        assert at.session_state.settings.dataset == "builtin:mnist-10k"
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


def test_an_older_dataset_is_released_with_a_note_when_a_visitor_hits_their_cap():
    from pages.ui.state import server
    from ssl_core.app.deployment import Limits

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
    assert second.session_state.settings.dataset not in first.session_state.workspace.datasets


def test_a_shared_link_sets_up_the_dataset_task_and_settings_and_the_sidebar_makes_one():
    at = open_link({"data": "digits", "task": "jigsaw", "t.grid": "2", "t.permutations": "24", "epochs": "3",
                    "labels": "5", "d_epochs": "7"})
    no_errors(at)
    assert not at.info or "could not be used" not in at.info[0].value
    assert at.session_state.settings.dataset == "builtin:digits"
    assert at.session_state.settings.pretext.task == "jigsaw" and at.session_state.settings.split.labels_per_class == 5
    assert set(at.query_params) == {"session"}  # the setup is taken, not kept in the address
    shared = [c.value for c in at.sidebar.code]  # 🔗 Share this setup (AppTest draws the sidebar on the first page)
    at.switch_page("pages/train.py").run()
    assert at.number_input(key="pretext.epochs").value == 3
    assert "Jigsaw" in at.caption[0].value
    at.switch_page("pages/pretext.py").run()
    assert at.radio(key="pretext_task").value == "jigsaw" and len(at.get("image")) == 6 * 2 + 1 + 4  # and the game
    assert shared and "data=digits" in shared[0] and "task=jigsaw" in shared[0] and "d_epochs=7" in shared[0]
    params = dict(pair.split("=", 1) for pair in shared[0].split("?", 1)[1].split("&"))
    from urllib.parse import unquote

    again = open_link({k: unquote(v) for k, v in params.items()})  # the link it makes opens the same setup
    assert again.session_state.settings == at.session_state.settings


@pytest.mark.parametrize("params, says", [({"data": "upload:0123456789abcdef", "epochs": "3"}, "not a built-in"),
                                          ({"data": "tv:cifar10"}, "not downloaded on this server yet"),
                                          ({"epochs": "-1"}, "outside")])
def test_a_bad_or_stale_link_opens_the_defaults_with_a_note(params, says, monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_PLAYGROUND_DATA", str(tmp_path))  # nothing downloaded
    at = open_link(params)
    no_errors(at)
    assert any("This link's setup could not be used" in i.value and says in i.value for i in at.info)
    assert at.session_state.settings.dataset == "builtin:mnist-10k" and at.session_state.settings.pretext.epochs != 3


def test_a_link_without_a_dataset_opens_the_default_one_never_the_visitors_own_images():
    at = upload_zip(app(), pets_zip())
    assert at.session_state.settings.dataset.startswith("upload:")
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)  # their own address, with a link's
    again.query_params.update({"session": at.query_params["session"], "task": "jigsaw", "epochs": "3"})  # setup
    again.run()
    no_errors(again)
    settings = again.session_state.settings
    assert settings.dataset == "builtin:mnist-10k"
    assert settings.pretext.task == "jigsaw" and settings.pretext.epochs == 3
