"""Step 2: the pretext task, its settings and a gallery of exactly what training generates."""
import streamlit as st

from pages.ui.quiz_panel import quiz_panel
from pages.ui.state import current_dataset, current_split, put, settings
from pages.ui.text import escape
from pages.ui.widgets import gallery
from ssl_core.pretext import TASKS, Option, options, settings_dict, settings_from

st.title("2. Pretext task")
dataset = current_dataset()


def widget_key(task: str, name: str) -> str:
    return f"task.{task}.{name}"


def widget_values(task: str) -> dict:
    """The task's saved settings, overridden by its widgets that exist (a widget's state is dropped on
    runs that do not draw it)."""
    shown = {opt.name: st.session_state[widget_key(task, opt.name)] for opt in options(TASKS[task].Settings)
             if widget_key(task, opt.name) in st.session_state}
    return {**settings_dict(settings().settings_of(task)), **shown}


def save() -> None:
    """Widget callback (runs before the next script run, so the sidebar shows the new task): keep the
    task and its settings when they are valid."""
    task = st.session_state.pretext_task
    try:
        put(settings().with_task(task, settings_from(TASKS[task].Settings, widget_values(task))))
    except ValueError:
        put(settings().with_task(task))  # the page shows why below; the last valid settings stay


def control(column, task: str, opt: Option, value) -> None:
    key = widget_key(task, opt.name)
    if key not in st.session_state:  # widgets start from the saved settings on each visit
        st.session_state[key] = list(value) if isinstance(value, tuple) else value
    common = dict(key=key, help=opt.help, on_change=save)
    if isinstance(opt.default, tuple):
        column.multiselect(opt.label, list(opt.choices), **common)
    elif isinstance(opt.default, bool):
        column.toggle(opt.label, **common)
    elif opt.choices and len(opt.choices) > 4:
        column.select_slider(opt.label, list(opt.choices), **common)
    elif opt.choices:
        column.radio(opt.label, list(opt.choices), horizontal=True, **common)
    elif isinstance(opt.default, int):
        column.slider(opt.label, int(opt.low), int(opt.high), **common)
    else:
        column.slider(opt.label, float(opt.low), float(opt.high), step=0.05 if opt.high - opt.low >= 0.5 else 0.01,
                      **common)


def title(name: str) -> str:
    return TASKS[name].title + (" (colour only)" if TASKS[name].unavailable(dataset.channels) else "")


st.session_state.setdefault("pretext_task", settings().pretext.task)
name = st.radio("Task", list(TASKS), horizontal=True, format_func=title, key="pretext_task", on_change=save)
task_type = TASKS[name]
st.markdown(task_type.explanation)
reason = task_type.unavailable(dataset.channels)
if reason:
    st.warning(f"{reason} Choose a colour dataset on the **Data** page, or another task.")
    st.stop()

current = settings().settings_of(name)
opts = options(task_type.Settings)
columns = st.columns(min(3, len(opts))) if opts else []
for i, opt in enumerate(opts):
    control(columns[i % len(columns)], name, opt, getattr(current, opt.name))
try:
    chosen = settings_from(task_type.Settings, widget_values(name))
except ValueError as exc:
    st.warning(f"{escape(exc)}. The last valid settings are kept.")
    st.stop()
put(settings().with_task(name, chosen))
config = settings().pretext
st.caption(f"{config.make_task().describe()}. Built with the training seed ({config.seed}), as the Train page will.")

split = current_split()
st.divider()
left, right = st.columns([3, 1])
left.subheader(f"Samples from {escape(dataset.name)}, as training makes them at {config.image_size} px")
if right.button("🎲 New samples"):
    st.session_state.gallery_seed = st.session_state.get("gallery_seed", 0) + 1
gallery(dataset, split, config, st.session_state.get("gallery_seed", 0))
st.divider()
st.subheader("🎯 You guess first")
st.caption("The puzzle the network trains on, for you: held-out images it never trained on. Can you beat it?")
quiz_panel(dataset, split, config)
st.page_link("pages/train.py", label="Next: train on this task →", icon="🏋️")
