"""My work (students): your own impressions and their checklists, as CSV or Parquet. Nothing else."""

from __future__ import annotations

import streamlit as st

from workstation import class_results, ui

st.title("My work")
st.caption("Your submitted impressions, one row per finding of each, with the checklist's result.")
ui.disclaimer_banner()
viewer = ui.guard("my_work")
store = ui.store()

with ui.errors_shown():
    frame = class_results.finding_rows(store, student=viewer.name or "")
    ui.results_download(frame, key="mw", label="Download", stem="my-work", what="own work")
