"""Page 5: the label budget and which block transfers."""

from tests.app_helpers import app, button, charts, markdown, no_errors, start_training, wait_for_job


def test_the_label_budget_page_takes_as_many_epochs_as_the_train_page_allows():
    """400 pretext epochs on the Train page crashed page 5, whose box stopped at 200 (found by the restart test)."""
    at = app()
    at.switch_page("pages/train.py").run()
    at.number_input(key="pretext.epochs").set_value(400).run()
    at.switch_page("pages/experiments.py").run()
    no_errors(at)
    assert 400 in [n.value for n in at.number_input]


def test_experiments_page_label_budget_and_which_layer():
    at = app()
    at.switch_page("pages/train.py").run()
    at.select_slider(key="pretext.image_size").set_value(8).run()  # the experiment uses the Train settings
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
