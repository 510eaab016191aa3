"""Run history: every ended run, two side by side."""

from tests.app_helpers import app, button, charts, no_errors, run_comparison, start_training, wait_for_job


def test_the_run_history_lists_every_ended_run_and_overlays_two():
    at = start_training(app(), epochs=2)
    wait_for_job(at, "train_job")
    at.number_input(key="pretext.epochs").set_value(3).run()
    at.select_slider(key="pretext.lr").set_value(1e-2).run()
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
