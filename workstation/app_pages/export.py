"""Export: reviewer decisions and reviewer-drawn boxes as CSV, Parquet or JSONL (the CLI's export)."""

from __future__ import annotations

import streamlit as st

from data.export import EXPORT_FORMATS, MEDIA_TYPES, ExportFormat, export_bytes
from data.review_stats import known_reviewers
from data.store import Store
from workstation import access, exports, ui
from workstation.text import md
from workstation.worklist_filters import ANY


def scope_choices(store: Store) -> tuple[ExportFormat, exports.Scope]:
    """The file format, and whose decisions from which source go into it (blinded: only your own)."""
    columns = st.columns(3)
    fmt = columns[0].selectbox("Format", EXPORT_FORMATS, key="ex_format", format_func=str.upper)
    own_only = access.blinded(store, viewer)
    reviewer = columns[1].selectbox(
        "Reviewer",
        [viewer.name or ""] if own_only else [ANY, *known_reviewers(store)],
        key="ex_reviewer",
        help="Blinded reading is on: you export your own decisions only." if own_only else None,
    )
    source = columns[2].selectbox("Source", [ANY, *store.cases.sources()], key="ex_source")
    return fmt, exports.Scope.from_choices(reviewer=reviewer, source=source)


def download(store: Store, fmt: ExportFormat, scope: exports.Scope) -> None:
    """What the file holds, and the button that downloads it."""
    data, summary = export_bytes(store, fmt, reviewer=scope.reviewer, source=scope.source)
    st.markdown(md(exports.summary_line(summary.decisions, summary.reviewer_findings, scope)))
    st.download_button(
        f"Download {fmt.upper()}",
        data=data,
        file_name=exports.file_name(fmt, scope),
        mime=MEDIA_TYPES[fmt],
        key="ex_download",
        type="primary",
        # A shared server's audit trail names who downloaded whose decisions; alone, no rerun is needed.
        on_click=(lambda: ui.record_export(f"decisions, {fmt}, {scope.describe()}"))
        if viewer.shared
        else "ignore",
    )


st.title("Export")
st.caption(
    "One row per decision (every decision; `is_current` marks the one that counts) and one row per "
    "reviewer-drawn box: the same table as `cxr-audit export`."
)
ui.disclaimer_banner()
viewer = ui.guard("export")
store = ui.store()

with ui.errors_shown():
    fmt, scope = scope_choices(store)
    download(store, fmt, scope)
