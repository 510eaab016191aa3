"""Step 3: pretrain on the pretext task, with live curves, in a background job."""
import streamlit as st

from pages.common import current_dataset, current_split, get_job, live_job, registry, set_dataset, set_job
from ssl_core.jobs import JobBusy
from ssl_core.models import BACKBONES
from ssl_core.plots import accuracy_figure, confusion_figure, loss_figure
from ssl_core.pretrain import PretrainConfig
from ssl_core.runs import TALK_DOWNSTREAM, TALK_MODES, TALK_PRETEXT, TALK_SPLIT, comparison_after, pretext_work

SIZES = [8, 16, 24, 32, 48, 64]
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2, 3e-2, 1e-1, 1.0]

st.title("3. Train on the pretext task")
dataset = current_dataset()
split = current_split()
pretext = st.session_state.pretext
defaults = PretrainConfig()
saved = st.session_state.setdefault("train_settings", {
    "backbone": defaults.backbone, "image_size": defaults.image_size, "epochs": defaults.epochs,
    "batch_size": defaults.batch_size, "lr": defaults.lr, "seed": defaults.seed})
job = get_job("train_job")
running = bool(job and job.snapshot().active)

st.caption(f"Dataset **{dataset.name}**: {len(split.pool):,} unlabeled images for the pretext task, "
           f"{len(split.test):,} held out. Task **{pretext['task']}** (change it on the Pretext page).")
with st.form("train_settings_form"):
    c1, c2, c3 = st.columns(3)
    backbone = c1.selectbox("Backbone", list(BACKBONES), index=list(BACKBONES).index(saved["backbone"]),
                            help="small_cnn trains in seconds on a CPU; resnet18 is torchvision's, adapted "
                                 "to small images (slow on a CPU).")
    image_size = c2.select_slider("Image size (px)", SIZES, value=saved["image_size"])
    epochs = c3.number_input("Epochs", 1, 500, saved["epochs"])
    c4, c5, c6 = st.columns(3)
    batch_size = c4.select_slider("Batch size", [8, 16, 32, 64, 128, 256, 512], value=saved["batch_size"])
    lr = c5.select_slider("Learning rate", LEARNING_RATES, value=saved["lr"], format_func=lambda v: f"{v:g}")
    seed = c6.number_input("Seed", 0, 10_000, saved["seed"])
    start = st.form_submit_button("▶ Start training", type="primary", disabled=running)

talk = st.button("🎤 Talk preset: pretext + SSL-vs-scratch in about a minute", disabled=running,
                 help="Rotation pretraining on the built-in digits, then fine-tuning against training from "
                      "scratch with 2 labels per class; the Downstream page shows the result.")
if talk:
    set_dataset("builtin:digits")
    st.session_state.pretext.update(task="rotation", angles=TALK_PRETEXT.angles)
    st.session_state.split_config = TALK_SPLIT
    dataset, split = current_dataset(), current_split()
    try:
        pretext_job = registry().start("pretext", "talk preset", pretext_work(dataset, split, TALK_PRETEXT),
                                       busy=st.session_state.train_job)
        set_job("train_job", pretext_job)
        set_job("downstream_job", registry().start(
            "downstream", "talk preset", comparison_after(pretext_job, dataset, split, TALK_MODES, TALK_DOWNSTREAM),
            busy=st.session_state.downstream_job))
        st.rerun()
    except (JobBusy, ValueError) as exc:
        st.error(str(exc))

if start:
    saved.update(backbone=backbone, image_size=image_size, epochs=int(epochs), batch_size=batch_size, lr=lr,
                 seed=int(seed))
    config = PretrainConfig(task=pretext["task"], angles=tuple(pretext["angles"]), jigsaw_grid=pretext["grid"],
                            jigsaw_permutations=pretext["permutations"], backbone=backbone, image_size=image_size,
                            epochs=int(epochs), batch_size=batch_size, lr=lr, seed=int(seed))
    try:
        work = pretext_work(dataset, split, config)
        new_job = registry().start("pretext", f"{config.task} on {dataset.name}", work,
                                   busy=st.session_state.train_job)
        set_job("train_job", new_job)
        st.rerun()
    except (JobBusy, ValueError) as exc:
        st.error(str(exc))

if job is None:
    st.info("No training yet: choose the settings and press **Start training**.")
    st.stop()


def curves(snap) -> None:
    chance = 1 / snap.result.task.num_classes if snap.result else None
    c1, c2 = st.columns(2)
    c1.plotly_chart(loss_figure(snap.steps, snap.epochs), key="train_loss_chart")
    c2.plotly_chart(accuracy_figure(snap.epochs, chance=chance), key="train_accuracy_chart")


snap = live_job("train_job", "■ Stop training", curves)
result = snap.result
if result is not None and result.evaluation is not None:
    task = result.task
    st.subheader(f"Result: {task.describe()}")
    names = [task.label_name(k) for k in range(task.num_classes)]
    m1, m2, m3 = st.columns(3)
    m1.metric("Held-out pretext accuracy", f"{result.evaluation.accuracy:.1%}")
    m2.metric("Chance level", f"{1 / task.num_classes:.1%}")
    m3.metric("Time", f"{snap.seconds:.0f} s")
    if snap.status == "stopped":
        st.info("Stopped early: the model trained so far is kept and can be used downstream.")
    if task.num_classes <= 30:
        st.plotly_chart(confusion_figure(result.evaluation.confusion, names, "Which pseudo-labels get confused"),
                        key="pretext_confusion")
    st.page_link("pages/downstream.py", label="Next: transfer to the real task →", icon="🎯")
