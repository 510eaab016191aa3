"""Presenter mode: the talk as three steps a room can read from the back (the puzzle, training live,
the result), with the current dataset and settings; no sidebar, large type, next and previous."""
import streamlit as st

from pages.common import (TRANSFER_MODES, current_dataset, current_split, downstream_config, gallery, get_job,
                          headline, live_job, predicted_seconds, pretext_config, pretext_curves, start_talk, escape)
from pages.params import PRESENT_PARAM
from ssl_core.pretext import TASKS
from ssl_core.runs import check_downstream_data, check_pretext_data

STEPS = ("The puzzle", "Training, live", "The result")

dataset, split = current_dataset(), current_split()
config = pretext_config()
step = min(st.session_state.setdefault("present_step", 0), len(STEPS) - 1)

title, back, forward, leave = st.columns([6, 1.1, 1.1, 0.6], vertical_alignment="center")
title.title(STEPS[step], anchor=False)
if back.button("◀ Back", disabled=step == 0, key="present_previous"):
    st.session_state.present_step = step - 1
    st.rerun()
if forward.button("Next ▶", disabled=step == len(STEPS) - 1, key="present_next", type="primary"):
    st.session_state.present_step = step + 1
    st.rerun()
if leave.button("✕", key="present_leave", help="Leave presenter mode"):
    del st.query_params[PRESENT_PARAM]
    st.rerun()
st.caption(f"{step + 1} / {len(STEPS)} · {' → '.join(STEPS)}")

if step == 0:
    st.markdown(TASKS[config.task].explanation)
    gallery(dataset, split, config, st.session_state.get("gallery_seed", 0), count=2, width=240,
            groups_per_row=max(1, 8 // config.make_task().gallery_group))
    st.caption(f"{escape(dataset.name)}: {len(split.pool):,} images, and not one label is used to make these.")
elif step == 1:
    job = get_job("train_job")
    if job is None or not (job.snapshot().active or job.snapshot().result):
        try:
            check_pretext_data(dataset, split, config)
            check_downstream_data(dataset, split)
        except ValueError as exc:
            st.info(f"{escape(exc)}. Leave presenter mode to change the dataset or settings.")
            st.stop()
        estimate = predicted_seconds(dataset, split, config)
        st.markdown(f"{TASKS[config.task].title} on {escape(dataset.name)}, then the same network with "
                    f"{len(split.labeled):,} labels: pretrained against from scratch. About "
                    f"{estimate.pretext + estimate.comparison:.0f} s.")
        if st.button("▶ Start", type="primary", key="present_start"):
            down = st.session_state.downstream_settings
            if start_talk(dataset, split, config, TRANSFER_MODES[down["transfer"]] + ("scratch",),
                          downstream_config(), f"{config.task} on {dataset.name}"):
                st.rerun()
    else:
        live_job("train_job", "■ Stop", lambda snap: pretext_curves(snap, "present", font_size=20, height=420),
                 pausable=True)
else:
    pretext = get_job("train_job")
    snap = pretext.snapshot() if pretext else None
    if snap is None:
        st.info("Start the training on the previous step.")
    elif snap.result is not None and snap.result.evaluation is not None:
        score = snap.result.evaluation
        st.markdown(f"The puzzle: **{score.metric.format(score.value)}** on held-out images "
                    f"({score.baseline_label}: {score.metric.format(score.baseline)}). Then "
                    f"{len(split.labeled):,} labeled images, the same network pretrained and from scratch:")
    comparison = get_job("downstream_job")
    if comparison is not None and comparison.id == st.session_state.get("talk_job"):
        done = comparison.snapshot()
        if done.active:
            live_job("downstream_job", "■ Stop", lambda snap: None)
        elif done.result is not None:
            headline(done.result)
        else:
            st.warning(f"The comparison did not finish: {done.message}")

