"""Step 4: transfer to the labeled task against a from-scratch baseline, then classify photos."""
from dataclasses import replace

import streamlit as st
import torch
from torch import nn

from pages.ui.jobs import live_job, predicted_seconds, start_comparison, start_job
from pages.ui.state import (apply_recipe, current_dataset, current_split, deployment, device_label, field_key, get_job,
                            put, settings, usable_pretrained)
from pages.ui.text import escape
from pages.ui.widgets import headline, verdict_box
from ssl_core.analysis.comparison import MAX_SEEDS, Comparison
from ssl_core.analysis.mistakes import KINDS, mistakes
from ssl_core.analysis.plots import (comparison_figure, confusion_figure, display_scale, image_grid, probability_figure,
                                     upscale)
from ssl_core.analysis.stats import chance_class, chance_level
from ssl_core.analysis.verdict import chance_words
from ssl_core.app.glossary import term
from ssl_core.app.runs import check_downstream_data, describe_pretext
from ssl_core.app.share import DOWNSTREAM_LEARNING_RATES, MAX_EPOCHS
from ssl_core.data.augment import normalise, resize_all
from ssl_core.data.images import ImageError
from ssl_core.engine.downstream import MODE_TITLES, Transfer
from ssl_core.engine.inference import PhotoModel, domain_note, photo_models, predict, prepare_photo
from ssl_core.engine.joint import joint_problem
from ssl_core.engine.model_file import ModelFileError, from_bytes, to_bytes
from ssl_core.pretext import PretextTask

MISTAKES_SHOWN = 48  # pictures in the mistakes gallery at most


def classify_photos(models: list[PhotoModel], class_names: tuple[str, ...], image_size: int, channels: int,
                    digit_like: bool, domain: str, task: PretextTask, pretext_model: nn.Module, key: str) -> None:
    """Upload photos; each shown as the models see it, the headline model's answer in words first, then
    every model's calibrated class probabilities side by side, with a caveat on any model that guesses."""
    uploads = st.file_uploader("Photos (JPEG, PNG, WebP, BMP, GIF)", type=["jpg", "jpeg", "png", "webp", "bmp", "gif"],
                               accept_multiple_files=True, key=key, max_upload_size=deployment().limits.upload_mb)
    for upload in uploads or []:
        try:
            photo = prepare_photo(upload.getvalue(), image_size, channels, digit_like=digit_like)
        except ImageError as exc:
            st.error(f"**{escape(upload.name)}**: {escape(exc)}")
            continue
        left, right = st.columns([1, 3])
        scale = max(1, 128 // photo.view.shape[0])
        left.image(upscale(photo.view, scale), caption=f"{escape(upload.name)}, as the model sees it",
                   width=128)
        note = domain_note(domain, len(class_names), photo)
        if note:
            right.warning(note)
        probs = {shown.title: predict(shown.model, photo.tensor, shown.temperature)[0] for shown in models}
        first = models[0]
        answer = int(probs[first.title].argmax())
        right.markdown(f"**{escape(first.title)}**{' (the headline model)' if first.headline else ''} answers "
                       f"**{escape(class_names[answer])}** ({float(probs[first.title][answer]):.0%}, probabilities "
                       "calibrated on the test images).")
        for shown in models:
            if shown.caveat:
                right.caption(f"⚠️ {escape(shown.caveat)}")
        right.plotly_chart(probability_figure(class_names, {t: p.tolist() for t, p in probs.items()}),
                           key=f"probs_{key}_{upload.file_id}")
        device = next(pretext_model.parameters()).device
        belief = task.explain(pretext_model, normalise(photo.tensor.to(device)))
        if belief:
            left.caption(belief)


def mistakes_gallery(comparison: Comparison, ssl_modes: list[str], images: torch.Tensor, labels: torch.Tensor,
                     names: tuple[str, ...], image_size: int) -> None:
    """Test images the SSL and scratch models got wrong, filtered by kind, true and answered class."""
    c1, c2, c3, c4 = st.columns(4)
    ssl_mode = c1.selectbox("SSL model", ssl_modes, format_func=MODE_TITLES.get, key="mistakes_mode")
    kind = c2.selectbox("Show the images", list(KINDS), format_func=KINDS.get, key="mistakes_kind")
    classes = [None, *range(len(names))]
    truth = c3.selectbox("True class", classes, format_func=lambda k: "any" if k is None else names[k],
                         key="mistakes_truth")
    answered = c4.selectbox("Answered", classes, format_func=lambda k: "any" if k is None else names[k],
                            key="mistakes_answered", help="The answer of the model whose mistakes are shown (the "
                                                          "SSL model's for 'both').")
    try:
        found = mistakes(comparison, ssl_mode, labels, kind, truth, answered)
    except ValueError as exc:  # results made without each image's answer
        st.info(f"No gallery: {escape(exc)}.")
        return
    n = len(labels)
    st.caption(f"Of {n:,} test images: the SSL model ({MODE_TITLES[ssl_mode]}) got {found.counts['ssl']:,} wrong, "
               f"the scratch model {found.counts['scratch']:,}, both {found.counts['both']:,}. "
               f"Showing {min(len(found.shown), MISTAKES_SHOWN)} of the {len(found.shown):,} that match.")
    if not found.shown:
        st.info("No test image matches these filters.")
        return
    scale = display_scale(image_size, 80)
    shown = found.shown[:MISTAKES_SHOWN]
    for start in range(0, len(shown), 8):
        for column, m in zip(st.columns(8), shown[start:start + 8]):
            picture = resize_all(images[m.position:m.position + 1], image_size)
            column.image(image_grid(picture, scale=scale),
                         caption=escape(f"true {names[m.truth]} · SSL {names[m.ssl]} · scratch {names[m.scratch]}"))


st.title("4. Downstream task & your photos")
with st.expander("📂 Open a model file (saved with **Download the models** below)",
                 expanded="model_file" in st.session_state):
    saved_file = st.file_uploader("Model file", type=["pt"], key="model_file_upload",
                                  max_upload_size=deployment().limits.upload_mb)
    if saved_file is not None and st.session_state.get("model_file_id") != saved_file.file_id:
        try:
            st.session_state.model_file = from_bytes(saved_file.getvalue())
            st.session_state.model_file_id = saved_file.file_id
        except ModelFileError as exc:
            st.error(f"Could not open {escape(saved_file.name)}: {escape(exc)}.")
    opened = st.session_state.get("model_file")
    if opened is not None:
        scores = ", ".join(f"{MODE_TITLES[m]} {a:.1%}" for m, a in opened.accuracies.items())
        st.success(f"Models trained on **{escape(opened.dataset)}** ({len(opened.class_names)} classes, {opened.image_size} px, "
                   f"{opened.pretext.make_task().describe()})" + (f": {scores}." if scores else "."))
        dataset, split = current_dataset(), current_split()
        if opened.dataset == dataset.name and opened.in_channels == dataset.channels:
            if st.button(f"Use its pretext network on {escape(dataset.name)}", disabled=bool(get_job("train_job") and
                                                                                get_job("train_job").snapshot().active),
                         help="It becomes this session's pretrained model: compare it below, or continue its "
                              "training on the Train page, without training it again."):
                st.session_state.train_predicted = None
                test_images = dataset.images[split.test]
                start_job("train_job", "pretext", f"{opened.pretext.task} on {dataset.name}, from a model file",
                          lambda: lambda job: opened.pretrained(test_images),
                          described="opened from a file · " + describe_pretext(opened.pretext))
        else:
            st.caption(f"To transfer its pretext network or train it further, choose **{escape(opened.dataset)}** on the "
                       "Data page (for your own images: the same zip, or the same photos built in the browser).")
        if opened.classifiers:
            classify_photos(opened.photo_models(), opened.class_names, opened.image_size, opened.in_channels,
                            not opened.allow_flip and opened.in_channels == 1, opened.domain,
                            opened.pretext.make_task(), opened.pretext_model, key="file_photo_upload")
        else:
            st.info("This file holds a pretext model only: run the comparison to get classifiers.")
dataset = current_dataset()
split = current_split()
pretrained, why = usable_pretrained(dataset)
if pretrained is None:
    st.info(why + " This page then transfers it to the real task"
            + (" (the talk preset's comparison starts by itself)." if get_job("downstream_job") else "."))
    st.page_link("pages/train.py", label="Go to training", icon="🏋️")
    st.stop()
try:
    check_downstream_data(dataset, split)
except ValueError as exc:
    st.info(escape(exc))
    st.stop()

saved = settings().downstream
job = get_job("downstream_job")
running = bool(job and job.snapshot().active)
blocks = pretrained.backbone.num_blocks
test_labels = dataset.labels[split.test]
commonest = chance_class(test_labels, dataset.num_classes)
st.caption(f"{len(split.labeled):,} labeled training images, {len(split.test):,} test images, "
           f"{dataset.num_classes} classes. Every model gets the same labels, augmentation and step budget. "
           "**Chance** is the score of guessing without looking: "
           + escape(chance_words(chance_level(test_labels, dataset.num_classes),
                                 None if commonest is None else dataset.class_names[commonest])) + ".")
per_class = split.config.labels_per_class if split.config else None
if per_class:
    left, right = st.columns([3, 1])
    left.caption(f"Why only {per_class} label{'s' * (per_class > 1)} per class: the point is how far a few labels go "
                 "when the network first learned from the unlabeled images.")
    if right.button("Compare at 10, 25, 50 →", help="The label-budget experiment (page 5) at 10, 25 and 50 labels "
                                                    "per class, each against scratch."):
        st.session_state.budget_choice = [10, 25, 50]
        st.switch_page("pages/experiments.py")
c1, c2, c3, c4, c5 = st.columns(5)
no_joint = joint_problem(pretrained.task, dataset.channels, pretrained.config.image_size)
options = [t for t in Transfer if not (no_joint and "joint" in t.modes)]
transfer_key, block_key = field_key("downstream", "transfer"), field_key("downstream", "block")
if st.session_state[transfer_key] not in options:  # a task that cannot train jointly
    st.session_state[transfer_key] = Transfer.BOTH
st.session_state[block_key] = min(st.session_state[block_key], blocks)  # a backbone with fewer blocks
transfer = c1.selectbox("Transfer", options, format_func=lambda t: Transfer(t).label, key=transfer_key,
                        help="Linear probe: " + term("linear probe") + " Fine-tune: " + term("fine-tuning")
                             + " Train jointly: the network from scratch on the labels and, in the same steps, on the "
                             "pretext task over the unlabeled images (S4L, Zhai et al. 2019)."
                             + (f" ({no_joint}.)" if no_joint else ""))
block = c2.slider("Probe reads block", 1, blocks, key=block_key,
                  help="Which backbone block feeds the linear probe. " + term("block") + " RotNet found "
                       "middle blocks best; page 5 probes each block.")
epochs = int(c3.number_input("Epochs", 1, MAX_EPOCHS, key=field_key("downstream", "epochs")))
lr = c4.select_slider("Learning rate", list(DOWNSTREAM_LEARNING_RATES), format_func=lambda v: f"{v:g}",
                      key=field_key("downstream", "lr"))
seeds = int(c5.number_input("Seeds", 1, MAX_SEEDS, key=field_key("downstream", "seeds"),
                            help="Repeat the comparison with other labeled images and head "
                                 "initialisations: mean ± std, and a tighter interval."))
saved = replace(saved, transfer=transfer, block=block, epochs=epochs, lr=lr, seeds=seeds)
put(replace(settings(), downstream=saved))
estimate = predicted_seconds(dataset, split, pretrained.config)
st.caption(f"⏱️ Predicted on this {device_label()}: about **{estimate.comparison:.0f} s** (from a few training "
           "steps timed here).")
left, right = st.columns([4, 1])
start = left.button("▶ Compare SSL with training from scratch", type="primary", disabled=running)
right.button("↺ Recommended", on_click=apply_recipe, disabled=running, key="downstream_recommended",
             help="Restore the settings recommended for this dataset and device.")

if start:
    start_comparison(dataset, split, pretrained)


snap = live_job("downstream_job", "■ Stop comparison", lambda snap: st.plotly_chart(
    comparison_figure(snap.epochs, chance_level(test_labels, dataset.num_classes)), key="downstream_accuracy"))
loop = saved.config().loop(len(split.labeled))
if snap is not None and loop.epochs > saved.epochs:
    st.caption(f"With {len(split.labeled):,} labels an epoch is {-(-len(split.labeled) // loop.batch_size)} step(s), "
               f"and every model trains at least {saved.config().min_steps} steps so that the few labels are "
               f"seen often enough: the {saved.epochs} epochs asked for become {loop.epochs}.")
comparison = snap.result if snap else None
if comparison is not None and comparison.pretrained is not pretrained:
    st.info("These results come from an earlier pretext model; press **Compare** to transfer the current one "
            f"({pretrained.task.describe()}).")
modes = [mode for mode, runs in comparison.runs.items() if runs] if comparison else []

if modes:
    st.subheader("Test accuracy" + (f", mean ± std over {comparison.n_seeds} seeds" if comparison.n_seeds > 1 else ""))
    headline(comparison, sentence=False)  # the verdict boxes below say it, in their colour
    for column, mode in zip(st.columns(len(modes)), modes):
        spread = f" ± {comparison.std(mode) * 100:.1f}" if len(comparison.runs[mode]) > 1 else ""
        difference = comparison.difference(mode)
        delta = None
        if difference is not None:
            # ASCII signs: Streamlit reads the leading sign for the arrow's direction
            delta = (f"{difference.mean * 100:+.1f} points vs scratch "
                     f"[{difference.low * 100:+.1f}, {difference.high * 100:+.1f}]")
        verdict = comparison.verdicts.get(mode)
        column.metric(MODE_TITLES[mode], f"{comparison.mean(mode):.1%}{spread}", delta,
                      delta_color="normal" if verdict is not None and verdict.significant else "off",
                      help="The bracket is the 95% interval of the difference (paired bootstrap over the same "
                           "test images" + (" and the seeds" if comparison.n_seeds > 1 else "") + ").")
    for verdict in comparison.verdicts.values():
        verdict_box(verdict)
    note = comparison.chance_note(pretrained.config.image_size, dataset.channels == 3)
    if note:
        st.warning(escape(note))
    tips = comparison.advice(pretrained.config.image_size, dataset.channels == 3)
    if tips:
        st.markdown("**What would likely help**\n" + "\n".join(f"- {escape(tip.text)}" for tip in tips))
    st.caption(f"Took {snap.seconds:.0f} s.")
    if comparison.n_seeds < comparison.seeds_wanted:
        st.info(f"Stopped after {comparison.n_seeds} of {comparison.seeds_wanted} seeds: the figures cover the "
                "runs that finished.")
    for column, mode in zip(st.columns(len(modes)), modes):
        column.plotly_chart(confusion_figure(comparison.runs[mode][0].evaluation.confusion, dataset.class_names,
                                             MODE_TITLES[mode], height=340), key=f"confusion_{mode}")
    if "scratch" in modes and len(modes) > 1:
        with st.expander("❌ Mistakes gallery: the test images each model got wrong"):
            mistakes_gallery(comparison, [m for m in modes if m != "scratch"], dataset.images[split.test],
                             dataset.labels[split.test], dataset.class_names, pretrained.config.image_size)
    st.download_button("⬇ Download the models (one file)", file_name=f"ssl-playground-{dataset.name}.pt",
                       data=lambda: to_bytes(comparison.pretrained or pretrained, comparison, dataset),
                       # no rerun on a click: Streamlit makes the file while a rerun drops the button's old
                       # file id, and a download that lost the race came to nothing, with no message
                       mime="application/octet-stream", on_click="ignore",
                       help="The pretext network and these classifiers, with their "
                       "settings, class names and results: open it again at the top of this page.")

st.divider()
st.subheader("Your photos")
if not modes:
    st.info("Run the comparison above first; then upload photos to see what each model makes of them.")
    st.stop()
shown_models = photo_models({m: comparison.model(m) for m in modes},
                            {m: comparison.runs[m][0].evaluation.temperature for m in modes},
                            {m: comparison.mean(m) for m in modes}, comparison.chance, comparison.n_test,
                            comparison.best_mode())
classify_photos(shown_models,
                dataset.class_names, pretrained.config.image_size, dataset.channels,
                not dataset.allow_flip and dataset.channels == 1, dataset.domain, pretrained.task, pretrained.model,
                key="photo_upload")
