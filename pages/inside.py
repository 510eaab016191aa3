"""See inside: what the pretext task made of the network, against the same network with random weights."""
from collections.abc import Callable

import numpy as np
import streamlit as st
import torch

from pages.ui.state import current_dataset, current_split, deployment, get_job, settings, usable_pretrained
from pages.ui.text import escape
from ssl_core.analysis.activations import block_responses, clearest, first_filters, first_layer_change
from ssl_core.analysis.neighbours import BACKBONES, feature_bank, neighbours
from ssl_core.analysis.plots import data_uri, display_scale, embedding_figure, image_grid
from ssl_core.analysis.projection import LESS, METHODS, MORE, before_after
from ssl_core.data.images import ImageError
from ssl_core.engine.inference import prepare_photo
from ssl_core.engine.pretrain import initial_backbone
from ssl_core.engine.probe import PROBE_KEY

THUMBNAILS = 300  # pictures drawn on a map at most: each is a few hundred bytes sent to the browser
VIEWS = ("🗺️ Embedding map", "🔍 Filters & activations", "👯 Nearest neighbours")
BOX = {MORE: st.success, LESS: st.error}

st.title("🔬 See inside the network")
dataset, split = current_dataset(), current_split()
pretrained, why = usable_pretrained(dataset)
if pretrained is None:
    st.info(why + " This page then shows what the pretext task made of the network: its feature space, filters "
            "and activations, and which images it finds alike, each against the same network with random weights.")
    st.page_link("pages/train.py", label="Go to training", icon="🏋️")
    st.stop()
st.caption(f"The pretext model: {pretrained.task.describe()}, {pretrained.config.backbone} at "
           f"{pretrained.config.image_size} px. **Random weights** is the same network as it was before "
           "pretraining (same seed).")


def remembered(name: str, settings: tuple, make: Callable[[], object]) -> object:
    """Work done once per pretext model and settings (a map's t-SNE, a bank's features), kept for reruns."""
    store = st.session_state.setdefault("inside_cache", {})
    model, value = store.get((name, settings), (None, None))
    if model is not pretrained:
        value = make()
        store[(name, settings)] = (pretrained, value)
    return value


def chosen_image(key: str) -> tuple[torch.Tensor, str, int | None] | None:
    """A held-out image by number, or an uploaded photo: uint8 `(1, C, H, W)`, a caption, its class."""
    source = st.radio("Image", ["a held-out image", "my photo"], horizontal=True, key=f"{key}_source")
    if source == "my photo":
        upload = st.file_uploader("Photo (JPEG, PNG, WebP, BMP, GIF)", type=["jpg", "jpeg", "png", "webp", "bmp", "gif"],
                                  key=f"{key}_upload", max_upload_size=deployment().limits.upload_mb)
        if upload is None:
            return None
        try:
            photo = prepare_photo(upload.getvalue(), pretrained.config.image_size, dataset.channels,
                                  digit_like=not dataset.allow_flip and dataset.channels == 1)
        except ImageError as exc:
            st.error(f"**{escape(upload.name)}**: {escape(exc)}")
            return None
        return photo.tensor, upload.name, None
    if not len(split.test):
        st.info("This split holds no held-out images: upload a photo instead.")
        return None
    if f"{key}_number" not in st.session_state:  # start on a picture that shows something
        st.session_state[f"{key}_number"] = clearest(dataset.images[split.test])
    number = int(st.number_input(f"Held-out image (0 to {len(split.test) - 1:,})", 0, max(0, len(split.test) - 1),
                                 key=f"{key}_number"))
    row = int(split.test[number])
    label = int(dataset.labels[row])
    return dataset.images[row:row + 1], f"held-out image {number}", label if label >= 0 else None


def class_name(label: int) -> str:
    return dataset.class_names[label] if label >= 0 else "unlabeled"


def train_probe_words() -> str:
    """The Train page's last real-task figure for this model, to set beside this page's."""
    job = get_job("train_job")
    probes = [p.metrics[PROBE_KEY] for p in job.snapshot().epochs if PROBE_KEY in p.metrics] if job else []
    return f" (The Train page's last figure for this model: {probes[-1]:.1%}.)" if probes else ""


def embedding_map() -> None:
    test_labels = dataset.labels[split.test]
    if int((test_labels >= 0).sum()) < 3:
        st.info("An embedding map colours the held-out images by their class: this dataset has too few labeled "
                "held-out images.")
        return
    c1, c2, c3, c4 = st.columns(4)
    blocks = pretrained.backbone.num_blocks
    block = c1.slider("Features of block", 1, blocks, min(settings().downstream.block, blocks),
                      key="map_block", help="Which block's output is mapped (pooled as the linear probe reads it).")
    method = c2.radio("Projection", list(METHODS), format_func=METHODS.get, horizontal=True, key="map_method",
                      help="PCA keeps distances faithfully but flattens clusters; t-SNE shows clusters but "
                           "invents some distances. The numbers below do not depend on it.")
    sizes = [300, 1000] if deployment().public else [300, 1000, 2000, 3000]  # t-SNE: about 10 s per map of 3,000
    limit = c3.select_slider("Images", sizes, 1000, key="map_limit")
    pictures = c4.toggle("Pictures on the map", key="map_pictures",
                         help=f"Draw up to {THUMBNAILS} of the images at their points.")
    with st.spinner(f"Mapping {min(limit, len(split.test)):,} held-out images under both networks…"):
        result = remembered("map", (block, method, limit), lambda: before_after(
            pretrained, dataset.images[split.test], test_labels, dataset.num_classes, block, method, limit))
    st.caption("**How to read this:** each dot is a held-out image, placed by what the network's features make of "
               "it and coloured by its class (never shown to the pretext task). Same-colour dots close together "
               "mean features that already sort the classes: what a linear probe with few labels needs.")
    BOX.get(result.outcome, st.info)(result.summary())
    st.caption(f"These k-NN figures are not the Train page's *real task* chart: here each of {len(result.labels):,} "
               "held-out images is voted on by its 20 nearest among the other held-out images, all of them labeled; "
               f"there only the split's {len(split.labeled):,} labeled images vote, for up to 500 held-out images. "
               "More labels to vote with give a higher score from the same features." + train_probe_words())
    columns = st.columns(2)
    images = dataset.images[split.test][result.indices]
    for column, feature_map in zip(columns, (result.before, result.after)):
        sep = feature_map.separability
        column.metric(f"k-NN accuracy, {feature_map.title}", f"{sep.knn_accuracy:.1%}",
                      help="Each image's 20 nearest neighbours in feature space vote for its class (the image itself "
                           "left out); chance is the commonest class's share.")
        column.caption(f"Silhouette {sep.silhouette:+.2f} (−1 to 1: above 0, images sit nearer their own class "
                       "than the next one). Chance level: " f"{result.chance:.0%}.")
        thumbs = [data_uri(image) for image in images[:THUMBNAILS]] if pictures else []
        figure = embedding_figure(feature_map.points, result.labels.tolist(), dataset.class_names,
                                  f"{METHODS[method]} of block {result.block}, {feature_map.title}",
                                  thumbnails=thumbs)
        event = column.plotly_chart(figure, key=f"map_{feature_map.title}", on_select="rerun",
                                    selection_mode=("points", "box", "lasso"))
        rows = [p["customdata"] for p in event.selection.points if "customdata" in p][:48] if event else []
        if rows:
            column.image(image_grid(images[rows], columns=12, scale=display_scale(images.shape[-1], 40)),
                         caption=f"{len(rows)} selected: " + escape(", ".join(class_name(int(result.labels[r]))
                                                                               for r in rows[:24])))
        else:
            column.caption("Hover a point for its class; select points (click, box or lasso) to see the images.")


def filters_and_activations() -> None:
    st.subheader("First-layer filters")
    st.caption("Each square is one filter of the first convolution, in colour for colour input. Grey is zero; "
               "light and dark are the weights it adds and subtracts. **How to read this:** a 3×3 filter is too "
               "small to show a shape, so compare the two grids rather than single squares: after pretraining, "
               "light beside dark (an edge or stroke detector) is more common than in the random ones, and the "
               "figure below says how far the weights moved.")
    random_init = remembered("initial", (), lambda: initial_backbone(pretrained.config, pretrained.in_channels))
    for column, (title, net) in zip(st.columns(2), (("random weights", random_init),
                                                    ("after pretraining", pretrained.backbone))):
        kernels = first_filters(net)
        column.image(image_grid(kernels, columns=8, scale=max(4, 40 // kernels.shape[-1]), pad=1),
                     caption=f"{title}: {len(kernels)} filters of {kernels.shape[-1]}×{kernels.shape[-1]}")
    st.caption(f"Pretraining moved the first layer's weights by **{first_layer_change(random_init, pretrained.backbone):.0%}"
               "** of their starting size: little change means the pretext task was learned mostly in later layers.")
    st.subheader("Activation maps")
    left, right = st.columns([1, 3])
    with left:
        picked = chosen_image("activation")
        which = st.radio("Network", BACKBONES, index=1, horizontal=True, key="activation_net")
    if picked is None:
        right.info("Upload a photo to see what each block responds to.")
        return
    image, caption, _ = picked
    left.image(image_grid(image, scale=display_scale(pretrained.config.image_size, 128)), caption=caption)
    net = random_init.to(pretrained.device) if which == BACKBONES[0] else pretrained.backbone
    for response in block_responses(net, image, pretrained.config.image_size):
        scale = display_scale(response.size, 64)
        for column, picture in zip(right.columns(len(response.maps)), response.maps):  # apart, framed: a map can be
            framed = np.pad(image_grid(picture[None], scale=scale), ((2, 2), (2, 2), (0, 0)), constant_values=150)
            column.image(framed, width="stretch")  # all bright, as white as the page
        right.caption(f"Block {response.block}: its {len(response.channels)} most active of {response.width} channels, "
                      f"{response.size}×{response.size} (bright = strong response)")
    right.caption("**How to read this:** each square is where one channel responds on the image, brighter where it "
                  "responds more. Early blocks keep the image's layout and light up on strokes and edges; deeper "
                  "blocks see coarser cells (at 4×4 each covers a sixteenth of the image) and answer for parts of "
                  "the object. Switch to Random weights: the trained ones pick out the shape more cleanly.")


def nearest_neighbours() -> None:
    left, right = st.columns([1, 3])
    with left:
        picked = chosen_image("neighbours")
        blocks = pretrained.backbone.num_blocks
        block = st.slider("Features of block", 1, blocks, min(settings().downstream.block, blocks),
                          key="neighbour_block")
    if picked is None:
        right.info("Upload a photo to find the training images most like it.")
        return
    image, caption, label = picked
    left.image(image_grid(image, scale=display_scale(pretrained.config.image_size, 128)),
               caption=escape(caption + (f" · class {class_name(label)}" if label is not None else "")))
    pool = split.pool
    with st.spinner("Computing the features of the training images under both networks…"):
        bank = remembered("bank", (block,), lambda: feature_bank(pretrained, dataset.images[pool], dataset.labels[pool],
                                                                 block))
    found = neighbours(bank, image)
    scale = display_scale(pretrained.config.image_size, 72)
    for name, result in found.items():
        labels = [int(bank.labels[i]) for i in result.indices]
        same = sum(1 for x in labels if label is not None and x == label)
        note = f": {same} of {len(labels)} are of class {escape(class_name(label))}" if label is not None else ""
        right.markdown(f"**{name}**{note}")
        for column, i, sim, x in zip(right.columns(len(labels)), result.indices, result.similarities, labels):
            column.image(image_grid(bank.images[i:i + 1], scale=scale), caption=f"{escape(class_name(x))} · {sim:.2f}")
    searched = (f"The {len(pool):,}" if len(bank.images) == len(pool) else
                f"A fixed random {len(bank.images):,} of the {len(pool):,}")
    right.caption(f"{searched} pretext training images searched by cosine similarity of block {bank.block}'s "
                  "features (the number under each). Their labels were never used in pretraining. **How to read "
                  "this:** if the pretrained row holds more images of the same class than the random row, the "
                  "features learned what makes the class, without a single label.")


view = st.radio("View", VIEWS, horizontal=True, key="inside_view", label_visibility="collapsed")
{VIEWS[0]: embedding_map, VIEWS[1]: filters_and_activations, VIEWS[2]: nearest_neighbours}[view]()
