"""The Data page's "Build in the browser" tab: classes, photos dropped or taken with the camera, thumbnails."""
from collections.abc import Callable

import numpy as np
import streamlit as st
import torch

from pages.ui.state import server, settings, workspace
from pages.ui.text import escape
from ssl_core.analysis.plots import image_grid
from ssl_core.app.deployment import Deployment
from ssl_core.data.builder import Added, BuilderError, DatasetBuilder
from ssl_core.data.user_images import UNLABELED_DIR

PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
THUMBNAILS = 12


def builder() -> DatasetBuilder:
    """The visitor's builder, kept in their workspace: page switches and reloads find it again."""
    space = workspace()
    if space.builder is None:
        space.builder = DatasetBuilder(max_photos=st.session_state.get("builder_cap", 20_000))
    return space.builder


def _fresh_widgets() -> None:
    """Empty the drop zones and the camera (their keys change) once their photos are in."""
    st.session_state.builder_generation = st.session_state.get("builder_generation", 0) + 1


def _added(result: Added, where: str) -> None:
    st.session_state.builder_note = (result, where)
    _fresh_widgets()
    st.rerun()


def _bucket(build: DatasetBuilder, name: str | None, generation: int, upload_mb: int) -> None:
    photos = build.bucket(name)
    title = name or f"{UNLABELED_DIR} (pretext only)"
    with st.container(border=True):
        head, rename, remove = st.columns([4, 1, 1])
        head.markdown(f"**{escape(title)}** · {len(photos):,} photo{'s' * (len(photos) != 1)}")
        if name is not None:
            with rename.popover("✏️ Rename"):
                new = st.text_input("New name", value=name, key=f"rename_text:{name}")
                if st.button("Rename", key=f"rename:{name}"):
                    try:
                        build.rename_class(name, new)
                        st.rerun()
                    except BuilderError as exc:
                        st.error(escape(exc))
            with remove.popover("🗑 Remove"):
                if st.button(f"Remove {escape(name)} and its {len(photos)} photos", key=f"remove:{name}"):
                    build.remove_class(name)
                    st.rerun()
        if photos:
            shown = photos[-THUMBNAILS:]
            grid = image_grid(torch.from_numpy(np.stack([p.pixels for p in shown])).permute(0, 3, 1, 2), THUMBNAILS)
            st.image(grid, width=min(len(shown), THUMBNAILS) * 66,
                     caption=None if len(photos) <= THUMBNAILS else f"the last {THUMBNAILS} of {len(photos):,}")
        drops = st.file_uploader(f"Drop photos into {title}", type=PHOTO_TYPES, accept_multiple_files=True,
                                 key=f"drop:{name}:{generation}", max_upload_size=upload_mb)
        if drops:
            _added(build.add_photos(name, [(f.name, f.getvalue()) for f in drops]), name or UNLABELED_DIR)


def builder_panel(rules: Deployment, use: Callable[[str, Callable, str], None]) -> None:
    """Everything of the tab; `use(dataset_id, load, what)` makes the built dataset the current one. What
    changed is kept in the store as this run ends (a rerun after a change included), for after a restart."""
    try:
        _panel(rules, use)
    finally:
        server().save_builder(workspace())


def _panel(rules: Deployment, use: Callable[[str, Callable, str], None]) -> None:
    st.session_state.builder_cap = rules.limits.archive_members
    build = builder()
    generation = st.session_state.get("builder_generation", 0)
    st.caption("Name a class, drop photos into it or take them with the camera, repeat. Photos you drop are "
               "added to what is there; switching pages keeps them.")
    if note := st.session_state.pop("builder_note", None):
        result, where = note
        (st.success if result.added else st.warning)(f"{result.added} photo{'s' * (result.added != 1)} added to "
                                                     f"{escape(where)}.")
        if result.skipped:
            st.dataframe([{"file": f, "reason": r} for f, r in result.skipped], hide_index=True)
    build.name = st.text_input("Dataset name", value=build.name, max_chars=40) or build.name
    with st.form("add_class", clear_on_submit=True, border=False):
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        new_class = left.text_input("New class", placeholder="e.g. cats")
        if right.form_submit_button("➕ Add class"):
            try:
                build.add_class(new_class)
            except BuilderError as exc:
                st.error(escape(exc))
    for name in list(build.classes):
        _bucket(build, name, generation, rules.limits.upload_mb)
    _bucket(build, None, generation, rules.limits.upload_mb)

    if st.toggle("📷 Take photos with the camera", key="builder_camera"):
        camera, choose = st.columns([3, 2])
        shot = camera.camera_input("Camera", key=f"camera:{generation}")
        targets = [*build.classes, None]
        into = choose.selectbox("Into", targets, format_func=lambda t: t or UNLABELED_DIR, key="camera_into")
        if shot is not None and choose.button(f"Add this photo to {into or UNLABELED_DIR}", key="camera_add",
                                              type="primary"):
            _added(build.add_photos(into, [(f"camera-{len(build) + 1}.jpg", shot.getvalue())]), into or UNLABELED_DIR)

    problem = build.problem()
    if not build.classes and not build.unlabeled:
        st.info("Start with a class: type its name above and press ➕ Add class, then drop photos into it.")
        return
    if problem:
        st.info(f"To use these photos, {problem}.")
        return
    counts = ", ".join(f"{n} {c}" for n, c in build.counts().items())
    st.markdown(f"**{len(build):,} photos**: {counts or 'no classes'}"
                + (f", {len(build.unlabeled)} unlabeled" if build.unlabeled else ""))
    left, right = st.columns(2)
    dataset_id = f"built:{build.digest()}"
    in_use = settings().dataset == dataset_id
    if left.button("✅ In use: the current dataset" if in_use else "✅ Use these photos", type="primary",
                   key="builder_use", disabled=in_use):
        use(dataset_id, lambda progress: build.to_dataset(), "these photos")
    right.download_button("⬇ Download as a zip of class folders", build.to_zip, file_name=f"{build.file_stem}.zip",
                          mime="application/zip", on_click="ignore",  # no rerun: see pages/downstream.py
                          help="Load it again later with Upload a .zip, or use it with the command line "
                               "(python -m ssl_core experiment --data FOLDER).")
