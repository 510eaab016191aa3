"""Step 2: the pretext task and a gallery of its generated samples."""
import time

import streamlit as st
import torch

from pages.common import current_dataset, current_split
from ssl_core.pretext import JigsawTask, RotationTask
from ssl_core.plots import display_scale

st.title("2. Pretext task")
settings = st.session_state.pretext
# Keyed widgets start from the saved settings each time the page is entered (Streamlit
# drops a page's widget state when the user leaves it).
for key, value in (("pretext_task", settings["task"]), ("pretext_angles", list(settings["angles"])),
                   ("pretext_grid", settings["grid"])):
    st.session_state.setdefault(key, value)


def save_settings() -> None:
    """Widget callback: runs before the next script run, so the sidebar shows the new task."""
    state = st.session_state
    settings["task"] = state.pretext_task
    if len(state.get("pretext_angles", [])) >= 2:
        settings["angles"] = tuple(sorted(state.pretext_angles))
    settings["grid"] = state.get("pretext_grid", settings["grid"])
    perms_key = f"pretext_perms_{settings['grid']}"
    if perms_key in state:
        settings["permutations"] = state[perms_key]


task_name = st.radio("Task", ["rotation", "jigsaw"], horizontal=True, format_func=str.capitalize, key="pretext_task",
                     on_change=save_settings)

if task_name == "rotation":
    st.markdown("The network sees each image under every chosen rotation **in the same batch** and must say "
                "which one it is (RotNet, Gidaris et al. 2018). To tell 90° from 270° it must know what is up.")
    angles = st.multiselect("Angles", [0, 90, 180, 270], format_func=lambda a: f"{a}°", key="pretext_angles",
                            on_change=save_settings)
    if len(angles) < 2:
        st.warning("Choose at least two angles.")
        st.stop()
    task = RotationTask(tuple(angles))
    settings.update(task="rotation", angles=task.angles)
else:
    st.markdown("The image is cut into tiles with a random gap, the tiles are shuffled by one permutation of a "
                "fixed set, and the network must say which (Noroozi & Favaro 2016). The set is chosen for "
                "maximal average Hamming distance, so its classes differ in many tiles.")
    c1, c2 = st.columns(2)
    grid = c1.radio("Grid", [2, 3], horizontal=True, format_func=lambda g: f"{g}×{g}", key="pretext_grid",
                    on_change=save_settings)
    limit = 24 if grid == 2 else 1000
    count = c2.slider("Permutations", 2, limit, min(settings["permutations"], limit), key=f"pretext_perms_{grid}",
                      on_change=save_settings)
    started = time.perf_counter()
    task = JigsawTask(grid=grid, num_permutations=count)
    st.caption(f"{count} permutations chosen in {time.perf_counter() - started:.2f} s; "
               f"minimum Hamming distance between any two: **{task.min_distance}** of {grid * grid} tiles.")
    settings.update(task="jigsaw", grid=grid, permutations=count)

dataset = current_dataset()
split = current_split()
st.divider()
left, right = st.columns([3, 1])
left.subheader(f"Samples from {dataset.name}")
if right.button("🎲 New samples"):
    st.session_state.gallery_seed = st.session_state.get("gallery_seed", 0) + 1
seed = st.session_state.get("gallery_seed", 0)
generator = torch.Generator().manual_seed(seed)
pool = split.pool if len(split.pool) else torch.arange(len(dataset))
picks = pool[torch.randperm(len(pool), generator=generator)[:6]]
images = dataset.images[picks]
samples = task.preview(images, generator)
scale = display_scale(images.shape[-1], 112)
width = 120 if task_name == "rotation" else 160
group = len(samples) // len(images)  # samples made from one image
per_row = group * max(1, 4 // group)  # whole groups only: one image's rotations, or two jigsaw pairs
for start in range(0, len(samples), per_row):
    for column, sample in zip(st.columns(4), samples[start:start + per_row]):
        column.image(sample.image.repeat(scale, 0).repeat(scale, 1), caption=sample.caption, width=width)
st.page_link("pages/train.py", label="Next: train on this task →", icon="🏋️")
