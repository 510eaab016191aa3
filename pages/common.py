"""State shared by the pages: the current dataset and split, the job registry,
and the query parameters that let a reload find its jobs again."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

from ssl_core.datasets import BUILTIN, ImageDataset, load_downloadable
from ssl_core.device import describe, leave_core_for_server, pick_device
from ssl_core.jobs import FAILED, Job, JobRegistry, Snapshot
from ssl_core.splits import Split, SplitConfig, make_split

DEFAULT_DATASET = "builtin:digits"
USER_DATASETS_KEPT = 6
PARAMS = {"dataset_id": "data", "train_job": "train", "downstream_job": "downstream", "budget_job": "budget",
          "blocks_job": "blocks"}


@st.cache_resource
def registry() -> JobRegistry:
    leave_core_for_server()
    return JobRegistry()


@st.cache_resource
def _user_datasets() -> OrderedDict[str, ImageDataset]:
    """Uploaded and folder datasets: one copy per process, the most recent few kept."""
    return OrderedDict()


@st.cache_resource(show_spinner="Loading dataset…")
def _builtin(name: str) -> ImageDataset:
    return BUILTIN[name]()


@st.cache_resource(show_spinner=False)
def _downloaded(name: str) -> ImageDataset:
    return load_downloadable(name)  # only called once the files are on disk


def remember_user_dataset(dataset_id: str, dataset: ImageDataset) -> None:
    store = _user_datasets()
    store[dataset_id] = dataset
    store.move_to_end(dataset_id)
    while len(store) > USER_DATASETS_KEPT:
        store.popitem(last=False)


def resolve(dataset_id: str) -> ImageDataset | None:
    kind, _, name = dataset_id.partition(":")
    if kind == "builtin" and name in BUILTIN:
        return _builtin(name)
    if kind == "tv":
        try:
            return _downloaded(name)
        except Exception:
            return None
    return _user_datasets().get(dataset_id)


def init_state() -> None:
    """Defaults once per session; a reload restores the dataset and jobs from the URL."""
    state = st.session_state
    for key, param in PARAMS.items():
        if key not in state:
            state[key] = st.query_params.get(param)
    if not state.dataset_id or resolve(state.dataset_id) is None:
        state.dataset_id = DEFAULT_DATASET
    state.setdefault("split_config", SplitConfig())
    state.setdefault("pretext", {"task": "rotation", "angles": (0, 90, 180, 270), "grid": 2, "permutations": 24})
    for key, param in PARAMS.items():
        if state[key]:
            st.query_params[param] = state[key]
        elif param in st.query_params:
            del st.query_params[param]


def set_dataset(dataset_id: str) -> None:
    st.session_state.dataset_id = dataset_id
    st.query_params[PARAMS["dataset_id"]] = dataset_id


def current_dataset() -> ImageDataset:
    return resolve(st.session_state.dataset_id) or _builtin("digits")


def current_split() -> Split:
    dataset = current_dataset()
    return make_split(dataset.labels, st.session_state.split_config, dataset.class_names)


def set_job(key: str, job: Job | None) -> None:
    st.session_state[key] = job.id if job else None
    if job:
        st.query_params[PARAMS[key]] = job.id
    elif PARAMS[key] in st.query_params:
        del st.query_params[PARAMS[key]]


def get_job(key: str) -> Job | None:
    return registry().get(st.session_state.get(key))


def device_label() -> str:
    registry()  # sets the thread count first
    return describe(pick_device("auto"))


def live_job(key: str, stop_label: str, body: Callable[[Snapshot], None]) -> Snapshot | None:
    """Poll the session's job `key` once a second while it runs: progress, a stop
    button and any failure, then `body(snapshot)` (its charts). When the job ends the
    whole page reruns once, so the results show and the polling stops."""
    job = get_job(key)
    if job is None:
        return None

    def panel(was_active: bool) -> None:
        snap = job.snapshot()
        if was_active and not snap.active:
            st.rerun()
        details = [snap.message]
        if snap.eta is not None:
            details.append(f"about {snap.eta:.0f} s left")
        if snap.images_per_s:
            details.append(f"{snap.images_per_s:,.0f} images/s")
        left, right = st.columns([5, 1])
        left.progress(snap.progress, text=" · ".join(details))
        if snap.active:
            right.button(stop_label, on_click=job.stop, key=f"stop_{key}")
        if snap.status == FAILED:
            st.error(snap.message)
        body(snap)

    active = job.snapshot().active
    st.fragment(panel, run_every=1.0 if active else None)(active)
    return job.snapshot()
