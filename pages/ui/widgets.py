"""Widgets more than one page draws: the verdict boxes, the headline, a task's gallery and live curves,
reconstruction showcases and the glossary."""
from __future__ import annotations

import streamlit as st
import torch

from pages.ui.text import escape, escape_html
from ssl_core.analysis.comparison import Comparison
from ssl_core.analysis.plots import display_scale, feature_figure, loss_figure, metric_figure, upscale
from ssl_core.analysis.verdict import AT_CHANCE, HELPED, HURT, TOO_FEW, Verdict
from ssl_core.app.glossary import TERMS
from ssl_core.app.jobs import Snapshot
from ssl_core.data.augment import resize_all
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import Split
from ssl_core.engine.downstream import MODE_TITLES
from ssl_core.engine.pretrain import PretrainConfig
from ssl_core.engine.probe import PROBE_KEY
from ssl_core.pretext import PretextSample
from ssl_core.pretext.contrastive import COLLAPSE_KEY

COLLAPSE_WARNING = 0.5  # the collapse meter's level where a contrastive run is losing its spread


def glossary() -> None:
    """The app's words, one line each (the sidebar's 📖 Glossary and Home)."""
    st.markdown("\n".join(f"- **{name}**: {text}" for name, text in TERMS.items()))


BOXES = {HELPED: st.success, HURT: st.error, AT_CHANCE: st.warning, TOO_FEW: st.info}


def verdict_box(verdict: Verdict) -> None:
    BOXES.get(verdict.outcome, st.info)(escape(verdict.text))


def gallery(dataset: ImageDataset, split: Split, config: PretrainConfig, seed: int, count: int = 6,
            width: int = 160, groups_per_row: int | None = None) -> None:
    """`count` images of the pretext pool as training turns them into samples (whole groups to a row:
    one image's rotations, or two pairs), or why it cannot. With `groups_per_row` the pictures
    stretch to their columns (presenter mode: as large as the screen allows)."""
    task = config.make_task()  # as training builds it: same settings, same seed
    generator = torch.Generator().manual_seed(seed)
    pool = split.pool if len(split.pool) else torch.arange(len(dataset))
    picks = pool[torch.randperm(len(pool), generator=generator)[:count]]
    images = resize_all(dataset.images[picks], config.image_size)
    try:
        samples = task.preview(images, generator, allow_flip=dataset.allow_flip)
    except ValueError as exc:
        st.warning(escape(exc))
        return
    scale = display_scale(images.shape[-1], width)
    group = task.gallery_group
    per_row = group * (groups_per_row or max(1, 4 // group))
    for start in range(0, len(samples), per_row):
        for column, sample in zip(st.columns(per_row), samples[start:start + per_row]):
            shown = "stretch" if groups_per_row else min(width, max(120, sample.image.shape[1] * scale))
            column.image(upscale(sample.image, scale), caption=sample.caption, width=shown)


def pretext_curves(snap: Snapshot, key: str, font_size: int | None = None, height: int = 320,
                   chance: float | None = None) -> None:
    """Loss and metric curves of a pretext job, what its features know of the real task (the live
    k-NN probe, and a contrastive run's collapse meter), and what a reconstruction task paints now."""
    score = snap.result.evaluation if snap.result else None
    figures = [loss_figure(snap.steps, snap.epochs, height),
               metric_figure(snap.epochs, height, baseline=score.baseline if score else None,
                             baseline_label=score.baseline_label if score else "")]
    if any(PROBE_KEY in p.metrics or COLLAPSE_KEY in p.metrics for p in snap.epochs):
        figures.append(feature_figure(snap.epochs, chance, height))
    for column, figure, name in zip(st.columns(len(figures)), figures, ("loss", "metric", "features")):
        if font_size:  # Streamlit's chart theme sets its own small type
            figure.update_layout(font_size=font_size, title_font_size=font_size + 4)
        column.plotly_chart(figure, key=f"{key}_{name}", theme=None if font_size else "streamlit")
    if len(figures) == 3 and any(PROBE_KEY in p.metrics for p in snap.epochs):
        st.caption("**Does the pretext task teach the real task?** After every epoch the features of the labeled "
                   "images vote (k-NN, nothing trained) for the class of held-out images; epoch 0 is the untrained "
                   "network. The labels never reach the pretext training.")
    collapse = [p.metrics[COLLAPSE_KEY] for p in snap.epochs if COLLAPSE_KEY in p.metrics]
    if collapse and collapse[-1] > COLLAPSE_WARNING:
        st.warning(f"Collapse meter at {collapse[-1]:.0%}: the embeddings are bunching together, so views stop "
                   "being told apart. A higher temperature or a lower learning rate usually helps.")
    if snap.showcase:
        epoch = max((p.epoch for p in snap.epochs), default=0)
        st.markdown(f"**What the network paints now** on held-out images (after epoch {epoch}):")
        showcase(snap.showcase)


def showcase(samples: tuple[PretextSample, ...], per_image: int = 3, width: int = 96) -> None:
    """Pictures in groups of `per_image` (input, network, truth), two groups to a row."""
    per_row = per_image * 2
    for start in range(0, len(samples), per_row):
        for column, sample in zip(st.columns(per_row), samples[start:start + per_row]):
            scale = max(1, width // sample.image.shape[1])
            column.image(upscale(sample.image, scale), caption=sample.caption, width=width)


def headline(comparison: Comparison, sentence: bool = True) -> None:
    """Two numbers a room can read from the back, and one sentence with the interval (left out where the page's
    verdict boxes say it next)."""
    mode = comparison.best_mode()
    if mode is None:
        return
    verdict = comparison.verdicts[mode]
    big = ("<div style='display:flex;gap:4rem;align-items:flex-end'>"
           "<div><div style='font-size:1.4rem'>{}</div><div style='font-size:5rem;font-weight:700;"
           "line-height:1.1;color:{}'>{:.0%}</div></div>"
           "<div><div style='font-size:1.4rem'>from scratch</div><div style='font-size:5rem;font-weight:700;"
           "line-height:1.1'>{:.0%}</div></div></div>")
    colour = "#1a7f37" if verdict.outcome == HELPED else "inherit"
    st.markdown(big.format(MODE_TITLES[mode], colour, comparison.mean(mode), comparison.mean("scratch")),
                unsafe_allow_html=True)
    if sentence:
        # HTML, so that no markdown reads in it
        st.markdown(f"<p style='font-size:1.5rem'>{escape_html(verdict.text)}</p>", unsafe_allow_html=True)
