"""Starting a visitor's background jobs from a page, predicting how long they take, and following them live."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from pages.ui.state import checkpointer, current_dataset, deployment, get_job, server, settings, workspace
from pages.ui.text import escape
from ssl_core.app.jobs import FAILED, RUNNING, WAITING, Job, JobBusy, Snapshot
from ssl_core.app.runs import comparison_after, comparison_work, describe_comparison, describe_pretext, pretext_work
from ssl_core.app.workspaces import Checkpointer
from ssl_core.data.datasets import ImageDataset
from ssl_core.data.splits import Split
from ssl_core.engine.model_file import to_bytes
from ssl_core.engine.pretrain import PretrainConfig, PretrainResult
from ssl_core.engine.recipe import Speed, calibrate, comparison_seconds, pretext_seconds

# Seconds between refreshes of a running job's progress bar, and of its charts. Redrawing charts costs CPU
# that training shares on a small machine: with both every second, a 2-core pretext run took 218 s with
# its page open against 147 s with the page closed; with both every 2 s, 171 s.
LIVE_REFRESH_S = 2.0
CHART_REFRESH_S = 6.0


@dataclass(frozen=True)
class Estimate:
    pretext: float
    comparison: float


def measured_speed(dataset: ImageDataset, config: PretrainConfig, downstream_batch: int) -> Speed:
    """This device's speed for `config` on `dataset` (timed once per setting in a process)."""
    deployment()  # thread settings first: training runs under them
    with st.spinner("Timing a few training steps on this device…"):
        return calibrate(config, dataset.channels, max(dataset.num_classes, 2), downstream_batch)


def predicted_seconds(dataset: ImageDataset, split: Split, config: PretrainConfig) -> Estimate:
    """Pretext training with `config` and the comparison with the visitor's Downstream settings, on this device."""
    down = settings().downstream
    speed = measured_speed(dataset, config, down.batch_size)
    return Estimate(pretext_seconds(config, len(split.pool), len(split.test), speed),
                    down.seeds * comparison_seconds(down.config(), len(split.labeled), len(split.test), down.modes,
                                                    speed))


def start_job(key: str, kind: str, title: str, make_work: Callable[[], Callable[[Job], object]],
              after: Job | None = None, rerun: bool = True, described: str = "",
              checkpoint: Checkpointer | None = None) -> Job | None:
    """Start this visitor's job `key` (it waits for `after` and for a free slot) and rerun; a refusal
    (busy, line full, bad input) shows as an error and returns None. `described` says its settings in the
    run history; a pretext job's `checkpoint` (what its work saves through) lets a restart put it back in
    line or resume it; a comparison's models are kept for after a restart."""
    dataset = current_dataset()
    keep = None
    if kind == "downstream":  # its models are kept for after a restart, replacing those kept before
        keep, workspace().kept_models = (lambda comparison: to_bytes(comparison.pretrained, comparison, dataset)), None
    try:
        job = server().start_job(workspace(), key, kind, title, make_work(), after=after, settings=described,
                                 dataset=dataset.name, checkpoint=checkpoint, keep=keep)
    except (JobBusy, ValueError) as exc:
        st.error(escape(exc))
        return None
    if rerun:
        st.rerun()
    return job


def start_comparison(dataset: ImageDataset, split: Split, pretrained: PretrainResult, rerun: bool = True) -> Job | None:
    """The comparison with the visitor's Downstream settings on `pretrained` (page 4's Compare, presenter mode)."""
    down = settings().downstream
    config = down.config()
    return start_job("downstream_job", "downstream", f"downstream on {dataset.name}",
                     lambda: comparison_work(dataset, split, pretrained, down.modes, config, down.seeds),
                     described=describe_comparison(config, down.modes, split, down.seeds), rerun=rerun)


def start_talk(dataset: ImageDataset, split: Split, title: str) -> bool:
    """Pretext training, then the SSL-vs-scratch comparison on its model, with the visitor's settings and one
    click (the talk preset and presenter mode); False when refused (the page shows why)."""
    config, modes, downstream = settings().pretext, settings().downstream.modes, settings().downstream.config()
    saver = checkpointer(config)
    pretext_job = start_job("train_job", "pretext", title,
                            lambda: pretext_work(dataset, split, config, probe_block=downstream.block,
                                                 checkpoint=saver),
                            rerun=False, described=describe_pretext(config), checkpoint=saver)
    talk_job = pretext_job and start_job(
        "downstream_job", "downstream", f"{title}: SSL vs scratch",
        lambda: comparison_after(pretext_job, dataset, split, modes, downstream),
        after=pretext_job, rerun=False, described=describe_comparison(downstream, modes, split))
    if talk_job:
        st.session_state.talk_job = talk_job.id
    return bool(talk_job)


def live_job(key: str, stop_label: str, body: Callable[[Snapshot], None], pausable: bool = False) -> Snapshot | None:
    """Poll the session's job `key` while it runs: progress, a stop button (and pause, resume and
    one-epoch step when `pausable`) and any failure every LIVE_REFRESH_S seconds, `body(snapshot)`
    (its charts) every CHART_REFRESH_S. When the job ends the whole page reruns once, so the results
    show and the polling stops."""
    job = get_job(key)
    if job is None:
        return None

    def panel(was_active: bool) -> None:
        snap = job.snapshot()
        if was_active and not snap.active:
            st.rerun()
        details = [snap.message]
        if snap.eta is not None and not snap.paused:
            details.append(f"about {snap.eta:.0f} s left")
        if snap.images_per_s and not snap.paused:
            details.append(f"{snap.images_per_s:,.0f} images/s")
        controls = 3 if pausable and snap.status == RUNNING else 1
        bar, *buttons = st.columns([6 - controls] + [1] * controls, vertical_alignment="center")
        bar.progress(snap.progress, text=" · ".join(details))
        if snap.status == WAITING:
            buttons[0].button("✕ Cancel", on_click=job.stop, key=f"cancel_{key}",
                              help="Leave the line; nothing has run yet.")
        elif snap.active:
            if controls == 3 and snap.paused:
                buttons[0].button("▶ Resume", on_click=job.resume, key=f"resume_{key}", type="primary")
                buttons[1].button("⏭ Step", on_click=job.step_epoch, key=f"step_{key}",
                                  help="Train one epoch (to the end of this one), then pause again.")
            elif controls == 3:
                if buttons[0].button("⏸ Pause", key=f"pause_{key}",
                                     help="Hold training here: the model and curves stay; Resume carries on."):
                    job.pause()
                    st.rerun()  # the whole page: the charts show the moment it was held, now
                buttons[1].button("⏭ Step", on_click=job.step_epoch, key=f"step_{key}",
                                  help="Pause at the end of this epoch.")
            buttons[-1].button(stop_label, on_click=job.stop, key=f"stop_{key}")
        if snap.status == FAILED:
            st.error(snap.message)

    active = job.snapshot().active
    st.fragment(panel, run_every=LIVE_REFRESH_S if active else None)(active)
    st.fragment(lambda: body(job.snapshot()), run_every=CHART_REFRESH_S if active else None)()
    return job.snapshot()
