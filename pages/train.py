"""Step 3: pretrain on the pretext task, with live curves, in a background job."""
from dataclasses import replace

import streamlit as st

from pages.ui.jobs import live_job, predicted_seconds, start_job, start_talk
from pages.ui.state import (apply_recipe, apply_talk, checkpointer, current_dataset, current_split, device_label,
                            elsewhere, field_key, get_job, put, settings, workspace)
from pages.ui.text import escape
from pages.ui.widgets import headline, pretext_curves
from ssl_core.analysis.advice import pretext_warning
from ssl_core.analysis.plots import confusion_figure
from ssl_core.analysis.stats import chance_level
from ssl_core.analysis.verdict import reconstruction_words
from ssl_core.app.glossary import term
from ssl_core.app.runs import continuable, describe_pretext, pretext_work, transfer_problem
from ssl_core.app.share import BATCH_SIZES, IMAGE_SIZES, LEARNING_RATES, MAX_EPOCHS
from ssl_core.engine.model_file import to_bytes
from ssl_core.engine.models import BACKBONES
from ssl_core.engine.pretrain import scored
from ssl_core.pretext import TASKS

st.title("3. Train on the pretext task")
dataset = current_dataset()
split = current_split()
saved = settings().pretext
job = get_job("train_job")
running = bool(job and job.snapshot().active)

st.caption(f"Dataset **{escape(dataset.name)}**: {len(split.pool):,} unlabeled images for the pretext task, "
           f"{len(split.test):,} held out. Task **{TASKS[saved.task].title}** (change it on "
           "the Pretext page).")
sizes = sorted({*IMAGE_SIZES, saved.image_size})
c1, c2, c3 = st.columns(3)
backbone = c1.selectbox("Backbone", list(BACKBONES), key=field_key("pretext", "backbone"),
                        help=term("backbone") + " small_cnn trains in seconds on a CPU; resnet18 is "
                             "torchvision's, adapted to small images (slow on a CPU).")
image_size = c2.select_slider("Image size (px)", sizes, key=field_key("pretext", "image_size"))
epochs = int(c3.number_input("Epochs", 1, MAX_EPOCHS, key=field_key("pretext", "epochs"), help=term("epoch")))
c4, c5, c6 = st.columns(3)
batch_size = c4.select_slider("Batch size", list(BATCH_SIZES), key=field_key("pretext", "batch_size"))
lr = c5.select_slider("Learning rate", list(LEARNING_RATES), key=field_key("pretext", "lr"),
                      format_func=lambda v: f"{v:g}", help=term("learning rate"))
seed = int(c6.number_input("Seed", 0, 10_000, key=field_key("pretext", "seed")))
config = replace(saved, backbone=backbone, image_size=image_size, epochs=epochs, batch_size=batch_size, lr=lr,
                 seed=seed)
put(replace(settings(), pretext=config))
unavailable = TASKS[config.task].unavailable(dataset.channels)
if unavailable:
    st.warning(f"{unavailable} Choose another task on the **Pretext** page.")
    st.stop()
estimate = predicted_seconds(dataset, split, config)
left, right = st.columns([4, 1])
left.caption(f"⏱️ Predicted on this {device_label()}: about **{estimate.pretext:.0f} s** of pretext training, then "
             f"about {estimate.comparison:.0f} s for the comparison on the Downstream page (from a few training "
             f"steps timed here).")
right.button("↺ Recommended", on_click=apply_recipe, disabled=running,
             help="Restore the settings recommended for this dataset and device.")
recipe = st.session_state.get("recipe")
if recipe is not None:
    with st.expander("Why the recommended settings"):
        st.markdown("\n".join(f"- {reason}" for reason in recipe.reasons))
previous = job.snapshot().result if job and not running else None
left, right = st.columns([1, 3])
start = left.button("▶ Start training", type="primary", disabled=running)
carry_on = right.button(f"⏩ Continue training: {config.epochs} more epochs", disabled=not continuable(previous, dataset,
                                                                                                        config),
                        help="Start from the weights of the last pretext model (trained here, or opened from a "
                             "model file) instead of from scratch: same dataset, task, backbone and seed.")

talk = st.button("🎤 Talk preset: pretext + SSL-vs-scratch on the digits, 1 label per class", disabled=running,
                 help="Rotation pretraining on the built-in MNIST digits, then the linear probe against "
                      "training from scratch with 1 label per class; the settings above become the talk's, with "
                      "its predicted time, and the headline shows here. Home's Give a talk runs it in presenter mode.")
if talk:
    apply_talk()
    if start_talk(current_dataset(), current_split(), "talk preset"):
        st.session_state.train_predicted = predicted_seconds(current_dataset(), current_split(),
                                                             settings().pretext).pretext
        st.rerun()

probe_block = settings().downstream.block  # the live probe reads what the linear probe will
saver = checkpointer(config)
if carry_on:
    st.session_state.talk_job = None
    st.session_state.train_predicted = estimate.pretext
    start_job("train_job", "pretext", f"{config.task} on {dataset.name}, continued",
              lambda: pretext_work(dataset, split, config, start_from=previous.model, probe_block=probe_block,
                                   checkpoint=saver),
              described="continued · " + describe_pretext(config), checkpoint=saver)

if start:
    st.session_state.talk_job = None
    st.session_state.train_predicted = estimate.pretext
    start_job("train_job", "pretext", f"{config.task} on {dataset.name}",
              lambda: pretext_work(dataset, split, config, probe_block=probe_block, checkpoint=saver),
              described=describe_pretext(config), checkpoint=saver)

talk_job = get_job("downstream_job")
if talk_job is not None and talk_job.id == st.session_state.get("talk_job"):
    st.subheader("🎤 Talk preset: SSL against training from scratch")
    talk_snap = live_job("downstream_job", "■ Stop comparison", lambda snap: None)
    if talk_snap.result is not None:
        headline(talk_snap.result)
    st.divider()



def kept_network(kept):
    """The kept weights in their network; a message (not a traceback) when the file does not fit it."""
    try:
        return kept.network(dataset.channels)
    except ValueError as exc:
        workspace().interrupted = None
        st.error(escape(exc))
        st.stop()


kept = workspace().interrupted  # after a restart: the latest pretext training, to resume or to use
if job is None and kept is not None:
    usable = kept.dataset_id == settings().dataset
    why = None if usable else "Choose the dataset it was trained on first (Data page)."
    if kept.finished:
        st.info(f"Your pretext model from before the server restarted is kept ({escape(kept.config.task)}, "
                f"{kept.epoch} epoch{'s' if kept.epoch != 1 else ''} trained): use it, without training again.")
        if st.button("▶ Use the kept model", type="primary", disabled=not usable, help=why):
            trained, network = replace(kept.config, epochs=kept.epoch), kept_network(kept)
            test_images = dataset.images[split.test]
            workspace().interrupted = None
            st.session_state.train_predicted = None
            start_job("train_job", "pretext", f"{trained.task} on {dataset.name}, kept across a restart",
                      lambda: lambda job: scored(trained, network, dataset.channels, test_images, dataset.name),
                      described="kept across a restart · " + describe_pretext(trained))
    else:
        left = kept.config.epochs - kept.epoch
        st.warning(f"A server restart interrupted this training ({escape(kept.config.task)}, "
                   f"{kept.config.epochs} epochs) after epoch {kept.epoch}. Its weights from that epoch "
                   f"are kept: resume to train the {left} epoch{'s' if left != 1 else ''} left.")
        if st.button("▶ Resume from the checkpoint", type="primary", disabled=not usable, help=why):
            resumed, network = replace(kept.config, epochs=left), kept_network(kept)
            workspace().interrupted = None
            st.session_state.train_predicted = None
            resumer = checkpointer(resumed)
            start_job("train_job", "pretext", f"{resumed.task} on {dataset.name}, resumed after a restart",
                      lambda: pretext_work(dataset, split, resumed, start_from=network, probe_block=probe_block,
                                           checkpoint=resumer, schedule=kept.config),
                      described=f"resumed at epoch {kept.epoch} · " + describe_pretext(resumed), checkpoint=resumer)

if job is None:
    if kept is None:  # (a training kept across a restart says above what can be done with it)
        st.info("No training yet: choose the settings and press **Start training**.")
    st.stop()


other = elsewhere("train_job")
if other:
    st.info(f"The training below ran on **{escape(other)}**, not on the current dataset **{escape(dataset.name)}**: "
            "its model cannot transfer here. Press **Start training** to pretrain on this one.")
    chance = None
else:
    chance = chance_level(dataset.labels[split.test], dataset.num_classes) if dataset.num_classes > 1 else None
snap = live_job("train_job", "■ Stop training", lambda snap: pretext_curves(snap, "train", chance=chance),
                pausable=True)
result = snap.result
if result is not None and result.evaluation is not None:
    task, score = result.task, result.evaluation
    st.subheader(f"Result: {task.describe()}")
    m1, m2, m3 = st.columns(3)
    m1.metric(f"Held-out pretext {score.metric.label}", score.metric.format(score.value),
              help=term("PSNR") if not score.metric.fraction else "On held-out images the pretext training never saw.")
    m2.metric(score.baseline_label.capitalize(), score.metric.format(score.baseline),
              help="What an answer that learned nothing about images scores.")
    predicted = st.session_state.get("train_predicted")
    m3.metric("Time", f"{snap.seconds:.0f} s", help=f"Predicted before the start: {predicted:.0f} s" if predicted
              else None)
    if not score.metric.fraction:  # decibels mean nothing to most people: read them against the trivial answer
        st.caption(reconstruction_words(score.value, score.baseline, score.baseline_label))
    if score.metric.fraction and score.baseline_label == "chance level" and not other:
        warning = pretext_warning(score.value, score.baseline, len(split.pool), result.config.image_size,
                                  dataset.channels == 3, result.config.epochs)
        if warning:
            st.warning(warning)
    if snap.status == "stopped":
        st.info("Stopped early: the model trained so far is kept and can be used downstream.")
    if score.confusion is not None and len(score.confusion) <= 30:
        names = [task.label_name(k) for k in range(len(score.confusion))]
        st.plotly_chart(confusion_figure(score.confusion, names, "Which pseudo-labels get confused"),
                        key="pretext_confusion")
        st.caption(f"**Pseudo-labels**: {term('pseudo-label')}")
    left, right = st.columns(2)
    left.page_link("pages/downstream.py", label="Next: transfer to the real task →", icon="🎯")
    if not transfer_problem(result, dataset):  # the file names the dataset's classes and kind of images
        right.download_button("⬇ Download the pretext model", lambda: to_bytes(result, None, dataset),
                              file_name=f"ssl-playground-{dataset.name}-pretext.pt", mime="application/octet-stream",
                              on_click="ignore",  # no rerun: see pages/downstream.py
                              help="Its weights, task, settings and image size: open it on the Downstream page in "
                                   "any session, or continue it with python -m ssl_core experiment --load.")
