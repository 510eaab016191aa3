"""Step 5: when does self-supervision pay off? Label budgets, and which layer transfers."""
import json
from dataclasses import replace
from pathlib import Path

import streamlit as st

from pages.ui.jobs import live_job, measured_speed, start_job
from pages.ui.state import current_dataset, current_split, device_label, get_job, settings, usable_pretrained
from ssl_core.analysis.experiment import (ExperimentConfig, predicted_seconds, pretext_text, probe_blocks,
                                          probe_seconds, run_experiment)
from ssl_core.analysis.plots import block_figure, budget_figure
from ssl_core.analysis.report import ExperimentReport
from ssl_core.analysis.task_ranking import BudgetRanking, rank_tasks
from ssl_core.analysis.verdict import budget_verdict, reconstruction_words
from ssl_core.app.runs import check_pretext_data
from ssl_core.app.share import MAX_EPOCHS
from ssl_core.engine.downstream import MODE_TITLES, DownstreamConfig
from ssl_core.engine.recipe import pretext_seconds
from ssl_core.pretext import TASKS

RESULTS = Path(__file__).resolve().parents[1] / "assets" / "results"
REFERENCE = RESULTS / "label-efficiency-h100.json"
ALL_TASKS = RESULTS / "label-efficiency-cpu-all-tasks.json"


@st.cache_data
def reference_results(path: Path = REFERENCE) -> dict[str, ExperimentReport]:
    if not path.is_file():
        return {}
    saved = json.loads(path.read_text())["protocols"]
    return {title: ExperimentReport.from_json(report) for title, report in saved.items()}


@st.cache_data
def task_rankings() -> list[BudgetRanking]:
    return rank_tasks(reference_results(ALL_TASKS))


st.title("5. When does self-supervision help?")
reference = reference_results()
if reference:
    with st.expander("Measured on real data: MNIST and flowers, 3 seeds (`python -m ssl_core bench "
                     "label-efficiency`)"):
        title = st.selectbox("Protocol", list(reference), key="reference_protocol")
        report = reference[title]
        st.caption(f"{report.n_unlabeled:,} unlabeled images for the pretext task, {report.n_test:,} held "
                   f"out; pretext {pretext_text(report)}. The scratch baseline gets the "
                   "better of two learning rates. Measured on an NVIDIA H100.")
        st.plotly_chart(budget_figure(report.points), key="reference_chart")
        st.markdown(budget_verdict(report.results))
rankings = task_rankings()
if rankings:
    with st.expander("Which pretext task transfers best? Every task on MNIST and flowers, one seed, on 2 CPU cores "
                     "(`python -m ssl_core bench label-efficiency --scale cpu`)"):
        st.caption("Each task's better SSL model (linear probe or fine-tuned) at each label budget, with its "
                   "difference from scratch; the leader's lead over the runner-up is a paired 95% interval over "
                   "the same test images.")
        for ranking in rankings:
            st.markdown(ranking.sentence())
            rows = ["| task | SSL model | test accuracy | vs scratch (95% interval) |", "|---|---|---|---|"]
            for r in ranking.tasks:
                d = r.versus_scratch
                rows.append(f"| {r.task} | {MODE_TITLES[r.mode]} | {r.accuracy:.1%} | {d.mean * 100:+.1f} "
                            f"[{d.low * 100:+.1f}, {d.high * 100:+.1f}] |")
            st.markdown("\n".join(rows))
BUDGET_CHOICES = (1, 2, 5, 10, 20, 25, 50, 100, 200)
dataset = current_dataset()
split = current_split()
if dataset.num_classes < 2:
    st.info("These experiments need labeled images of at least two classes.")
    st.stop()

st.subheader("Label budget")
st.markdown("For each number of labels per class: one pretraining per seed, then the SSL linear probe, SSL "
            "fine-tuning and the same network from scratch, all on the same labels. Error bars: spread over seeds.")
c1, c2, c3 = st.columns(3)
if "budget_choice" not in st.session_state:  # the Downstream page's one click may have set it
    st.session_state.budget_choice = [1, 5, 20]
budgets = c1.multiselect("Labels per class", list(BUDGET_CHOICES), key="budget_choice")
seeds = c2.number_input("Seeds", 1, 5, 1)
epochs = c3.number_input("Pretext epochs", 1, MAX_EPOCHS, settings().pretext.epochs)
config = ExperimentConfig(pretext=replace(settings().pretext, epochs=int(epochs)),
                          labels_per_class=tuple(sorted(budgets)), seeds=tuple(range(int(seeds))),
                          test_fraction=settings().split.test_fraction)
pretext_share = 0.5
if budgets:
    speed = measured_speed(dataset, config.pretext, config.downstream.batch_size)
    seconds = predicted_seconds(config, len(split.pool), len(split.test), dataset.num_classes, speed)
    pretext_share = len(config.seeds) * pretext_seconds(config.pretext, len(split.pool), len(split.test), speed) / seconds
    st.caption(f"⏱️ Predicted on this {device_label()}: about **{seconds / 60:.0f} min** ({seconds:,.0f} s) for "
               f"{len(config.seeds)} pretraining{'s' * (len(config.seeds) > 1)} and "
               f"{len(config.seeds) * len(budgets) * len(config.modes())} downstream runs.")
busy = bool(get_job("budget_job") and get_job("budget_job").snapshot().active)
run_budget = st.button("▶ Run the label-budget experiment", type="primary", disabled=busy)

if run_budget:
    if not budgets:
        st.error("Choose at least one label budget.")
    else:
        total = len(config.seeds) * len(config.labels_per_class) * len(config.modes())

        def work(job):
            def on_point(point):
                job.record(point, message=f"{len(job.snapshot().found)} of {total} downstream runs done")

            return run_experiment(dataset, config, on_point, lambda: job.stop_requested, log=job.set_message,
                                  on_progress=job.set_progress, pretext_share=pretext_share)

        def checked():
            check_pretext_data(dataset, split, config.pretext)
            return work

        start_job("budget_job", "experiment", f"label budget on {dataset.name}", checked)


def budget_body(snap) -> None:
    if snap.found:
        st.plotly_chart(budget_figure(snap.found), key="budget_chart")
    if snap.result:
        report = snap.result
        if report.pretext_metric == "psnr" and report.pretext_baseline is not None and report.pretext_task:
            st.caption("The pretext task: " + reconstruction_words(report.pretext_score, report.pretext_baseline,
                                                                  TASKS[report.pretext_task["name"]].baseline_label))
        st.markdown(budget_verdict(report.results))


live_job("budget_job", "■ Stop experiment", budget_body)

st.divider()
st.subheader("Which layer transfers best?")
pretrained, why = usable_pretrained(dataset)
if pretrained is None:
    st.info(why + " This probes every block of that backbone.")
    st.stop()
st.markdown(f"A linear probe on each block of the pretrained backbone, with the {len(split.labeled):,} labeled "
            "images of the current split (RotNet's Table 1 experiment, on your data).")
probe_config = DownstreamConfig()
probe_time = probe_seconds(pretrained.backbone.num_blocks, len(split.labeled), len(split.test), probe_config,
                           measured_speed(dataset, pretrained.config, probe_config.batch_size))
st.caption(f"⏱️ Predicted on this {device_label()}: about **{probe_time:.0f} s**.")
if st.button("▶ Probe every block"):
    labeled = (dataset.images[split.labeled], dataset.labels[split.labeled])
    test = (dataset.images[split.test], dataset.labels[split.test])

    def probe_work(job):
        blocks = pretrained.backbone.num_blocks
        return probe_blocks(pretrained, *labeled, *test, dataset.num_classes, probe_config,
                            allow_flip=dataset.allow_flip,
                            on_block=lambda b, acc: job.record((b, acc), b / blocks,
                                                               f"block {b} of {blocks}: {acc:.1%}"))

    start_job("blocks_job", "probe", "probe blocks", lambda: probe_work)


def blocks_body(snap) -> None:
    scores = dict(snap.found)  # (block, accuracy) as each block is probed
    if scores:
        st.plotly_chart(block_figure(scores), key="blocks_chart")
    if snap.result:
        st.markdown(snap.result.verdict())


live_job("blocks_job", "■ Stop probing", blocks_body)
