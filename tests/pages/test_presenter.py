"""The talk: the preset, Give a talk and presenter mode's three steps."""
import time
from dataclasses import replace

from streamlit.testing.v1 import AppTest

from tests.app_helpers import TIMEOUT, app, button, charts, job_of, markdown, no_errors, start_training, wait_for_job
from tests.conftest import ROOT


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


def test_presenter_mode_walks_the_talk_in_three_steps_and_pause_holds_the_run():
    at = app()
    at.switch_page("pages/data.py").run()
    at.radio(key="builtin_choice").set_value("digits").run()
    button(at, "Use this dataset").click().run()
    at.switch_page("pages/train.py").run()
    at.number_input(key="pretext.epochs").set_value(3).run()
    at.select_slider(key="pretext.image_size").set_value(8).run()
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
    from ssl_core.app.runs import TALK_SETUP
    from ssl_core.app.share import to_params

    at = app()
    at.switch_page("pages/train.py").run()
    at.number_input(key="pretext.epochs").set_value(3).run()  # settings of their own, then Home
    at.switch_page("app.py").run()  # AppTest runs a page file alone; app.py's navigation enters presenter mode
    button(at, "Give a talk").click().run()
    no_errors(at)
    assert at.query_params["present"] == "1" and at.title[0].value == "The puzzle"
    assert at.session_state.settings.dataset == "builtin:mnist-10k"
    assert at.session_state.settings.pretext.epochs == TALK_SETUP.pretext.epochs
    assert at.session_state.settings.pretext.image_size == TALK_SETUP.pretext.image_size
    assert at.session_state.settings.split.labels_per_class == 1
    assert at.session_state.settings.downstream.transfer == "linear"
    link = next(c.value for c in at.code)
    assert "size=20" in link and "epochs=10" in link and "labels=1" in link and "transfer=linear" in link
    assert link.endswith("&present=1")
    assert to_params(TALK_SETUP)["epochs"] == "10"
    button(at, "Next").click().run()
    assert button(at, "Start: about")
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


def test_presenter_shows_a_result_only_for_the_settings_on_screen():
    """A comparison made with other labels is not the talk's result, and after Give a talk an earlier training
    of other settings is not its training: each step offers to run what the talk is about instead."""
    at = start_training(app(), epochs=1, size=8)  # on the talk's dataset, the built-in MNIST digits
    wait_for_job(at, "train_job")
    at.query_params["present"] = "1"
    at.switch_page("app.py").run()
    at.session_state.present_step = 2
    at.run()
    button(at, "Compare with training from scratch: about").click().run()
    wait_for_job(at, "downstream_job")
    assert "font-size:5rem" in markdown(at)
    at.session_state.settings = replace(at.session_state.settings,
                                        split=replace(at.session_state.settings.split, labels_per_class=5))
    at.run()  # 5 labels per class now: the comparison above had fewer
    no_errors(at)
    assert "font-size:5rem" not in markdown(at) and button(at, "Compare with training from scratch: about")
    at.button(key="present_leave").click().run()  # back to Home (the link came straight into presenter mode)
    button(at, "Give a talk").click().run()  # the talk's settings: 10 epochs at 20 px, not the 1 epoch at 8 px above
    button(at, "Next").click().run()
    no_errors(at)
    assert button(at, "Start: about") and not charts(at)
    assert any("Your last training used other settings" in c.value for c in at.caption)
