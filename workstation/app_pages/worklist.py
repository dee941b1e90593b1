"""Worklist: every case with its status and flag counts, urgent first; filters, search, pages."""

from __future__ import annotations

import streamlit as st

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from audit.schema import FLAG_TYPES
from data.records import CASE_STATUSES, WorklistPage, WorklistQuery
from data.review_stats import known_reviewers
from data.reviewer_progress import OwnProgress, own_progress
from data.store import Store
from data.worklist import worklist_page
from workstation import generated, services, session, ui

PAGE_KEY = "wl_page"
SORTS = {"urgent": "urgent first", "case_id": "case id", "recent": "recently audited"}


def _reset_page() -> None:
    st.session_state[PAGE_KEY] = 1


def _open_in_review(case_id: str) -> None:
    session.open_case(st.session_state, case_id)
    st.switch_page(ui.PAGE_REVIEW, query_params=session.url_params(st.session_state, case_id))


def filters(store: Store) -> WorklistQuery:
    """The filter bar (status, label, flag type, source, search; reviewer, images, sort, rows, page)."""
    sources = store.cases.sources()
    reviewers = known_reviewers(store)
    with st.container(border=True):
        first = st.columns([2, 2, 2, 2, 3])
        status = first[0].selectbox(
            "Status",
            [services.ANY, *CASE_STATUSES],
            key="wl_status",
            on_change=_reset_page,
            format_func=lambda s: services.STATUS_NAMES.get(s, s),
        )
        label = first[1].selectbox(
            "Label",
            [services.ANY, *FINDING_LABELS],
            key="wl_label",
            on_change=_reset_page,
            format_func=lambda s: DISPLAY_NAMES.get(s, s),  # type: ignore[call-overload]
        )
        flag_type = first[2].selectbox(
            "Flag type", [services.ANY, *FLAG_TYPES], key="wl_flag_type", on_change=_reset_page
        )
        source = first[3].selectbox(
            "Source", [services.ANY, *sources], key="wl_source", on_change=_reset_page
        )
        search = first[4].text_input(
            "Search case or image id", key="wl_search", on_change=_reset_page, placeholder="e.g. phantom-007"
        )
        second = st.columns([2, 2, 2, 2, 3])
        reviewer = second[0].selectbox(
            "Reviewer", [services.ANY, *reviewers], key="wl_reviewer", on_change=_reset_page
        )
        phantoms = second[1].selectbox(
            "Images",
            [services.ANY, "phantoms only", "real images only"],
            key="wl_phantoms",
            on_change=_reset_page,
        )
        sort = second[2].selectbox(
            "Sort", list(SORTS), key="wl_sort", on_change=_reset_page, format_func=SORTS.get
        )
        page_size = second[3].selectbox(
            "Rows per page", [25, 50, 100, 200], index=1, key="wl_page_size", on_change=_reset_page
        )
        page_number = second[4].number_input("Page", min_value=1, step=1, key=PAGE_KEY)
        drafts = draft_filter(store)
    return services.worklist_query(
        status=status,
        label=label,
        flag_type=flag_type,
        source=source,
        reviewer=reviewer,
        search=search,
        phantoms=phantoms,
        drafts=drafts,
        sort=sort,
        page=int(page_number) - 1,
        page_size=page_size,
    )


def _keep_draft_choice() -> None:
    st.session_state[generated.DRAFT_CHOICE] = st.session_state.get("wl_drafts")
    _reset_page()


def draft_filter(store: Store) -> str:
    """Cases with a draft of a kind or by one generator; the Review page then shows that draft."""
    options = generated.draft_options(store)
    current = st.session_state.get(generated.DRAFT_CHOICE, generated.ANY)
    return str(
        st.columns([4, 7])[0].selectbox(
            "Drafts",
            options,
            index=options.index(current) if current in options else 0,
            key="wl_drafts",
            on_change=_keep_draft_choice,
            format_func=generated.option_label,
            help="Only cases with such a draft; Review opens that draft (a generator's report) for each.",
        )
    )


def progress_and_totals(page: WorklistPage, own: OwnProgress | None) -> None:
    """'N of M reviewed' (by you, once you are named), and the cases and flags matching the filters."""
    progress = page.progress
    done, text = (own.reviewed, own.summary) if own is not None else (progress.reviewed, progress.summary)
    st.progress(done / progress.total if progress.total else 0.0, text=text)
    counts = st.columns(6)
    counts[0].metric("Cases matching", f"{page.total:,}")
    counts[1].metric("Not audited", f"{progress.not_audited:,}")
    for column, flag_type in zip(counts[2:], FLAG_TYPES, strict=True):
        column.metric(f"{flag_type} flags", f"{page.flag_counts.get(flag_type, 0):,}")


def case_table(page: WorklistPage) -> None:
    """The page's cases; selecting a row opens it in Review."""
    st.caption(f"Page {page.page + 1} of {page.n_pages:,}. Select a row (or pick a case below) to open it.")
    selection = st.dataframe(
        services.worklist_rows(page),
        key="wl_table",
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
    )
    chosen_rows = selection.selection.rows if selection is not None else []
    if chosen_rows:
        _open_in_review(page.rows[chosen_rows[0]].case_id)


def audit_this_page(store: Store, page: WorklistPage) -> None:
    """A button that audits the page's not-audited cases with the CPU defaults, with a progress bar."""
    pending = [row.case_id for row in page.rows if row.status == "not_audited"]
    if pending and st.button(
        f"Audit the {len(pending)} not-audited case(s) on this page",
        key="wl_audit_page",
        help="reference grounder + rules parser; each case is otherwise audited when it is first opened",
    ):
        bar = st.progress(0.0, text="Auditing…")
        made = services.audit_not_audited(
            store,
            pending,
            ui.backends(),
            lambda index, total, case_id: bar.progress(index / total, text=f"Audited {case_id}"),
        )
        st.session_state[session.NOTICE] = f"Audited {made} case(s)."
        st.rerun()


def case_picker(page: WorklistPage) -> None:
    """Pick a case of this page by id and open it in Review."""
    pick = st.columns([3, 1])
    picked = pick[0].selectbox(
        "Case", [row.case_id for row in page.rows], key="wl_pick", label_visibility="collapsed"
    )
    if pick[1].button("Open in Review", key="wl_open", type="primary", width="stretch"):
        _open_in_review(picked)


st.title("Worklist")
ui.notice()
viewer = ui.guard("worklist")
store = ui.store()

with ui.errors_shown():
    query = filters(store)
    page = worklist_page(store, query)
    progress_and_totals(page, own_progress(store, query, viewer.name) if viewer.name else None)
    if not page.rows:
        st.info("No case matches these filters. Seed a demo worklist with `cxr-audit demo` or import cases.")
    else:
        case_table(page)
        audit_this_page(store, page)
        case_picker(page)
