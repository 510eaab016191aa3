"""A visitor's session, as every page reads it: their workspace (datasets and jobs, found again after a reload
through the session token in the URL) and their `Settings` (dataset, task, training, split, comparison), one
typed record kept in `st.session_state.settings` and replaced whole when a widget changes it."""
from __future__ import annotations

import hashlib
import sqlite3
import sys
from dataclasses import replace

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

# Until app.py's st.navigation has run once in this process, Streamlit treats `pages/` as an old-style page
# folder: the first visitor of a fresh server who opens a deep link (/train, a reload after a restart) has
# pages/train.py run on its own, without app.py's set-up, under a page list of file names. Every page imports
# this module (itself, or through another pages.ui module) before it draws anything: leave that mode and run the
# app instead (once per process).
if PagesManager.uses_pages_directory and get_script_run_ctx() is not None:
    PagesManager.uses_pages_directory = False
    st.rerun()

from pages.ui.params import OLD_PARAMS, SESSION_PARAM
from pages.ui.text import escape
from ssl_core.app.deployment import Deployment, from_env
from ssl_core.app.jobs import Job, JobBusy
from ssl_core.app.runs import TALK_SETUP, describe_pretext, pretext_work, transfer_problem
from ssl_core.app.settings import Settings
from ssl_core.app.share import ShareError, from_params, is_link, is_link_key, shareable_dataset
from ssl_core.app.store import WorkspaceStore, default_state_root
from ssl_core.app.workspaces import Checkpointer, Workspace, Workspaces
from ssl_core.data.datasets import BUILTIN, ImageDataset, load_downloadable
from ssl_core.data.splits import Split, make_split
from ssl_core.engine.device import describe, leave_core_for_server, pick_device
from ssl_core.engine.pretrain import PretrainConfig, PretrainResult
from ssl_core.engine.recipe import Recipe, recommend

DEFAULT_DATASET = "builtin:mnist-10k"
HEARTBEAT_S = 30.0  # an open tab says it is still there this often (see Limits.session_grace_s)


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
    if "settings" not in state:
        dataset = space.dataset_id if space.dataset_id and resolve(space.dataset_id) is not None else DEFAULT_DATASET
        state.settings = Settings(dataset)
        apply_recipe()
    elif resolve(state.settings.dataset) is None:  # a dataset dropped to make room, or a download deleted
        apply_recipe(DEFAULT_DATASET)
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
                                                            probe_block=settings().downstream.block),
                           settings=describe_pretext(kept.config), dataset=dataset.name, checkpoint=saver)
    except (JobBusy, ValueError) as exc:
        return f"the training that was waiting in line could not go back ({escape(exc)})"
    return "your pretext training that was waiting in line is back in line (see the **Train** page)"


def open_link(params: dict[str, str]) -> None:
    """Take the setup a shared link carries (then drop it from the URL); a link that cannot be used
    leaves the defaults, with a note saying why."""
    for key in filter(is_link_key, params):
        del st.query_params[key]
    try:
        dataset_id = from_params(params, settings()).dataset
        if not shareable_dataset(dataset_id):  # a link without data= never opens the visitor's own images
            dataset_id = DEFAULT_DATASET
        if resolve(dataset_id) is None:
            raise ShareError(f"its dataset {dataset_id.partition(':')[2]} is not downloaded on this server yet: "
                             "download it on the Data page, then open the link again")
        if dataset_id != settings().dataset:
            apply_recipe(dataset_id)
        apply_setup(from_params(params, settings()))
    except ShareError as exc:
        st.session_state.workspace_note = f"This link's setup could not be used: {escape(exc)}. The defaults are shown."


def remember_setup() -> None:
    """Keep this visitor's settings in their workspace, for their next reload."""
    if "workspace" in st.session_state and "settings" in st.session_state:
        workspace().setup = settings()
        server().save(workspace())


def settings() -> Settings:
    """This visitor's choices (`init_state` makes them once per session)."""
    return st.session_state.settings


def put(new: Settings) -> None:
    """Make `new` this visitor's choices (the share link, the predictions and the next reload follow)."""
    st.session_state.settings = new


def apply_setup(setup: Settings) -> None:
    """Take a link's or a reload's choices, on the current dataset; the widgets start again from them."""
    put(replace(setup, dataset=settings().dataset, tasks={**settings().tasks, **setup.tasks}))
    forget_widgets()


SECTIONS = ("pretext", "downstream", "split")  # the Settings fields that widgets edit


def field_key(section: str, name: str) -> str:
    """The widget key of `settings().<section>.<name>`, which the widget starts from: a page's widgets are drawn
    from the settings on each visit (Streamlit forgets the state of widgets a page did not draw)."""
    key = f"{section}.{name}"
    if key not in st.session_state:
        st.session_state[key] = getattr(getattr(settings(), section), name)
    return key


def forget_widgets() -> None:
    """After the settings change from outside the widgets (a recipe, a link, the talk): each widget starts again
    from them, the Pretext page's too."""
    for key in [k for k in st.session_state if "." in k and k.partition(".")[0] in SECTIONS + ("task",)]:
        del st.session_state[key]
    st.session_state.pop("pretext_task", None)


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
    return resolve(settings().dataset) or _builtin(DEFAULT_DATASET.partition(":")[2])


def apply_recipe(dataset_id: str | None = None) -> Recipe:
    """Fill the Train, Downstream and split settings with the recommendation for the dataset
    `dataset_id` (default: the current one) and make it current (also the **Recommended** buttons'
    callback). All state changes come after the last Streamlit call: a click that interrupts this
    run cannot leave a new dataset with the old one's settings."""
    deployment()  # thread settings first: the recipe is calibrated under them
    dataset_id = dataset_id or settings().dataset
    dataset = resolve(dataset_id) or current_dataset()
    n_test = round(len(dataset) * settings().split.test_fraction)
    with st.spinner("Choosing settings for this dataset: timing a few training steps…"):
        recipe = recommend(dataset, "auto", n_pool=len(dataset) - n_test, n_test=n_test)
    put(settings().recommended(dataset_id, recipe))
    workspace().dataset_id = dataset_id
    forget_widgets()
    st.session_state.recipe = recipe
    return recipe


def current_split() -> Split:
    dataset = current_dataset()
    return make_split(dataset.labels, settings().split, dataset.class_names)


def pretext_summary() -> str:
    """The chosen task's own one-line description (for the sidebar)."""
    return settings().pretext.make_task().describe()


def apply_talk() -> None:
    """The talk preset becomes this visitor's dataset and settings: the forms, the share link, the predictions
    and presenter mode all show the talk that will run."""
    apply_recipe(TALK_SETUP.dataset)
    apply_setup(TALK_SETUP)


def is_talk() -> bool:
    """Whether the current dataset and settings are the talk preset's."""
    return settings() == TALK_SETUP


def kept_training() -> str | None:
    """The pretext training a server restart left this visitor (a model to use, or one to resume) in a few words;
    None when there is none, or once it is in use."""
    kept = workspace().interrupted
    if kept is None or get_job("train_job") is not None:
        return None
    if kept.finished:
        return (f"pretext model from before the server restarted is kept ({kept.epoch} epoch"
                f"{'s' if kept.epoch != 1 else ''} trained)")
    return (f"pretext training was interrupted by a server restart after epoch {kept.epoch} of "
            f"{kept.config.epochs} and can be resumed")


def usable_pretrained(dataset: ImageDataset) -> tuple[PretrainResult | None, str]:
    """This session's pretrained model if it can transfer to `dataset`, else None and why."""
    job = get_job("train_job")
    snap = job.snapshot() if job else None
    if snap is None or snap.result is None:
        if snap is not None and snap.active:
            return None, "Pretext training is still running (see the **Train** page)."
        kept = kept_training()
        return None, (f"Your {kept}: see the **Train** page." if kept else
                      "First pretrain a backbone on the **Train** page.")
    problem = transfer_problem(snap.result, dataset)
    return (None, escape(problem)) if problem else (snap.result, "")


def checkpointer(config: PretrainConfig) -> Checkpointer | None:
    """A pretext training of `config` on the current dataset and split, kept in the store for a restart."""
    return server().checkpointer(workspace(), settings().dataset, config, settings().split)


def get_job(key: str) -> Job | None:
    return server().job(workspace(), key)


def elsewhere(key: str) -> str | None:
    """The dataset this visitor's job `key` ran on when it is not the current one (they switched since)."""
    ran_on = workspace().job_datasets.get(key)
    return ran_on if ran_on and get_job(key) and ran_on != current_dataset().name else None


def device_label() -> str:
    deployment()  # sets the thread count first
    return describe(pick_device("auto"))
