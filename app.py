"""SSL Playground: the frame around the pages (navigation, sidebar status)."""
import streamlit as st

from pages.ui.params import PRESENT_PARAM

# Until `st.navigation` runs, Streamlit lists every file in pages/ (helpers too) under their file names: the
# navigation comes first, and the imports that load torch (seconds on a server's first visit) after it.

st.set_page_config(page_title="SSL Playground", page_icon="🧩", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/data.py", title="1. Data", icon="🗂️"),
    st.Page("pages/pretext.py", title="2. Pretext", icon="🔄"),
    st.Page("pages/train.py", title="3. Train", icon="🏋️"),
    st.Page("pages/downstream.py", title="4. Downstream & photos", icon="🎯"),
    st.Page("pages/inside.py", title="See inside", icon="🔬"),
    st.Page("pages/experiments.py", title="5. When does SSL help?", icon="📈"),
    st.Page("pages/history.py", title="Run history", icon="📜"),
]
# Presenter mode hides the sidebar and the page list and sets large type; the sidebar still runs, for the heartbeat.
PRESENTER_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"]
  {display: none !important;}
html {font-size: clamp(20px, 1.45vw, 30px);}
[data-testid="stMainBlockContainer"] {padding: 1.2rem 3rem 2rem; max-width: 100%;}
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p {font-size: 1.35rem; line-height: 1.4;}
[data-testid="stProgress"] p {font-size: 1.1rem;}
.js-plotly-plot .xtick text, .js-plotly-plot .ytick text, .js-plotly-plot .legendtext {font-size: 0.75rem !important;}
.js-plotly-plot .g-xtitle text, .js-plotly-plot .g-ytitle text {font-size: 0.8rem !important;}
.js-plotly-plot .gtitle {font-size: 0.95rem !important;}
</style>"""  # the charts' type follows the page's (Plotly writes fixed pixel sizes; these rules win over them)
presenting = st.query_params.get(PRESENT_PARAM) == "1"
if presenting:
    st.html(PRESENTER_CSS)
    page = st.navigation([st.Page("pages/present.py", title="Presenter mode", icon="🎤", default=True)],
                         position="hidden")
else:
    page = st.navigation(pages)

from pages.ui.state import (HEARTBEAT_S, current_dataset, device_label, elsewhere, get_job, init_state,  # noqa: E402
                            kept_training, pretext_summary, remember_setup, server, settings, workspace)
from pages.ui.text import escape  # noqa: E402
from pages.ui.widgets import glossary  # noqa: E402
from ssl_core.app.jobs import WAITING  # noqa: E402
from ssl_core.app.share import link, shareable_dataset  # noqa: E402

init_state()
if not presenting and (back := st.session_state.pop("return_to", None)) is not None:
    target = next((p for p in pages if p.url_path == back), None)
    if target is not None and target.url_path != page.url_path:
        st.switch_page(target)  # presenter mode's ✕: back to the page the speaker left
if note := st.session_state.pop("workspace_note", None):
    st.info(note)


def status_panel() -> None:
    server().touch(workspace())  # the heartbeat: a visitor whose tab is open is not reaped
    dataset = current_dataset()
    st.markdown(f"**Dataset:** {escape(dataset.name)} ({len(dataset):,} images)")
    st.markdown(f"**Pretext:** {pretext_summary()}")
    st.markdown(f"**Device:** {device_label()}")
    for key, label in (("train_job", "Pretext training"), ("downstream_job", "Downstream")):
        job = get_job(key)
        if job:
            snap = job.snapshot()
            state = snap.message if snap.status == WAITING else f"{snap.status} ({snap.progress:.0%})"
            if other := elsewhere(key):
                state += f", on {escape(other)}: not the current dataset"
            st.markdown(f"**{label}:** {state}")
        elif key == "train_job":
            st.markdown(f"**{label}:** " + ("kept across a restart (see the Train page)" if kept_training() else
                                            "not started"))


def share_panel() -> None:
    st.markdown("Opening this link sets up the same dataset, pretext task and settings (not the trained models):")
    st.code(link(st.context.url or "http://localhost:8501/", settings()), language=None, wrap_lines=True)
    if not shareable_dataset(settings().dataset):
        st.caption("Your own images are never put in a link: it opens on the default dataset.")


with st.sidebar:  # pages save their settings in widget callbacks, which run before this
    busy = any(job and job.snapshot().active for job in (get_job("train_job"), get_job("downstream_job")))
    st.fragment(status_panel, run_every=2.0 if busy else HEARTBEAT_S)()
    if not presenting:
        with st.popover("🔗 Share this setup", width="stretch"):
            share_panel()
    if not presenting:
        with st.popover("📖 Glossary", width="stretch"):
            glossary()
    if not presenting and st.button("🎤 Presenter mode", help="The talk in three steps, in large type, without the "
                                    "sidebar, with the current dataset and settings (also: add ?present=1 to the "
                                    "address). Home's Give a talk starts it with the talk preset."):
        st.session_state.present_from = page.url_path
        st.query_params[PRESENT_PARAM] = "1"
        st.rerun()

try:
    page.run()
finally:  # also after st.stop() and st.rerun()
    remember_setup()
