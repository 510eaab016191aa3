"""State shared by the pages: the visitor's workspace (their datasets and jobs, found again after a
reload through the session token in the URL), the current dataset and split."""
from __future__ import annotations

import hashlib
import re
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

# Until app.py's st.navigation has run once in this process, Streamlit treats `pages/` as an old-style page
# folder: the first visitor of a fresh server who opens a deep link (/train, a reload after a restart) has
# pages/train.py run on its own, without app.py's set-up, under a page list of file names. Every page imports
# this module first: leave that mode and run the app instead (once per process).
if PagesManager.uses_pages_directory and get_script_run_ctx() is not None:
    PagesManager.uses_pages_directory = False
    st.rerun()

import torch  # noqa: E402  (after the check: torch takes seconds to load)

from pages.params import OLD_PARAMS, SESSION_PARAM
from ssl_core.analysis.comparison import Comparison
from ssl_core.analysis.plots import display_scale, feature_figure, loss_figure, metric_figure, upscale
from ssl_core.analysis.verdict import AT_CHANCE, HELPED, HURT, TOO_FEW, Verdict
from ssl_core.app.deployment import Deployment, from_env
from ssl_core.app.glossary import TERMS, term
from ssl_core.app.jobs import FAILED, RUNNING, WAITING, Job, JobBusy, Snapshot
from ssl_core.app.runs import (TALK_DOWNSTREAM, TALK_SETUP, comparison_after, comparison_work, pretext_work,
                               transfer_problem)
from ssl_core.app.share import (DownstreamChoice, Setup, ShareError, from_params, is_link, is_link_key,
                                shareable_dataset, to_params)
from ssl_core.app.store import WorkspaceStore, default_state_root
from ssl_core.app.workspaces import Checkpointer, Workspace, Workspaces
from ssl_core.data.augment import resize_all
from ssl_core.data.datasets import BUILTIN, ImageDataset, load_downloadable
from ssl_core.data.splits import Split, SplitConfig, make_split
from ssl_core.engine.device import describe, leave_core_for_server, pick_device
from ssl_core.engine.downstream import MODE_TITLES
from ssl_core.engine.downstream import TRANSFERS as TRANSFER_MODES
from ssl_core.engine.downstream import DownstreamConfig
from ssl_core.engine.model_file import to_bytes
from ssl_core.engine.pretrain import PretrainConfig, PretrainResult
from ssl_core.engine.probe import PROBE_KEY
from ssl_core.engine.recipe import Recipe, Speed, calibrate, comparison_seconds, pretext_seconds, recommend
from ssl_core.pretext import PretextSample, make_task
from ssl_core.pretext.contrastive import COLLAPSE_KEY

DEFAULT_DATASET = "builtin:mnist-10k"
# Seconds between refreshes of a running job's progress bar, and of its charts. Redrawing charts costs CPU
# that training shares on a small machine: with both every second, a 2-core pretext run took 218 s with
# its page open against 147 s with the page closed; with both every 2 s, 171 s.
LIVE_REFRESH_S = 2.0
CHART_REFRESH_S = 6.0
COLLAPSE_WARNING = 0.5  # the collapse meter's level where a contrastive run is losing its spread
HEARTBEAT_S = 30.0  # an open tab says it is still there this often (see Limits.session_grace_s)


# Markdown's active characters, and ':' or '.' that could start an emoji code, a colour or a bare link
# ("www.x.com", "http://"); a sentence's ': ' and '. ' and a number's '11.0' stay as they read.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~$]|[:.](?=[^\s\d]))")


def escape(text: object) -> str:
    """User text (a class, file or dataset name, an error) shown as itself, never as markup."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))  # one line: no list or heading can start


def escape_html(text: object) -> str:
    """Text inside an HTML block: HTML-escaped, and markdown's characters as entities, so a name reads as
    typed whether or not the block is parsed as markdown (no stray backslashes either way)."""
    return re.sub(r"[&<>\"'\\`*_\[\]()#|~$:]", lambda m: f"&#{ord(m.group())};", str(text))


@st.cache_resource
def deployment() -> Deployment:
    leave_core_for_server()
    rules = from_env(pick_device("auto").type)
    if rules.public and st.get_option("server.maxUploadSize") > rules.limits.upload_mb:
        print(f"SSL Playground, public mode: set server.maxUploadSize to {rules.limits.upload_mb} (now "
              f"{st.get_option('server.maxUploadSize')} MB): the app refuses larger files, but Streamlit still "
              "accepts them into memory first. See README, 'Running it for others'.", file=sys.stderr)
    return rules


@st.cache_resource
def server() -> Workspaces:
    """Every visitor's workspace and the job registry (one per process)."""
    limits = deployment().limits
    try:
        store = WorkspaceStore(default_state_root(), keep_s=limits.session_grace_s)
    except (OSError, sqlite3.Error) as exc:  # a read-only disk: the app still runs, without surviving restarts
        print(f"SSL Playground: visitors' work will not survive a restart ({exc})", file=sys.stderr)
        store = None
    return Workspaces(limits, store=store)


@st.cache_resource(show_spinner="Loading dataset…")
def _builtin(name: str) -> ImageDataset:
    return BUILTIN[name]()


@st.cache_resource(show_spinner=False)
def _downloaded(name: str) -> ImageDataset:
    return load_downloadable(name)  # only called once the files are on disk


def workspace() -> Workspace:
    return st.session_state.workspace


def remember_user_dataset(dataset_id: str, dataset: ImageDataset) -> list[str]:
    """Keep the visitor's dataset; the names of their older ones dropped to make room (CapacityError
    when it does not fit)."""
    return server().add_dataset(workspace(), dataset_id, dataset)


def resolve(dataset_id: str) -> ImageDataset | None:
    kind, _, name = dataset_id.partition(":")
    if kind == "builtin" and name in BUILTIN:
        return _builtin(name)
    if kind == "tv":
        try:
            return _downloaded(name)
        except Exception:
            return None
    return server().dataset(workspace(), dataset_id)


def init_state() -> None:
    """Defaults once per session; a reload finds the visitor's workspace from the token in the URL
    (a token the server did not make, or one whose visitor left, gets a fresh workspace)."""
    state = st.session_state
    asked = state.workspace.token if "workspace" in state else st.query_params.get(SESSION_PARAM)
    space = state.workspace = server().open(asked, browser_id())
    if asked and asked != space.token:
        minutes = deployment().limits.session_grace_s / 60
        state.workspace_note = (f"A fresh session has started: this link belongs to another browser, or its session "
                                f"was away for more than {minutes:.0f} minutes and its data and runs were deleted.")
    restarted, space.restored = space.restored, False
    if st.query_params.get(SESSION_PARAM) != space.token:
        st.query_params[SESSION_PARAM] = space.token
    for param in OLD_PARAMS:
        if param in st.query_params:
            del st.query_params[param]
    if "dataset_id" not in state:
        state.dataset_id = space.dataset_id
    if not state.dataset_id or resolve(state.dataset_id) is None:
        state.dataset_id = space.dataset_id = DEFAULT_DATASET
    state.setdefault("split_config", SplitConfig())
    if "train_settings" not in state:
        apply_recipe()
    state.setdefault("pretext", {"task": "rotation", "settings": {}})  # settings: task name -> its TaskSettings
    if asked == space.token and space.setup is not None and "restored" not in state:
        apply_setup(space.setup)  # a reload: the settings as they were, not the recommended ones
    state.restored = True
    if space.kept_models is not None and "model_file" not in state:
        state.model_file = space.kept_models  # page 4 shows them as an opened model file
    if restarted:
        state.workspace_note = restart_note(space)
    if is_link(st.query_params):
        open_link({key: st.query_params[key] for key in st.query_params})


def restart_note(space: Workspace) -> str:
    """What came back of the visitor's workspace after a server restart; a training that was waiting in line
    (or had not finished its first epoch) goes back in line now."""
    kept, said = space.interrupted, []
    if kept is not None and kept.waiting:
        space.interrupted = None
        said.append(back_in_line(space, kept))
    elif kept is not None:
        said.append("your pretext model is kept: use it on the **Train** page" if kept.finished else
                    "the pretext training it interrupted can be resumed on the **Train** page")
    if space.kept_models is not None:
        said.append("your latest comparison's models are open at the top of the **Downstream** page")
    if space.builder is not None and len(space.builder):
        said.append(f"the {len(space.builder)} photos you were putting together are on the **Data** page")
    return ("The server restarted since your last visit. Your datasets, settings and run history are back"
            + "".join(f"; {part}" for part in said) + ". A comparison that had not finished must be run again "
            "(its settings are kept).")


def back_in_line(space: Workspace, kept) -> str:
    """Start again the pretext training a restart found waiting in line; what to tell the visitor."""
    dataset = resolve(kept.dataset_id)
    if dataset is None:
        return "the training that was waiting in line could not go back: its dataset is gone"
    split = make_split(dataset.labels, kept.split, dataset.class_names)
    saver = server().checkpointer(space, kept.dataset_id, kept.config, kept.split)
    try:
        server().start_job(space, "train_job", "pretext", f"{kept.config.task} on {dataset.name}, back in line "
                           "after a restart", pretext_work(dataset, split, kept.config, checkpoint=saver,
                                                            probe_block=st.session_state.downstream_settings["block"]),
                           settings=pretext_text(kept.config), dataset=dataset.name, checkpoint=saver)
    except (JobBusy, ValueError) as exc:
        return f"the training that was waiting in line could not go back ({escape(exc)})"
    return "your pretext training that was waiting in line is back in line (see the **Train** page)"


def open_link(params: dict[str, str]) -> None:
    """Take the setup a shared link carries (then drop it from the URL); a link that cannot be used
    leaves the defaults, with a note saying why."""
    for key in filter(is_link_key, params):
        del st.query_params[key]
    try:
        dataset_id = from_params(params, current_setup()).dataset or DEFAULT_DATASET
        if resolve(dataset_id) is None:
            raise ShareError(f"its dataset {dataset_id.partition(':')[2]} is not downloaded on this server yet: "
                             "download it on the Data page, then open the link again")
        if dataset_id != st.session_state.dataset_id:
            apply_recipe(dataset_id)
        apply_setup(from_params(params, current_setup()))
    except ShareError as exc:
        st.session_state.workspace_note = f"This link's setup could not be used: {escape(exc)}. The defaults are shown."


def remember_setup() -> None:
    """Keep this visitor's settings in their workspace, for their next reload."""
    if "workspace" in st.session_state and "train_settings" in st.session_state:
        try:
            workspace().setup = current_setup()
            server().save(workspace())
        except (ValueError, KeyError):  # settings a page is still filling in: the last good ones stay
            pass


def current_setup() -> Setup:
    """This session's dataset (unless it is the visitor's own) and settings, as a link carries them."""
    state = st.session_state
    down = state.downstream_settings
    dataset_id = state.dataset_id if shareable_dataset(state.dataset_id) else None
    return Setup(dataset_id, pretext_config(), state.split_config,
                 DownstreamChoice(down["transfer"], down["block"], down["epochs"], down["lr"], down["seeds"]))


def apply_setup(setup: Setup) -> None:
    state = st.session_state
    p, d = setup.pretext, setup.downstream
    state.pretext = {"task": p.task, "settings": {p.task: p.make_task().settings}}
    state.pop("pretext_task", None)
    state.train_settings.update(backbone=p.backbone, image_size=p.image_size, epochs=p.epochs,
                                batch_size=p.batch_size, lr=p.lr, seed=p.seed)
    state.downstream_settings.update(transfer=d.transfer, block=d.block, epochs=d.epochs, lr=d.lr, seeds=d.seeds)
    state.split_config = setup.split
    for key in [k for k in state if "." in k and k.partition(".")[0] in SETTING_GROUPS + ("task",)]:
        state.pop(key, None)  # widgets start again from the settings
    for key in ("split_test", "split_labels", "split_seed"):
        state.pop(key, None)


def browser_id() -> str | None:
    """A digest of this browser's XSRF cookie secret (Streamlit sets the cookie once per browser; the
    masked form changes with every page load, the secret does not). None without the cookie (AppTest,
    or XSRF protection turned off), and then the URL token alone identifies the session."""
    cookie = st.context.cookies.get("_streamlit_xsrf")
    if not isinstance(cookie, str):
        return None
    version, _, rest = cookie.partition("|")
    mask, _, rest = rest.partition("|")
    masked = rest.partition("|")[0]
    try:
        mask_bytes, masked_bytes = bytes.fromhex(mask), bytes.fromhex(masked)
    except ValueError:
        return None
    if version != "2" or len(mask_bytes) != 4 or not masked_bytes:
        return None
    secret = bytes(b ^ mask_bytes[i % 4] for i, b in enumerate(masked_bytes))
    return hashlib.sha256(secret).hexdigest()


def set_dataset(dataset_id: str) -> None:
    """Choose a dataset and fill in its recommended settings."""
    apply_recipe(dataset_id)


def current_dataset() -> ImageDataset:
    return resolve(st.session_state.dataset_id) or _builtin(DEFAULT_DATASET.partition(":")[2])


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
    """Pretext training with `config` and the comparison with the saved Downstream settings, on this device."""
    down = st.session_state.downstream_settings
    downstream = downstream_config()
    modes = TRANSFER_MODES[down["transfer"]] + ("scratch",)
    speed = measured_speed(dataset, config, downstream.batch_size)
    return Estimate(pretext_seconds(config, len(split.pool), len(split.test), speed),
                    down["seeds"] * comparison_seconds(downstream, len(split.labeled), len(split.test), modes,
                                                       speed))


def downstream_config() -> DownstreamConfig:
    """The Downstream page's saved settings."""
    down = st.session_state.downstream_settings
    return DownstreamConfig(epochs=down["epochs"], block=down["block"], lr=down["lr"], batch_size=down["batch_size"],
                            backbone_lr_scale=down["backbone_lr_scale"])


SETTING_GROUPS = ("train_settings", "downstream_settings")


def setting(group: str, name: str) -> str:
    """The widget key of setting `name`, kept in `st.session_state[group]` so that it survives page
    switches (Streamlit forgets the state of widgets a page did not draw)."""
    key = f"{group}.{name}"
    if key not in st.session_state:
        st.session_state[key] = st.session_state[group][name]
    return key


def apply_recipe(dataset_id: str | None = None) -> Recipe:
    """Fill the Train, Downstream and split settings with the recommendation for the dataset
    `dataset_id` (default: the current one) and make it current (also the **Recommended** buttons'
    callback). All state changes come after the last Streamlit call: a click that interrupts this
    run cannot leave a new dataset with the old one's settings."""
    state = st.session_state
    deployment()  # thread settings first: the recipe is calibrated under them
    dataset_id = dataset_id or state.dataset_id
    dataset = resolve(dataset_id) or current_dataset()
    n_test = round(len(dataset) * state.split_config.test_fraction)
    with st.spinner("Choosing settings for this dataset: timing a few training steps…"):
        recipe = recommend(dataset, "auto", n_pool=len(dataset) - n_test, n_test=n_test)
    state.dataset_id = workspace().dataset_id = dataset_id
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


def start_job(key: str, kind: str, title: str, make_work: Callable[[], Callable[[Job], object]],
              after: Job | None = None, rerun: bool = True, settings: str = "",
              checkpoint: Checkpointer | None = None) -> Job | None:
    """Start this visitor's job `key` (it waits for `after` and for a free slot) and rerun; a refusal
    (busy, line full, bad input) shows as an error and returns None. `settings` describes it in the
    run history; a pretext job's `checkpoint` (what its work saves through) lets a restart put it back in
    line or resume it; a comparison's models are kept for after a restart."""
    dataset = current_dataset()
    keep = None
    if kind == "downstream":  # its models are kept for after a restart, replacing those kept before
        keep, workspace().kept_models = (lambda comparison: to_bytes(comparison.pretrained, comparison, dataset)), None
    try:
        job = server().start_job(workspace(), key, kind, title, make_work(), after=after, settings=settings,
                                 dataset=dataset.name, checkpoint=checkpoint, keep=keep)
    except (JobBusy, ValueError) as exc:
        st.error(escape(exc))
        return None
    if rerun:
        st.rerun()
    return job


def usable_pretrained(dataset: ImageDataset) -> tuple[PretrainResult | None, str]:
    """This session's pretrained model if it can transfer to `dataset`, else None and why."""
    job = get_job("train_job")
    snap = job.snapshot() if job else None
    if snap is None or snap.result is None:
        if snap is not None and snap.active:
            return None, "Pretext training is still running (see the **Train** page)."
        return None, "First pretrain a backbone on the **Train** page."
    problem = transfer_problem(snap.result, dataset)
    return (None, escape(problem)) if problem else (snap.result, "")


def checkpointer(config: PretrainConfig) -> Checkpointer | None:
    """A pretext training of `config` on the current dataset and split, kept in the store for a restart."""
    return server().checkpointer(workspace(), st.session_state.dataset_id, config, st.session_state.split_config)


def get_job(key: str) -> Job | None:
    return server().job(workspace(), key)


def elsewhere(key: str) -> str | None:
    """The dataset this visitor's job `key` ran on when it is not the current one (they switched since)."""
    ran_on = workspace().job_datasets.get(key)
    return ran_on if ran_on and get_job(key) and ran_on != current_dataset().name else None


def device_label() -> str:
    deployment()  # sets the thread count first
    return describe(pick_device("auto"))


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
    if any(PROBE_KEY in p or COLLAPSE_KEY in p for p in snap.epochs):
        figures.append(feature_figure(snap.epochs, chance, height))
    for column, figure, name in zip(st.columns(len(figures)), figures, ("loss", "metric", "features")):
        if font_size:  # Streamlit's chart theme sets its own small type
            figure.update_layout(font_size=font_size, title_font_size=font_size + 4)
        column.plotly_chart(figure, key=f"{key}_{name}", theme=None if font_size else "streamlit")
    if len(figures) == 3 and any(PROBE_KEY in p for p in snap.epochs):
        st.caption("**Does the pretext task teach the real task?** After every epoch the features of the labeled "
                   "images vote (k-NN, nothing trained) for the class of held-out images; epoch 0 is the untrained "
                   "network. The labels never reach the pretext training.")
    collapse = [p[COLLAPSE_KEY] for p in snap.epochs if COLLAPSE_KEY in p]
    if collapse and collapse[-1] > COLLAPSE_WARNING:
        st.warning(f"Collapse meter at {collapse[-1]:.0%}: the embeddings are bunching together, so views stop "
                   "being told apart. A higher temperature or a lower learning rate usually helps.")
    if snap.showcase:
        epoch = max((p["epoch"] for p in snap.epochs), default=0)
        st.markdown(f"**What the network paints now** on held-out images (after epoch {epoch}):")
        showcase(snap.showcase)


def pretext_text(config: PretrainConfig) -> str:
    return (f"{config.make_task().describe()} · {config.backbone} · {config.image_size} px · {config.epochs} epochs · "
            f"batch {config.batch_size} · lr {config.lr:g} · seed {config.seed}")


def comparison_text(config: DownstreamConfig, modes: tuple[str, ...], split: Split, seeds: int = 1) -> str:
    return (f"{' vs '.join(MODE_TITLES[m] for m in modes)} · {len(split.labeled):,} labels, {len(split.test):,} test · "
            f"block {config.block} · {config.epochs} epochs · lr {config.lr:g}" + (f" · {seeds} seeds" if seeds > 1 else ""))


def apply_talk() -> None:
    """The talk preset becomes this visitor's dataset and settings: the forms, the share link, the predictions
    and presenter mode all show the talk that will run."""
    apply_recipe(TALK_SETUP.dataset)
    apply_setup(TALK_SETUP)
    st.session_state.downstream_settings.update(batch_size=TALK_DOWNSTREAM.batch_size,
                                                backbone_lr_scale=TALK_DOWNSTREAM.backbone_lr_scale)


def is_talk() -> bool:
    """Whether the current dataset and settings are the talk preset's."""
    return (st.session_state.dataset_id == TALK_SETUP.dataset and to_params(current_setup()) == to_params(TALK_SETUP)
            and downstream_config() == TALK_DOWNSTREAM)


def start_comparison(dataset: ImageDataset, split: Split, pretrained: PretrainResult, rerun: bool = True) -> Job | None:
    """The comparison with the saved Downstream settings on `pretrained` (page 4's Compare, presenter mode)."""
    down, config = st.session_state.downstream_settings, downstream_config()
    modes = TRANSFER_MODES[down["transfer"]] + ("scratch",)
    return start_job("downstream_job", "downstream", f"downstream on {dataset.name}",
                     lambda: comparison_work(dataset, split, pretrained, modes, config, down["seeds"]),
                     settings=comparison_text(config, modes, split, down["seeds"]), rerun=rerun)


def start_talk(dataset: ImageDataset, split: Split, config: PretrainConfig, modes: tuple[str, ...],
               downstream: DownstreamConfig, title: str) -> bool:
    """Pretext training, then the SSL-vs-scratch comparison on its model, with one click (the talk
    preset and presenter mode); False when refused (the page shows why)."""
    saver = checkpointer(config)
    pretext_job = start_job("train_job", "pretext", title,
                            lambda: pretext_work(dataset, split, config, probe_block=downstream.block,
                                                 checkpoint=saver),
                            rerun=False, settings=pretext_text(config), checkpoint=saver)
    talk_job = pretext_job and start_job(
        "downstream_job", "downstream", f"{title}: SSL vs scratch",
        lambda: comparison_after(pretext_job, dataset, split, modes, downstream),
        after=pretext_job, rerun=False, settings=comparison_text(downstream, modes, split))
    if talk_job:
        st.session_state.talk_job = talk_job.id
    return bool(talk_job)


def showcase(samples: tuple[PretextSample, ...], per_image: int = 3, width: int = 96) -> None:
    """Pictures in groups of `per_image` (input, network, truth), two groups to a row."""
    per_row = per_image * 2
    for start in range(0, len(samples), per_row):
        for column, sample in zip(st.columns(per_row), samples[start:start + per_row]):
            scale = max(1, width // sample.image.shape[1])
            column.image(upscale(sample.image, scale), caption=sample.caption, width=width)


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
    st.markdown(f"<p style='font-size:1.5rem'>{escape_html(verdict.text)}</p>", unsafe_allow_html=True)  # HTML: no markdown
