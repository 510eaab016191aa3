"""Page 3, Train: recommended settings, the background job, its curves and warnings."""
import time

from tests.app_helpers import app, button, charts, job_of, no_errors, start_training, wait_for_job


def test_choosing_a_dataset_fills_in_its_recommended_settings_and_the_button_restores_them():
    at = app()
    assert at.session_state.settings.pretext.image_size == 28  # MNIST digits at their own size
    at.switch_page("pages/data.py").run()
    at.radio(key="builtin_choice").set_value("digits").run()
    button(at, "Use this dataset").click().run()
    no_errors(at)
    assert at.session_state.settings.dataset == "builtin:digits"
    assert at.session_state.settings.pretext.image_size == 16
    assert {m.label: m.value for m in at.metric}["Labeled (downstream)"] == "20"
    at.switch_page("pages/train.py").run()
    recommended = at.session_state.settings.pretext
    assert at.select_slider(key="pretext.image_size").value == 16
    at.number_input(key="pretext.epochs").set_value(3).run()
    at.select_slider(key="pretext.image_size").set_value(32).run()
    assert at.session_state.settings.pretext.epochs == 3
    assert any("Predicted on this" in c.value for c in at.caption)
    button(at, "Recommended").click().run()
    no_errors(at)
    assert at.session_state.settings.pretext == recommended
    assert at.number_input(key="pretext.epochs").value == recommended.epochs


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


def test_a_contrastive_run_whose_embeddings_collapse_gets_a_warning():
    from pages.ui.state import server
    from ssl_core.engine.train import EpochEvent

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
