"""Home: what self-supervised learning is, shown on one real photo."""
import importlib.util
from pathlib import Path

import numpy as np
import streamlit as st
import torch
from PIL import Image

from ssl_core.pretext import make_task, parse_options, task_type


def sample_photo() -> torch.Tensor:
    """scikit-learn's sample flower photo, read from its file: importing scikit-learn for one JPEG
    would cost the server about 130 MB."""
    package = importlib.util.find_spec("sklearn").submodule_search_locations[0]
    array = np.asarray(Image.open(Path(package) / "datasets" / "images" / "flower.jpg").convert("RGB"))
    photo = torch.from_numpy(array[:, 100:527].copy()).permute(2, 0, 1)
    return torch.nn.functional.interpolate(photo[None].float(), size=(192, 192), antialias=True,
                                           mode="bilinear").round().clamp(0, 255).to(torch.uint8)


@st.cache_data
def example_views() -> tuple:
    photo = sample_photo()
    rotations = make_task("rotation").preview(photo, torch.Generator().manual_seed(0), augmented=False)
    jigsaw = make_task("jigsaw", parse_options(task_type("jigsaw").Settings,
                                               ["grid=3", "permutations=100", "grey_fraction=0"]))
    return rotations, jigsaw.preview(photo, torch.Generator().manual_seed(3), augmented=False)


st.title("🧩 SSL Playground")
st.markdown(
    "**Self-supervised learning** trains a network on a *pretext task* whose labels come for free from the "
    "images themselves: rotate a photo and ask which way is up, or shuffle its tiles and ask for the order. "
    "Solving it forces the network to learn what objects look like. The learned features then help the "
    "**downstream task** you care about (say, telling flowers apart) when only a few images have labels.")

rotations, jigsaw = example_views()
st.subheader("One photo, two pretext tasks")
st.caption("Rotation: the pseudo-label is the angle.")
for column, sample in zip(st.columns(len(rotations)), rotations):
    column.image(sample.image, caption=sample.caption, width=150)
st.caption("Jigsaw: the pseudo-label is which shuffling of the tiles was applied.")
left, right, _ = st.columns([1, 1, 2])
left.image(jigsaw[0].image, caption="original", width=190)
right.image(jigsaw[1].image, caption=jigsaw[1].caption, width=190)

st.subheader("The journey")
steps = [
    ("pages/data.py", "1. Data", "pick a dataset: built-in digits, MNIST/CIFAR, or your own photos"),
    ("pages/pretext.py", "2. Pretext", "see the generated samples and their pseudo-labels"),
    ("pages/train.py", "3. Train", "pretrain on the pretext task with live curves"),
    ("pages/downstream.py", "4. Downstream & photos", "few labels: SSL vs from scratch, then your photos"),
]
for path, label, text in steps:
    st.page_link(path, label=f"**{label}**: {text}")
