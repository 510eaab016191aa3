"""Home: what self-supervised learning is, shown on one real photo."""
from pathlib import Path

import numpy as np
import streamlit as st
import torch
from PIL import Image

from pages.ui.params import PRESENT_PARAM
from pages.ui.state import apply_talk
from ssl_core.pretext import TASKS, make_task, parse_options

PHOTO = Path(__file__).resolve().parents[1] / "assets" / "home" / "flower.png"


def sample_photo() -> torch.Tensor:
    """The photo Home shows under every task (assets/home/README.md says where it comes from)."""
    array = np.asarray(Image.open(PHOTO).convert("RGB"))
    return torch.from_numpy(array.copy()).permute(2, 0, 1)[None]


EXPLANATORY = {  # settings that make the clearest picture of one photo (the gallery shows the training ones)
    "jigsaw": ["grid=3", "permutations=100", "grey_fraction=0"],
    "context": ["grey_fraction=0"],
    "simclr": ["grey_probability=0"],
}
CAPTIONS = {
    "jigsaw": "the pseudo-label is which shuffling of the tiles was applied",
    "context": "the pseudo-label is where the patch sits around the centre",
    "colorization": "the target is the colours of the grey picture",
    "inpainting": "the target is what was blanked out",
    "superres": "the target is the detail lost by shrinking",
    "simclr": "two random views of one photo must be matched",
}


@st.cache_data
def example_views() -> dict[str, list]:
    """Each task's samples of one photo (SimCLR's batch also holds the photo mirrored: it needs two)."""
    photo = sample_photo()
    views = {}
    for name in TASKS:
        task = make_task(name, parse_options(TASKS[name].Settings, EXPLANATORY.get(name, [])))
        images = torch.cat([photo, photo.flip(-1)]) if name == "simclr" else photo
        samples = task.preview(images, torch.Generator().manual_seed(3), augmented=False)
        views[name] = samples[:task.gallery_group]
    return views


st.title("🧩 SSL Playground")
st.markdown(
    "**Self-supervised learning** trains a network on a *pretext task* whose labels come for free from the "
    "images themselves: rotate a photo and ask which way is up, or shuffle its tiles and ask for the order. "
    "Solving it forces the network to learn what objects look like. The learned features then help the "
    "**downstream task** you care about (say, telling flowers apart) when only a few images have labels.")


def give_a_talk() -> None:
    apply_talk()
    st.session_state.present_step = 0
    st.session_state.present_from = ""  # ✕ comes back here
    st.query_params[PRESENT_PARAM] = "1"


def own_photos() -> None:
    st.session_state.pop("data_source", None)
    st.session_state.data_source_kept = "Your images"


st.subheader("Three ways in")
explore, talk, photos = st.columns(3)
with explore.container(border=True):
    st.markdown("**🔍 Explore the pretext tasks**\n\nSee the puzzles each task makes of the images, guess the "
                "answers yourself, train one with live curves, then look inside the network.")
    st.page_link("pages/pretext.py", label="Start exploring", icon="🔄")
with talk.container(border=True):
    st.markdown("**🎤 Give a talk**\n\nPresenter mode with the talk preset: rotation on the built-in digits, then "
                "the same network with 1 label per class against training from scratch. Three steps, large type, "
                "its time predicted on this machine.")
    if st.button("Give a talk", type="primary", on_click=give_a_talk, key="home_talk"):
        st.rerun()
with photos.container(border=True):
    st.markdown("**📷 Try your own photos**\n\nMake classes and drop photos in them in the browser (or bring a zip), "
                "pretrain on them, and see whether it beats training from scratch on your few labels.")
    if st.button("Use my photos", on_click=own_photos, key="home_photos"):
        st.switch_page("pages/data.py")

views = example_views()
st.subheader(f"One photo, {len(views)} pretext tasks")
st.caption("Rotation: the pseudo-label is the angle.")
for column, sample in zip(st.columns(4), views.pop("rotation")):
    column.image(sample.image, caption=sample.caption, width=150)
for row in range(0, len(views), 2):
    for column, name in zip(st.columns(2), list(views)[row:row + 2]):
        column.caption(f"{TASKS[name].title}: {CAPTIONS.get(name, TASKS[name].explanation)}.")
        for inner, sample in zip(column.columns(2), views[name]):
            inner.image(sample.image, caption=sample.caption, width=150)

st.subheader("The journey")
steps = [
    ("pages/data.py", "1. Data", "pick a dataset: built-in digits, MNIST/CIFAR, or your own photos"),
    ("pages/pretext.py", "2. Pretext", "see the generated samples and their pseudo-labels, and guess them yourself"),
    ("pages/train.py", "3. Train", "pretrain on the pretext task with live curves"),
    ("pages/downstream.py", "4. Downstream & photos", "few labels: SSL vs from scratch, then your photos"),
    ("pages/inside.py", "See inside", "what the features became: embedding maps, filters, nearest neighbours"),
]
for path, label, text in steps:
    st.page_link(path, label=f"**{label}**: {text}")
