"""State shared by the pages: the current dataset and split, the job registry,
and the query parameters that let a reload find its jobs again."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

import streamlit as st

from ssl_core.comparison import Comparison
from ssl_core.datasets import BUILTIN, ImageDataset, load_downloadable
from ssl_core.downstream import MODE_TITLES, DownstreamConfig
from ssl_core.device import describe, leave_core_for_server, pick_device
from ssl_core.jobs import FAILED, Job, JobBusy, JobRegistry, Snapshot
from ssl_core.pretext import PretextSample, make_task
from ssl_core.pretrain import PretrainConfig, PretrainResult
from ssl_core.recipe import Recipe, calibrate, comparison_seconds, pretext_seconds, recommend
from ssl_core.runs import transfer_problem
from ssl_core.splits import Split, SplitConfig, make_split
from ssl_core.verdict import AT_CHANCE, HELPED, HURT, Verdict

DEFAULT_DATASET = "builtin:mnist-10k"
USER_DATASETS_KEPT = 6
# Seconds between refreshes of a running job's progress bar, and of its charts. Redrawing charts costs CPU
# that training shares on a small machine: with both every second, a 2-core pretext run took 218 s with
# its page open against 147 s with the page closed; with both every 2 s, 171 s.
LIVE_REFRESH_S = 2.0
CHART_REFRESH_S = 6.0
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
    if "train_settings" not in state:
        apply_recipe()
    state.setdefault("pretext", {"task": "rotation", "settings": {}})  # settings: task name -> its TaskSettings
    for key, param in PARAMS.items():
        if state[key]:
            st.query_params[param] = state[key]
        elif param in st.query_params:
            del st.query_params[param]


def set_dataset(dataset_id: str) -> None:
    """Choose a dataset and fill in its recommended settings."""
    st.session_state.dataset_id = dataset_id
    st.query_params[PARAMS["dataset_id"]] = dataset_id
    apply_recipe()


def current_dataset() -> ImageDataset:
    return resolve(st.session_state.dataset_id) or _builtin(DEFAULT_DATASET.partition(":")[2])


@dataclass(frozen=True)
class Estimate:
    pretext: float
    comparison: float


def predicted_seconds(dataset: ImageDataset, split: Split, config: PretrainConfig) -> Estimate:
    """Pretext training with `config` and the comparison with the saved Downstream settings, on this device."""
    registry()
    down = st.session_state.downstream_settings
    downstream = DownstreamConfig(epochs=down["epochs"], batch_size=down["batch_size"], lr=down["lr"])
    modes = TRANSFER_MODES[down["transfer"]] + ("scratch",)
    with st.spinner("Timing a few training steps on this device…"):
        speed = calibrate(config, dataset.channels, max(dataset.num_classes, 2), downstream.batch_size)
    return Estimate(pretext_seconds(config, len(split.pool), len(split.test), speed),
                    down["seeds"] * comparison_seconds(downstream, len(split.labeled), len(split.test), modes,
                                                       speed))


TRANSFER_MODES = {"both": ("linear", "finetune"), "linear": ("linear",), "finetune": ("finetune",)}
SETTING_GROUPS = ("train_settings", "downstream_settings")


def setting(group: str, name: str) -> str:
    """The widget key of setting `name`, kept in `st.session_state[group]` so that it survives page
    switches (Streamlit forgets the state of widgets a page did not draw)."""
    key = f"{group}.{name}"
    if key not in st.session_state:
        st.session_state[key] = st.session_state[group][name]
    return key


def apply_recipe() -> Recipe:
    """Fill the Train, Downstream and split settings with the current dataset's recommendation
    (also the **Recommended** buttons' callback)."""
    state = st.session_state
    registry()  # thread settings first: the recipe is calibrated under them
    dataset = current_dataset()
    n_test = round(len(dataset) * state.split_config.test_fraction)
    with st.spinner("Choosing settings for this dataset: timing a few training steps…"):
        recipe = recommend(dataset, "auto", n_pool=len(dataset) - n_test, n_test=n_test)
    p, d = recipe.pretext, recipe.downstream
    state.train_settings = {"backbone": p.backbone, "image_size": p.image_size, "epochs": p.epochs,
                            "batch_size": p.batch_size, "lr": p.lr, "seed": p.seed}
    state.downstream_settings = {"transfer": "both", "block": d.block, "epochs": d.epochs, "lr": d.lr,
                                 "backbone_lr_scale": d.backbone_lr_scale, "batch_size": d.batch_size, "seeds": 1}
    state.split_config = replace(state.split_config, labels_per_class=recipe.labels_per_class)
    for key in [k for k in state if "." in k and k.partition(".")[0] in SETTING_GROUPS] + ["split_labels"]:
        state.pop(key, None)  # widgets start again from the settings
    state.recipe = recipe
    return recipe


def current_split() -> Split:
    dataset = current_dataset()
    return make_split(dataset.labels, st.session_state.split_config, dataset.class_names)


def pretext_config(**train_settings) -> PretrainConfig:
    """The chosen task with its settings from the Pretext page, and the Train page's settings."""
    pretext = st.session_state.pretext
    return PretrainConfig(task=pretext["task"], settings=pretext["settings"].get(pretext["task"]),
                          **(train_settings or st.session_state.train_settings))


def pretext_summary() -> str:
    """The chosen task's own one-line description (for the sidebar)."""
    pretext = st.session_state.pretext
    return make_task(pretext["task"], pretext["settings"].get(pretext["task"])).describe()


def start_job(key: str, kind: str, title: str, make_work: Callable[[], Callable[[Job], object]]) -> None:
    """Start this session's job `key` and rerun; a refusal (busy, bad input) shows as an error."""
    try:
        job = registry().start(kind, title, make_work(), busy=st.session_state.get(key))
    except (JobBusy, ValueError) as exc:
        st.error(str(exc))
        return
    set_job(key, job)
    st.rerun()


def usable_pretrained(dataset: ImageDataset) -> tuple[PretrainResult | None, str]:
    """This session's pretrained model if it can transfer to `dataset`, else None and why."""
    job = get_job("train_job")
    snap = job.snapshot() if job else None
    if snap is None or snap.result is None:
        if snap is not None and snap.active:
            return None, "Pretext training is still running (see the **Train** page)."
        return None, "First pretrain a backbone on the **Train** page."
    problem = transfer_problem(snap.result, dataset)
    return (None, problem) if problem else (snap.result, "")


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
    """Poll the session's job `key` while it runs: progress, a stop button and any failure every
    LIVE_REFRESH_S seconds, `body(snapshot)` (its charts) every CHART_REFRESH_S. When the job ends
    the whole page reruns once, so the results show and the polling stops."""
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

    active = job.snapshot().active
    st.fragment(panel, run_every=LIVE_REFRESH_S if active else None)(active)
    st.fragment(lambda: body(job.snapshot()), run_every=CHART_REFRESH_S if active else None)()
    return job.snapshot()


BOXES = {HELPED: st.success, HURT: st.error, AT_CHANCE: st.warning}


def verdict_box(verdict: Verdict) -> None:
    BOXES.get(verdict.outcome, st.info)(verdict.text)


def showcase(samples: tuple[PretextSample, ...], per_image: int = 3, width: int = 96) -> None:
    """Pictures in groups of `per_image` (input, network, truth), two groups to a row."""
    per_row = per_image * 2
    for start in range(0, len(samples), per_row):
        for column, sample in zip(st.columns(per_row), samples[start:start + per_row]):
            scale = max(1, width // sample.image.shape[1])
            column.image(sample.image.repeat(scale, 0).repeat(scale, 1), caption=sample.caption, width=width)


def headline(comparison: Comparison) -> None:
    """Two numbers a room can read from the back, and one sentence with the interval."""
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
    st.markdown(f"<p style='font-size:1.5rem'>{verdict.text}</p>", unsafe_allow_html=True)
