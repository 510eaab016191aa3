"""Plotly figures and image grids the pages show (no Streamlit here)."""
from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import pandas  # noqa: F401  plotly imports it lazily, outside the import lock: two sessions drawing their first
import plotly.graph_objects as go  # chart at once could see it half-imported (the five-visitor load test did)
import torch
from PIL import Image

from ssl_core.analysis.report import Point
from ssl_core.engine.metrics import ACCURACY, PSNR, Metric
from ssl_core.engine.train import EpochPoint, StepPoint
from ssl_core.pretext.base import to_display

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def image_grid(images: torch.Tensor, columns: int = 8, scale: int = 1, pad: int = 1) -> np.ndarray:
    """(N, C, H, W) uint8 -> one (rows*H, columns*W, 3) picture, upscaled by nearest neighbour."""
    if not len(images):
        return np.full((8, 8, 3), 255, np.uint8)
    n, _, h, w = images.shape
    columns = min(columns, n)
    rows = -(-n // columns)
    canvas = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad, 3), 255, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        canvas[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = to_display(image)
    return upscale(canvas, scale)


def upscale(picture: np.ndarray, scale: int) -> np.ndarray:
    return picture if scale <= 1 else picture.repeat(scale, 0).repeat(scale, 1)


def display_scale(size: int, target: int = 96) -> int:
    return max(1, target // max(size, 1))


def _layout(fig: go.Figure, title: str, height: int, xaxis: str, yaxis: str) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=50, r=20, t=50, b=45),
                      xaxis_title=xaxis, yaxis_title=yaxis, legend=dict(orientation="h", y=-0.25),
                      template="plotly_white")
    return fig


def loss_figure(steps: Sequence[StepPoint], epochs: Sequence[EpochPoint], height: int = 320) -> go.Figure:
    """Training loss per logged step, held-out loss per epoch, one colour per run."""
    fig = go.Figure()
    for i, run in enumerate(dict.fromkeys(p.run for p in list(steps) + list(epochs))):
        colour = PALETTE[i % len(PALETTE)]
        xs = [p.step for p in steps if p.run == run]
        fig.add_trace(go.Scatter(x=xs, y=[p.loss for p in steps if p.run == run], mode="lines",
                                 name=f"{run}: train loss", line=dict(color=colour)))
        held = [p for p in epochs if p.run == run and "test_loss" in p.metrics]
        if held:
            fig.add_trace(go.Scatter(x=[p.step for p in held], y=[p.metrics["test_loss"] for p in held],
                                     mode="lines+markers", name=f"{run}: held-out loss",
                                     line=dict(color=colour, dash="dash")))
    return _layout(fig, "Loss", height, "step", "loss")


def epoch_metric(epochs: Sequence[EpochPoint]) -> Metric:
    """The metric the epoch records carry (`train_<key>`): accuracy, or PSNR for tasks that paint."""
    keys = {k for p in epochs for k in p.metrics}
    return next((m for m in (PSNR, ACCURACY) if f"train_{m.key}" in keys), ACCURACY)


def metric_figure(epochs: Sequence[EpochPoint], height: int = 320, baseline: float | None = None,
                  baseline_label: str = "chance") -> go.Figure:
    """Train and held-out metric per epoch, one colour per run, with the trivial answer's score."""
    metric = epoch_metric(epochs)
    train_key, test_key = f"train_{metric.key}", f"test_{metric.key}"
    fig = go.Figure()
    for i, run in enumerate(dict.fromkeys(p.run for p in epochs)):
        colour = PALETTE[i % len(PALETTE)]
        points = [p for p in epochs if p.run == run and train_key in p.metrics]
        fig.add_trace(go.Scatter(x=[p.epoch for p in points], y=[p.metrics[train_key] for p in points],
                                 mode="lines+markers", name=f"{run}: train", line=dict(color=colour, dash="dot")))
        held = [p for p in points if test_key in p.metrics]
        if held:
            fig.add_trace(go.Scatter(x=[p.epoch for p in held], y=[p.metrics[test_key] for p in held],
                                     mode="lines+markers", name=f"{run}: held-out", line=dict(color=colour)))
    if baseline is not None:
        fig.add_hline(y=baseline, line=dict(color="grey", dash="dot"), annotation_text=baseline_label)
    if metric.fraction:
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    last = max((p.epoch for p in epochs), default=1)
    fig.update_xaxes(tick0=1, dtick=max(1, round(last / 8)))  # whole epochs only, never 0.5
    label = metric.label + (f" ({metric.unit.strip()})" if metric.unit else "")
    return _layout(fig, label[0].upper() + label[1:], height, "epoch", label)


def comparison_figure(epochs: Sequence[EpochPoint], chance: float, height: int = 340) -> go.Figure:
    """Each model's held-out accuracy as its training goes on. The x axis is the share of that model's own
    schedule: with few labels every model trains a minimum number of steps, so one-step epochs run past the
    epochs asked for, and the models' schedules differ."""
    fig = go.Figure()
    for i, run in enumerate(dict.fromkeys(p.run for p in epochs)):
        held = [p for p in epochs if p.run == run and "test_accuracy" in p.metrics]
        if held:
            last = max(p.epochs for p in held) or 1
            fig.add_trace(go.Scatter(x=[100 * p.epoch / last for p in held], y=[p.metrics["test_accuracy"] for p in held],
                                     mode="lines+markers", name=run, line=dict(color=PALETTE[i % len(PALETTE)])))
    fig.add_hline(y=chance, line=dict(color="grey", dash="dot"), annotation_text="chance")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    fig.update_xaxes(range=[0, 101], ticksuffix="%")
    return _layout(fig, "Test accuracy while each model trains", height, "share of its training done",
                   "test accuracy")


def confusion_figure(confusion: torch.Tensor, names: Sequence[str], title: str, height: int = 360) -> go.Figure:
    counts = confusion.numpy()
    totals = counts.sum(1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    labels = [str(n) for n in names]
    fig = go.Figure(go.Heatmap(z=share, x=labels, y=labels, colorscale="Blues", zmin=0, zmax=1,
                               text=counts, texttemplate="%{text}" if len(labels) <= 12 else None,
                               hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
                               colorbar=dict(title="share", tickformat=".0%")))
    fig.update_yaxes(autorange="reversed", title="true", type="category")
    fig.update_xaxes(title="predicted", type="category")
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=50, b=50), template="plotly_white")
    return fig


def probability_figure(names: Sequence[str], series: dict[str, Sequence[float]], height: int = 300) -> go.Figure:
    """Class probabilities of several models side by side."""
    fig = go.Figure()
    for i, (label, probs) in enumerate(series.items()):
        fig.add_trace(go.Bar(x=[str(n) for n in names], y=list(probs), name=label,
                             marker_color=PALETTE[i % len(PALETTE)]))
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    fig.update_xaxes(type="category")
    return _layout(fig, "Class probabilities", height, "class", "probability")


def class_count_figure(counts: dict[str, int], height: int = 260) -> go.Figure:
    fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values()), marker_color=PALETTE[0]))
    fig.update_xaxes(type="category")
    return _layout(fig, "Images per class", height, "class", "images")


def budget_figure(points: Sequence[Point], height: int = 380) -> go.Figure:
    """Test accuracy against labels per class, mean and spread over seeds, one line per mode."""
    from statistics import fmean, pstdev

    from ssl_core.engine.downstream import MODE_TITLES

    fig = go.Figure()
    for i, mode in enumerate(m for m in MODE_TITLES if any(p.mode == m for p in points)):
        budgets = sorted({p.budget for p in points if p.mode == mode})
        means, spreads = [], []
        for budget in budgets:
            values = [p.accuracy for p in points if p.mode == mode and p.budget == budget]
            means.append(fmean(values))
            spreads.append(pstdev(values) if len(values) > 1 else 0.0)
        fig.add_trace(go.Scatter(x=budgets, y=means, error_y=dict(type="data", array=spreads, visible=True),
                                 mode="lines+markers", name=MODE_TITLES[mode], line=dict(color=PALETTE[i])))
    key = points[0].budget_key if points else "labels_per_class"
    ticks = sorted({p.budget for p in points})  # only the budgets measured, not log-axis minor ticks
    if key == "labels_per_class":
        fig.update_xaxes(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
    else:
        fig.update_xaxes(tickvals=ticks, tickformat=".0%")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    title = "labels per class" if key == "labels_per_class" else "fraction of labels"
    return _layout(fig, "Test accuracy vs labels", height, title, "test accuracy")


def block_figure(scores: dict[int, float], height: int = 300) -> go.Figure:
    best = max(scores, key=scores.get) if scores else None
    colours = [PALETTE[2] if block == best else PALETTE[0] for block in scores]
    fig = go.Figure(go.Bar(x=[f"block {b}" for b in scores], y=list(scores.values()), marker_color=colours,
                           text=[f"{v:.1%}" for v in scores.values()], textposition="outside"))
    fig.update_yaxes(range=[0, 1.08], tickformat=".0%")
    return _layout(fig, "Linear probe accuracy per backbone block", height, "features read from", "test accuracy")


CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf")


def embedding_figure(points: np.ndarray, labels: Sequence[int], names: Sequence[str], title: str,
                     height: int = 420, thumbnails: Sequence[str] = ()) -> go.Figure:
    """Points coloured by their true class, one trace per class (the legend toggles classes). With
    `thumbnails` (PNG data URIs, one per point) the pictures are drawn at their points instead."""
    fig = go.Figure()
    labels = np.asarray(labels)
    for k, name in enumerate(names):
        rows = np.nonzero(labels == k)[0]
        if not len(rows):
            continue
        fig.add_trace(go.Scattergl(
            x=points[rows, 0], y=points[rows, 1], mode="markers", name=str(name), customdata=rows,
            marker=dict(size=6 if not thumbnails else 2, color=CLASS_COLOURS[k % len(CLASS_COLOURS)], opacity=0.8),
            hovertemplate=f"class {name}<br>image %{{customdata}}<extra></extra>"))
    if len(thumbnails):
        span = max(float(np.ptp(points[:, 0])), float(np.ptp(points[:, 1])), 1e-9) / 25
        fig.update_layout(images=[dict(source=uri, x=float(x), y=float(y), xref="x", yref="y", sizex=span, sizey=span,
                                       xanchor="center", yanchor="middle", layer="above")
                                  for uri, (x, y) in zip(thumbnails, points)])
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False, scaleanchor="x")
    fig = _layout(fig, title, height, "", "")
    fig.update_layout(legend=dict(orientation="v", y=1, x=1.02, itemsizing="constant"),
                      margin=dict(l=20, r=20, t=50, b=20))
    return fig


def feature_figure(epochs: Sequence[EpochPoint], chance: float | None = None, height: int = 320) -> go.Figure:
    """What the features know of the real task while the pretext trains (k-NN probe, from before the
    first epoch), and the collapse meter of a contrastive run: both 0..1."""
    from ssl_core.engine.probe import PROBE_KEY, PROBE_START_KEY
    from ssl_core.pretext.contrastive import COLLAPSE_KEY

    fig = go.Figure()
    probed = [p for p in epochs if PROBE_KEY in p.metrics]
    start = [p for p in epochs if PROBE_START_KEY in p.metrics][:1]  # the first epoch's record, probed then or not
    if probed or start:
        xs = [0] * len(start) + [p.epoch for p in probed]
        ys = [p.metrics[PROBE_START_KEY] for p in start] + [p.metrics[PROBE_KEY] for p in probed]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name="k-NN on the real labels (held-out)",
                                 line=dict(color=PALETTE[2])))
    collapse = [p for p in epochs if COLLAPSE_KEY in p.metrics]
    if collapse:
        fig.add_trace(go.Scatter(x=[p.epoch for p in collapse], y=[p.metrics[COLLAPSE_KEY] for p in collapse],
                                 mode="lines+markers", name="collapse meter (0% spread out, 100% collapsed)",
                                 line=dict(color=PALETTE[3], dash="dash")))
    if chance is not None and probed:
        fig.add_hline(y=chance, line=dict(color="grey", dash="dot"), annotation_text="chance")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    last = max((p.epoch for p in epochs), default=1)
    fig.update_xaxes(tick0=0, dtick=max(1, round(last / 8)))
    fig = _layout(fig, "The real task, meanwhile", height, "epoch (0 = before training)", "")
    return fig.update_layout(showlegend=True)


def data_uri(image: torch.Tensor) -> str:
    """One uint8 image `(C, H, W)` as a PNG data URI (for pictures inside a figure)."""
    buffer = io.BytesIO()
    Image.fromarray(to_display(image)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
