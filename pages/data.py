"""Step 1: choose the dataset and how it is split."""
import hashlib
from collections.abc import Callable
from dataclasses import replace

import streamlit as st

from pages.ui.builder_panel import builder_panel
from pages.ui.state import (current_dataset, current_split, deployment, field_key, put, remember_user_dataset, resolve,
                            set_dataset, settings)
from pages.ui.text import escape
from ssl_core.analysis.plots import class_count_figure, display_scale, image_grid
from ssl_core.app.deployment import MB, FolderRefused, allowed_folder
from ssl_core.app.workspaces import CapacityError
from ssl_core.data.datasets import (BUILTIN_TITLES, DOWNLOADABLE, ImageDataset, dataset_folder, default_data_root,
                                    load_downloadable)
from ssl_core.data.downloads import DownloadError
from ssl_core.data.splits import SplitConfig
from ssl_core.data.user_images import DatasetError, ProgressFn, iter_class_samples, load_folder, load_zip


def use(dataset_id: str, load: Callable[[ProgressFn], ImageDataset], what: str) -> None:
    """Load (unless this visitor has it already), keep it, select it; any refusal is a message."""
    rules = deployment()
    if resolve(dataset_id) is None:
        bar = st.progress(0.0, text="reading images…")
        try:
            dataset = load(lambda d, t: bar.progress(d / t, text=f"image {d:,} of {t:,}"))
            evicted = remember_user_dataset(dataset_id, dataset)
        except (DatasetError, FolderRefused, CapacityError, OSError) as exc:
            bar.empty()
            st.error(f"Could not use {escape(what)}: {escape(exc)}. The previous dataset stays selected.")
            st.stop()
        if evicted:
            st.session_state.data_note = (f"To make room, your earlier dataset {escape(', '.join(evicted))} was released "
                                          f"(each visitor keeps {rules.limits.datasets_per_session} here).")
    set_dataset(dataset_id)
    st.rerun()


st.title("1. Data")
kind, _, current_name = settings().dataset.partition(":")
current_builtin = current_name if kind == "builtin" else None
SOURCES = ["Built-in (offline)", "Download (torchvision)", "Your images"]
if "data_source" not in st.session_state:  # Streamlit forgets a widget's state on pages that did not draw it
    st.session_state.data_source = st.session_state.get("data_source_kept",
                                                        SOURCES[{"builtin": 0, "tv": 1}.get(kind, 2)])
source = st.session_state.data_source_kept = st.radio("Source", SOURCES, horizontal=True, key="data_source")

if source == "Built-in (offline)":
    name = st.radio("Built-in dataset", list(BUILTIN_TITLES), format_func=BUILTIN_TITLES.get, key="builtin_choice",
                    index=list(BUILTIN_TITLES).index(current_builtin or "mnist-10k"))
    st.caption("Real handwritten digits that ship with the app (MNIST's 10,000 test digits; scikit-learn's "
               "8×8 digits): no network needed. Choosing one fills in its recommended settings.")
    if st.button("Use this dataset", disabled=settings().dataset == f"builtin:{name}"):
        set_dataset(f"builtin:{name}")
        st.rerun()

elif source == "Download (torchvision)":
    titles = {"mnist": "MNIST (11 MB)", "fashion-mnist": "Fashion-MNIST (30 MB)", "cifar10": "CIFAR-10 (163 MB)"}
    name = st.selectbox("Dataset", list(DOWNLOADABLE), format_func=titles.get)
    st.caption("Downloaded once on this server, then cached." if deployment().public else
               f"Downloaded once into `{default_data_root()}` (set `SSL_PLAYGROUND_DATA` to change), then cached.")
    if st.button("Download and use", type="primary"):
        bar = st.progress(0.0, text="connecting…")

        def report(fname: str, done: int, total: int) -> None:
            share = done / total if total else 0.0
            bar.progress(min(share, 1.0), text=f"{fname}: {done / 2**20:.1f} of {total / 2**20:.1f} MB")

        try:
            with st.spinner("Loading…"):
                load_downloadable(name, progress=report)
            set_dataset(f"tv:{name}")
            st.rerun()
        except (DownloadError, OSError, ValueError) as exc:
            bar.empty()
            st.error(f"{exc}\n\nTo work offline, fill `{dataset_folder(name)}` by hand. "
                     f"The previous dataset stays selected.")

else:
    st.markdown("Build a dataset here from photos, or bring one: one subfolder per class (`cats/`, `dogs/`…). Images in a folder named `unlabeled` or at the "
                "top level serve the pretext task only. JPEG, PNG, WebP, BMP, GIF and TIFF are read.")
    rules = deployment()
    if rules.public:
        minutes = rules.limits.session_grace_s / 60
        st.caption(f"This server is shared. Your images are kept for your browser session only (up to "
                   f"{rules.limits.datasets_per_session} datasets, {rules.limits.session_mb} MB; a server restart keeps "
                   f"them), nobody else can see them, and they are deleted {minutes:.0f} minutes after you close the "
                   "tab.")
    tabs = ["Build in the browser", "Upload a .zip"] + (["Folder on the server" if rules.public else "Local folder"]
                                if rules.folders_allowed else [])
    build_tab, upload_tab, *folder_tab = st.tabs(tabs)
    with build_tab:
        builder_panel(rules, use)

    with upload_tab:
        upload = st.file_uploader("Zip archive of class folders", type=["zip"], key="zip_upload",
                                  max_upload_size=rules.limits.upload_mb)
        if upload is not None and upload.size > rules.limits.upload_mb * MB:  # the widget's bound is the browser's
            st.error(f"{escape(upload.name)} is {upload.size / MB:,.0f} MB; this server takes zips up to "
                     f"{rules.limits.upload_mb} MB. The previous dataset stays selected.")
        elif upload is not None and st.button("Load the archive", type="primary"):
            data = upload.getvalue()
            use(f"upload:{hashlib.sha256(data).hexdigest()[:16]}",
                lambda progress: load_zip(data, name=upload.name.removesuffix(".zip"), progress=progress,
                                          limits=rules.archive_limits), upload.name)
    for tab in folder_tab:
        with tab:
            where = f"inside `{rules.folder_root.name}/`" if rules.public and rules.folder_root else "on this machine"
            path = st.text_input(f"Folder path {where}", placeholder="flowers" if rules.public else "/home/me/photos",
                                 key="folder_path")
            if path and st.button("Load the folder", type="primary"):
                use(f"folder:{path}", lambda progress: load_folder(
                    allowed_folder(rules, path), progress=progress, limits=rules.archive_limits,
                    stay_inside=rules.public), path)

if note := st.session_state.pop("data_note", None):
    st.info(note)
dataset = current_dataset()
st.divider()
st.subheader(f"Current dataset: {escape(dataset.name)}")
st.caption(f"{len(dataset):,} images, {dataset.num_classes} classes, {dataset.n_unlabeled:,} without label, "
           f"{'grey' if dataset.channels == 1 else 'colour'}, stored at "
           f"{dataset.images.shape[-1]}×{dataset.images.shape[-2]} px")
if dataset.skipped:
    with st.expander(f"{len(dataset.skipped)} files skipped", expanded=True):
        st.dataframe([{"file": f, "reason": r} for f, r in dataset.skipped], hide_index=True)

st.subheader("Split")
labels_key = field_key("split", "labels_per_class")
if st.session_state[labels_key] is None:  # a share of the labels instead (the CLI's): the page asks per class
    st.session_state[labels_key] = 10
c1, c2, c3 = st.columns(3)
test_fraction = c1.slider("Held-out test fraction", 0.05, 0.5, step=0.05, key=field_key("split", "test_fraction"))
labels_per_class = c2.number_input("Labeled images per class", 1, 5000, key=labels_key)
seed = c3.number_input("Split seed", 0, 10_000, key=field_key("split", "seed"))
put(replace(settings(), split=SplitConfig(test_fraction=test_fraction, labels_per_class=int(labels_per_class),
                                          seed=int(seed))))
split = current_split()
m1, m2, m3 = st.columns(3)
m1.metric("Unlabeled pool (pretext)", f"{len(split.pool):,}")
m2.metric("Labeled (downstream)", f"{len(split.labeled):,}")
m3.metric("Held-out test", f"{len(split.test):,}")
for warning in split.warnings:
    st.warning(warning)
if dataset.num_classes < 2:
    st.info("This dataset has fewer than two labeled classes: the pretext task works, the downstream "
            "comparison needs at least two classes.")

left, right = st.columns([1, 2])
if dataset.num_classes:
    left.plotly_chart(class_count_figure(dataset.class_counts()), key="class_counts")
with right:
    st.markdown("**Samples per class**")
    scale = display_scale(dataset.images.shape[-1], 40)
    for cname, images in iter_class_samples(dataset, per_class=10):
        st.image(image_grid(images, columns=10, scale=scale), caption=escape(cname))  # a folder name, shown as typed
