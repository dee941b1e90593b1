"""My work (students): your own impressions and their checklists, as CSV or Parquet. Nothing else."""

from __future__ import annotations

import streamlit as st

from data.audit_trail import AuditTrail
from workstation import class_results, ui

st.title("My work")
st.caption("Your submitted impressions, one row per finding of each, with the checklist's result.")
ui.disclaimer_banner()
viewer = ui.guard("my_work")
store = ui.store()

with ui.errors_shown():
    frame = class_results.finding_rows(store, student=viewer.name or "")
    st.write(f"{frame['draft_id'].nunique():,} impression(s), {len(frame):,} row(s).")
    fmt = st.selectbox("Format", class_results.CLASS_FORMATS, key="mw_format", format_func=str.upper)
    st.download_button(
        f"Download {fmt.upper()}",
        data=class_results.export_bytes(frame, fmt),
        file_name=f"cxr-audit-my-work.{fmt}",
        mime="text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
        key="mw_download",
        type="primary",
        on_click=lambda: AuditTrail(store).record(
            "export", actor=viewer.name, role=viewer.role, detail=f"own work, {fmt}"
        ),
    )
