"""Worklist: every case with its status and flag counts, real images and urgent cases first;
filters (kept in the URL and for the session), search, pages; cases never audited are audited
in the background so that opening one does not wait."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from audit.schema import FLAG_TYPES
from data.records import CASE_STATUSES, WorklistPage
from data.review_stats import known_reviewers
from data.reviewer_progress import OwnProgress, own_progress
from data.store import Store
from data.worklist import worklist_page
from workstation import generated, services, session, teaching_view, ui
from workstation.worklist_filters import ANY, KEYS, PAGE_SIZES, PHANTOM_CHOICES, SORTS, WorklistFilters

FLAG_TYPE_NAMES = {ANY: ANY, **{flag_type: flag_type.capitalize() for flag_type in FLAG_TYPES}}


def _reset_page() -> None:
    st.session_state[KEYS["page"]] = 1


def _open_in_review(case_id: str) -> None:
    session.open_case(st.session_state, case_id)
    st.switch_page(ui.PAGE_REVIEW, query_params=session.url_params(st.session_state, case_id))


def _choice(column: DeltaGenerator, label: str, name: str, options: list[object], **extra: object) -> None:
    """One filter: a selectbox whose value lives in the URL and stays for the session."""
    column.selectbox(
        label,
        options,
        key=KEYS[name],
        on_change=_reset_page,
        bind="query-params",
        persist_state="session",
        **extra,  # type: ignore[arg-type]
    )


def filters(store: Store) -> WorklistFilters:
    """The filter bar (status, label, flag type, source, search; reviewer, images, sort, rows, page)."""
    with st.container(border=True):
        first = st.columns([2, 2, 2, 2, 3])
        _choice(
            first[0],
            "Status",
            "status",
            [ANY, *CASE_STATUSES],
            format_func=lambda s: services.STATUS_NAMES.get(s, s),
        )
        _choice(
            first[1], "Label", "label", [ANY, *FINDING_LABELS], format_func=lambda s: DISPLAY_NAMES.get(s, s)
        )
        _choice(
            first[2], "Flag type", "flag_type", list(FLAG_TYPE_NAMES), format_func=FLAG_TYPE_NAMES.__getitem__
        )
        _choice(first[3], "Source", "source", [ANY, *store.cases.sources()])
        first[4].text_input(
            "Search case or image id",
            key=KEYS["search"],
            on_change=_reset_page,
            placeholder="e.g. phantom-007",
            bind="query-params",
            persist_state="session",
        )
        second = st.columns([2, 2, 2, 2, 3])
        _choice(second[0], "Reviewer", "reviewer", [ANY, *known_reviewers(store)])
        _choice(second[1], "Images", "phantoms", list(PHANTOM_CHOICES))
        _choice(second[2], "Sort", "sort", list(SORTS), format_func=SORTS.__getitem__)
        _choice(second[3], "Rows per page", "page_size", list(PAGE_SIZES), index=PAGE_SIZES.index(50))
        second[4].number_input(
            "Page", min_value=1, step=1, key=KEYS["page"], bind="query-params", persist_state="session"
        )
        draft_filter(store)
    return session.worklist_filters(st.session_state)


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
        column.metric(f"{FLAG_TYPE_NAMES[flag_type]} flags", f"{page.flag_counts.get(flag_type, 0):,}")


def case_table(page: WorklistPage) -> None:
    """The page's cases; selecting a row opens it in Review."""
    st.caption(f"Page {page.page + 1} of {page.n_pages:,}. Select a row (or find a case below) to open it.")
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


def audit_ahead(store: Store, page: WorklistPage) -> None:
    """The page's cases never audited go to the background auditor (CPU defaults)."""
    pending = [row.case_id for row in page.rows if row.status == "not_audited"]
    if pending:
        ui.auditor().audit_ahead(store, pending, ui.backends())
        background_progress()


@st.fragment(run_every="2s")
def background_progress() -> None:
    """How many cases are still being audited in the background; the table refreshes when done."""
    left = ui.auditor().pending
    if left:
        st.caption(
            f":material/hourglass_top: Auditing {left} case(s) in the background with the reference grounder "
            "and the rules parser; they open without waiting once done."
        )
    elif st.session_state.pop("wl_auditing", False):
        st.rerun()
    if left:
        st.session_state["wl_auditing"] = True


def case_finder(store: Store) -> None:
    """Find any case of the worklist by case or image id (not only this page's) and open it."""
    row = st.columns([2, 3, 1], vertical_alignment="bottom")
    text = row[0].text_input(
        "Find a case",
        key="wl_find",
        placeholder="case or image id",
        on_change=lambda: st.session_state.pop("wl_pick", None),  # new matches: pick the first again
    )
    matches = teaching_view.search_cases(store, text)[0] if text.strip() else []
    picked = row[1].selectbox(
        "Matching cases",
        matches,
        key="wl_pick",
        placeholder="type in the box on the left" if not text.strip() else "no case matches",
        disabled=not matches,
    )
    if row[2].button(
        "Open in Review", key="wl_open", type="primary", width="stretch", disabled=picked is None
    ):
        _open_in_review(str(picked))


st.title("Worklist")
ui.notice()
viewer = ui.guard("worklist")
store = ui.store()

with ui.errors_shown():
    chosen = filters(store)
    query = chosen.query()
    page = worklist_page(store, query)
    progress_and_totals(page, own_progress(store, query, viewer.name) if viewer.name else None)
    if not page.rows:
        st.info("No case matches these filters. Seed a demo worklist with `cxr-audit demo` or import cases.")
    else:
        case_table(page)
        audit_ahead(store, page)
    case_finder(store)
