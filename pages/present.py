"""Presenter mode: the talk as three steps a room can read from the back (the puzzle, training live,
the result), with the current dataset and settings; no sidebar, large type, next and previous. Each step
says what is missing when the steps are taken out of order, and offers to run it."""
import streamlit as st

from pages.ui.jobs import live_job, predicted_seconds, start_comparison, start_talk
from pages.ui.params import PRESENT_PARAM
from pages.ui.state import apply_talk, current_dataset, current_split, get_job, is_talk, settings
from pages.ui.text import escape
from pages.ui.widgets import gallery, headline, pretext_curves
from ssl_core.analysis.stats import chance_level
from ssl_core.analysis.verdict import reconstruction_words
from ssl_core.app.runs import check_downstream_data, check_pretext_data, describe_pretext, trained_as, transfer_problem
from ssl_core.app.share import link, shareable_dataset
from ssl_core.pretext import TASKS

STEPS = ("The puzzle", "Training, live", "The result")

dataset, split = current_dataset(), current_split()
config = settings().pretext
step = min(st.session_state.setdefault("present_step", 0), len(STEPS) - 1)


def go(to: int) -> None:
    st.session_state.present_step = to


title, back, forward, share, leave = st.columns([6, 1.1, 1.1, 0.9, 0.6], vertical_alignment="center")
title.title(STEPS[step], anchor=False)
back.button("◀ Back", disabled=step == 0, key="present_previous", on_click=go, args=(step - 1,))
forward.button("Next ▶", disabled=step == len(STEPS) - 1, key="present_next", type="primary", on_click=go,
               args=(step + 1,))
with share.popover("Link", help="A link that opens exactly this talk in presenter mode"):
    st.code(link(st.context.url or "http://localhost:8501/", settings()) + f"&{PRESENT_PARAM}=1", language=None,
            wrap_lines=True)
    if not shareable_dataset(settings().dataset):
        st.caption("Your own images are never put in a link: it opens on the default dataset.")
if leave.button("✕", key="present_leave", help="Leave presenter mode, back to the page you came from"):
    st.session_state.return_to = st.session_state.pop("present_from", None)
    del st.query_params[PRESENT_PARAM]
    st.rerun()
st.caption(f"{step + 1} / {len(STEPS)} · {' → '.join(STEPS)} · {escape(dataset.name)}, "
           f"{TASKS[config.task].title.lower()}, {len(split.labeled):,} labels")

pretext_job = get_job("train_job")
pretext_snap = pretext_job.snapshot() if pretext_job else None
pretrained = pretext_snap.result if pretext_snap is not None else None
if pretext_snap is not None and not pretext_snap.active and pretrained is None:
    if pretext_snap.status == "failed":
        st.warning(f"The last training failed: {escape(pretext_snap.message)}")
    pretext_snap = None  # nothing to show: start again
earlier = None  # a finished training of other settings than the talk's: it starts afresh
if pretrained is not None and (transfer_problem(pretrained, dataset) or not trained_as(pretrained, config)):
    earlier = None if transfer_problem(pretrained, dataset) else describe_pretext(pretrained.config)
    pretext_snap = pretrained = None
comparison_job = get_job("downstream_job")
comparison_snap = comparison_job.snapshot() if comparison_job else None
if comparison_snap is not None and not (comparison_snap.active and comparison_job.id == st.session_state.get("talk_job")
                                        or comparison_snap.result is not None and pretrained is not None
                                        and comparison_snap.result.pretrained is pretrained
                                        and comparison_snap.result.n_labeled == len(split.labeled)):
    comparison_snap = None  # another model's comparison, or other labels: not this talk's
chance = chance_level(dataset.labels[split.test], dataset.num_classes) if dataset.num_classes > 1 else None


def start_button(where: str) -> None:
    """Start the whole talk (pretext, then the comparison), with its predicted time; or say why it cannot run."""
    try:
        check_pretext_data(dataset, split, config)
        check_downstream_data(dataset, split)
    except ValueError as exc:
        st.info(f"{escape(exc)}. Leave presenter mode to change the dataset or settings.")
        return
    if earlier:
        st.caption(f"Your last training used other settings ({escape(earlier)}): the talk trains these afresh.")
    estimate = predicted_seconds(dataset, split, config)
    left, right = st.columns([2, 3])
    if left.button(f"▶ Start: about {estimate.pretext + estimate.comparison:.0f} s", type="primary",
                   key=f"present_start_{where}"):
        if start_talk(dataset, split, f"{config.task} on {dataset.name}"):
            go(1)
            st.rerun()
    if not is_talk():
        right.button("🎤 Use the talk preset instead", key=f"present_preset_{where}", on_click=apply_talk,
                     help="Rotation on the built-in digits with 1 label per class: the clearest short demo.")
    st.caption(f"{TASKS[config.task].title} on {escape(dataset.name)}, then the same network with "
               f"{len(split.labeled):,} labels, pretrained against from scratch. The time is predicted from a few "
               "training steps timed on this machine.")


def compare_button(where: str) -> None:
    """Run the comparison on the trained pretext model (it was trained without one)."""
    estimate = predicted_seconds(dataset, split, pretrained.config)
    if st.button(f"▶ Compare with training from scratch: about {estimate.comparison:.0f} s", type="primary",
                 key=f"present_compare_{where}"):
        job = start_comparison(dataset, split, pretrained, rerun=False)
        if job:
            st.session_state.talk_job = job.id
            go(2)
            st.rerun()


if step == 0:
    st.markdown(TASKS[config.task].explanation)
    per_row = max(1, 8 // config.make_task().gallery_group)  # one full row of pictures, as large as it allows
    gallery(dataset, split, config, st.session_state.get("gallery_seed", 0), count=per_row, width=220,
            groups_per_row=per_row)
    st.caption(f"{escape(dataset.name)}: {len(split.pool):,} images, and not one label is used to make these.")
elif step == 1:
    if pretext_snap is None:
        start_button("training")
    else:
        live_job("train_job", "■ Stop", lambda snap: pretext_curves(snap, "present", font_size=20, height=380,
                                                                     chance=chance), pausable=True)
        if pretrained is not None and comparison_snap is None:
            compare_button("training")
else:
    if pretext_snap is None:
        st.info("Nothing is trained yet: the talk trains the puzzle first, then the real task.")
        start_button("result")
    elif pretrained is None:
        st.info("The puzzle is still being learned (step 2); the result follows by itself.")
        live_job("train_job", "■ Stop", lambda snap: None)
    else:
        score = pretrained.evaluation
        if score is not None:
            reading = "" if score.metric.fraction else " " + reconstruction_words(score.value, score.baseline,
                                                                                   score.baseline_label)
            st.markdown(f"The puzzle: **{score.metric.format(score.value)}** on held-out images "
                        f"({score.baseline_label}: {score.metric.format(score.baseline)}).{reading} Then "
                        f"{len(split.labeled):,} labeled images, the same network pretrained and from scratch:")
        if comparison_snap is None:
            compare_button("result")
        elif comparison_snap.active:
            live_job("downstream_job", "■ Stop", lambda snap: None)
        elif comparison_snap.result is not None:
            headline(comparison_snap.result)
        else:
            st.warning(f"The comparison did not finish: {escape(comparison_snap.message)}")
            compare_button("retry")
