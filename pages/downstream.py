"""Step 4: transfer to the labeled task against a from-scratch baseline, then classify photos."""
import streamlit as st

from pages.common import current_dataset, current_split, get_job, live_job, registry, set_job
from ssl_core.downstream import MODE_TITLES, DownstreamConfig
from ssl_core.images import ImageError
from ssl_core.inference import predict, prepare_photo
from ssl_core.jobs import JobBusy
from ssl_core.plots import accuracy_figure, confusion_figure, probability_figure
from ssl_core.runs import check_downstream_data, comparison_work
from ssl_core.verdict import comparison_verdict

st.title("4. Downstream task & your photos")
dataset = current_dataset()
split = current_split()
train_job = get_job("train_job")
pretrained = train_job.snapshot().result if train_job else None
if pretrained is None:
    if train_job and train_job.snapshot().active:
        st.info("Pretext training is still running (see the **Train** page). Come back when it has finished"
                + ("; the comparison then starts by itself." if get_job("downstream_job") else "."))
    else:
        st.info("First pretrain a backbone on the **Train** page; this page then transfers it to the real task.")
    st.page_link("pages/train.py", label="Go to training", icon="🏋️")
    st.stop()
if pretrained.dataset != dataset.name or pretrained.in_channels != dataset.channels:
    st.warning(f"The pretrained model was trained on **{pretrained.dataset}**, but the current dataset is "
               f"**{dataset.name}**. Pick that dataset again, or pretrain on this one.")
    st.stop()
try:
    check_downstream_data(dataset, split)
except ValueError as exc:
    st.info(str(exc))
    st.stop()

saved = st.session_state.setdefault("downstream_settings", {"transfer": "both", "block": 3, "epochs": 40,
                                                            "lr": 3e-3})
job = get_job("downstream_job")
running = bool(job and job.snapshot().active)
blocks = pretrained.backbone.num_blocks
st.caption(f"{len(split.labeled):,} labeled training images, {len(split.test):,} test images, "
           f"{dataset.num_classes} classes. Every model gets the same labels, augmentation and step budget.")
with st.form("downstream_form"):
    c1, c2, c3, c4 = st.columns(4)
    options = {"both": "linear probe + fine-tune", "linear": "linear probe (frozen)", "finetune": "fine-tune"}
    transfer = c1.selectbox("Transfer", list(options), format_func=options.get,
                            index=list(options).index(saved["transfer"]))
    block = c2.slider("Probe reads block", 1, blocks, min(saved["block"], blocks),
                      help="Which backbone block feeds the linear probe. RotNet found middle blocks best.")
    epochs = c3.number_input("Epochs", 1, 500, saved["epochs"])
    lr = c4.select_slider("Learning rate", [3e-4, 1e-3, 3e-3, 1e-2], value=saved["lr"],
                          format_func=lambda v: f"{v:g}")
    start = st.form_submit_button("▶ Compare SSL with training from scratch", type="primary", disabled=running)

if start:
    saved.update(transfer=transfer, block=block, epochs=int(epochs), lr=lr)
    modes = ["linear", "finetune"] if transfer == "both" else [transfer]
    config = DownstreamConfig(epochs=int(epochs), block=block, lr=lr)
    try:
        work = comparison_work(dataset, split, pretrained, modes + ["scratch"], config)
        set_job("downstream_job", registry().start("downstream", f"downstream on {dataset.name}", work,
                                                   busy=st.session_state.downstream_job))
        st.rerun()
    except (JobBusy, ValueError) as exc:
        st.error(str(exc))


snap = live_job("downstream_job", "■ Stop comparison", lambda snap: st.plotly_chart(
    accuracy_figure(snap.epochs, chance=1 / dataset.num_classes), key="downstream_accuracy"))
results = (snap.result or {}) if snap else {}

if results:
    st.subheader("Test accuracy")
    columns = st.columns(len(results))
    scratch = results.get("scratch")
    for column, (mode, outcome) in zip(columns, results.items()):
        delta = None
        if scratch is not None and mode != "scratch":
            delta = f"{(outcome.evaluation.accuracy - scratch.evaluation.accuracy) * 100:+.1f} points vs scratch"
        column.metric(MODE_TITLES[mode], f"{outcome.evaluation.accuracy:.1%}", delta)
    st.markdown(comparison_verdict({m: r.evaluation.accuracy for m, r in results.items()}, len(split.labeled)))
    columns = st.columns(len(results))
    for column, (mode, outcome) in zip(columns, results.items()):
        column.plotly_chart(confusion_figure(outcome.evaluation.confusion, dataset.class_names, MODE_TITLES[mode],
                                             height=340), key=f"confusion_{mode}")

st.divider()
st.subheader("Your photos")
if not results:
    st.info("Run the comparison above first; then upload photos to see what each model makes of them.")
    st.stop()
uploads = st.file_uploader("Photos (JPEG, PNG, WebP, BMP, GIF)", type=["jpg", "jpeg", "png", "webp", "bmp", "gif"],
                           accept_multiple_files=True, key="photo_upload")
ssl_mode = "finetune" if "finetune" in results else "linear"
models = {MODE_TITLES[m]: results[m].model for m in (ssl_mode, "scratch") if m in results}
for upload in uploads or []:
    try:
        photo = prepare_photo(upload.getvalue(), pretrained.config.image_size, dataset.channels,
                              digit_like=not dataset.allow_flip and dataset.channels == 1)
    except ImageError as exc:
        st.error(f"**{upload.name}**: {exc}")
        continue
    left, right = st.columns([1, 3])
    left.image(photo.view.repeat(max(1, 128 // photo.view.shape[0]), 0).repeat(max(1, 128 // photo.view.shape[1]), 1),
               caption=f"{upload.name}, as the model sees it", width=128)
    probs = {title: predict(model, photo.tensor)[0].tolist() for title, model in models.items()}
    right.plotly_chart(probability_figure(dataset.class_names, probs), key=f"probs_{upload.file_id}")
    if pretrained.task.name == "rotation":
        belief = predict(pretrained.model, photo.tensor)[0]
        best = int(belief.argmax())
        left.caption(f"Pretext model: rotated by **{pretrained.task.label_name(best)}** ({belief[best]:.0%} sure)")
