"""Every run of this session that ended, with its settings, time and result; two of them side by side."""
import time

import streamlit as st

from pages.ui.state import workspace
from ssl_core.analysis.plots import epoch_metric, loss_figure, metric_figure

st.title("Run history")
records = list(reversed(workspace().history))  # newest first
if not records:
    st.info("No run has ended in this session yet: each pretext training and comparison appears here when it "
            "finishes or is stopped, with its settings, time and result.")
    st.stop()
st.dataframe([{"#": r.number, "ended": time.strftime("%H:%M:%S", time.localtime(r.ended_at)), "run": r.title,
               "status": r.status, "time (s)": round(r.seconds), "result": r.result, "settings": r.settings}
              for r in records], hide_index=True, key="history_table")

st.subheader("Two runs side by side")
by_number = {r.number: r for r in records}
same_kind = next((i for i, r in enumerate(records[1:], 1) if r.kind == records[0].kind), min(1, len(records) - 1))
left, right = st.columns(2)  # by default the newest run against the one before it of the same kind
first = left.selectbox("Run", list(by_number), format_func=lambda n: by_number[n].label, key="history_first")
second = right.selectbox("against", list(by_number), format_func=lambda n: by_number[n].label, index=same_kind,
                         key="history_second")
chosen = [by_number[first]] + ([by_number[second]] if second != first else [])
steps = tuple(p for r in chosen for p in r.curves()[0])
epochs = tuple(p for r in chosen for p in r.curves()[1])
if len({epoch_metric(r.epochs).key for r in chosen}) > 1:
    st.info("These runs measure different things (one paints pixels, one classifies): their losses compare, "
            "their scores do not.")
c1, c2 = st.columns(2)
c1.plotly_chart(loss_figure(steps, epochs), key="history_loss")
c2.plotly_chart(metric_figure(epochs), key="history_metric")
for r in chosen:
    st.markdown(f"**{r.label}** ({r.status}, {r.seconds:.0f} s): {r.result}  \n{r.settings}")
