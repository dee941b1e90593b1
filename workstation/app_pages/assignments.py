"""Assignments (educators): make a named case set from a worklist filter or a list of case ids,
optionally with a due date, for some students or everyone; see each one's progress."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

import streamlit as st

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from data.accounts import Accounts
from data.assignments import MAX_ASSIGNMENT_CASES, Assignments
from data.audit_trail import AuditTrail
from data.records import MAX_ASSIGNMENT_NAME_CHARS
from data.review_stats import known_reviewers
from data.store import Store
from data.worklist import worklist_page
from workstation import session, ui
from workstation.messages import HANDLED
from workstation.text import md
from workstation.worklist_filters import ANY, WorklistFilters

ERROR = "as_error"  # a handled error raised by the Create button's callback

st.title("Assignments")
viewer = ui.guard("assignments")
store = ui.store()
ui.notice()


def students(store: Store) -> list[str]:
    """Student accounts; in local mode also everyone who has written a student impression."""
    names = set(Accounts(store).names("student"))
    if not viewer.shared:
        names |= set(known_reviewers(store))
    return sorted(names)


FROM_FILTER, FROM_LIST = "a worklist filter", "a list of case ids"


def filter_widgets(store: Store) -> None:
    columns = st.columns(4)
    columns[0].selectbox(
        "Label (reference or flag)",
        [ANY, *FINDING_LABELS],
        key="as_label",
        format_func=lambda s: DISPLAY_NAMES.get(s, s),  # type: ignore[call-overload]
    )
    columns[1].selectbox("Source", [ANY, *store.cases.sources()], key="as_source")
    columns[2].selectbox("Images", [ANY, "phantoms only", "real images only"], key="as_phantoms")
    columns[3].text_input("Case or image id contains", key="as_search")


def chosen_cases(store: Store) -> tuple[list[str], str, int]:
    """The cases the form names now (read from its widgets' state, so the Create button's callback
    sees what was typed just before the click), how it was made, and how many matched."""
    state = st.session_state
    if state.get("as_from", FROM_FILTER) == FROM_LIST:
        ids = [part for part in re.split(r"[\s,]+", state.get("as_list") or "") if part]
        return ids, "case list", len(ids)
    values = {key: state.get(f"as_{key}") or ANY for key in ("label", "source", "phantoms")}
    search = state.get("as_search") or ""
    query = WorklistFilters(**values, search=search, sort="case_id").query(paged=False)
    page = worklist_page(store, query.model_copy(update={"page_size": MAX_ASSIGNMENT_CASES}))
    described = ", ".join(
        f"{name} {value}"
        for name, value in (
            *(("images" if k == "phantoms" else k, v) for k, v in values.items()),
            ("search", search),
        )
        if value and value != ANY
    )
    return [row.case_id for row in page.rows], f"filter: {described or 'all cases'}", page.total


def create_form(store: Store) -> None:
    with st.container(border=True):
        st.subheader("New assignment")
        st.text_input(
            "Name", key="as_name", max_chars=MAX_ASSIGNMENT_NAME_CHARS, placeholder="e.g. Pneumothorax week"
        )
        made = st.radio("Cases from", [FROM_FILTER, FROM_LIST], key="as_from", horizontal=True)
        if made == FROM_FILTER:
            filter_widgets(store)
        else:
            st.text_area("Case ids, one per line (or separated by commas)", key="as_list", height=120)
        _, _, total = chosen_cases(store)
        st.caption(
            f"{total:,} case(s)"
            + (f"; the first {MAX_ASSIGNMENT_CASES:,} are used" if total > MAX_ASSIGNMENT_CASES else "")
        )
        columns = st.columns(2)
        everyone = columns[0].toggle("Every student", value=True, key="as_everyone")
        columns[0].multiselect("Students", students(store), key="as_students", disabled=everyone)
        has_due = columns[1].toggle("Due date", value=False, key="as_has_due")
        columns[1].date_input("Due", key="as_due", disabled=not has_due)
        st.button("Create assignment", key="as_create", type="primary", on_click=create, args=(store,))


def create(store: Store) -> None:
    """The Create button: store the assignment, empty the form (so a second click makes no twin)."""
    state = st.session_state
    case_ids, made_from, _ = chosen_cases(store)
    everyone, chosen = bool(state.get("as_everyone", True)), list(state.get("as_students") or [])
    due = state.get("as_due")
    due_at = datetime.combine(due, time(23, 59), tzinfo=UTC) if state.get("as_has_due") and due else None
    try:
        created = Assignments(store).create(
            state.get("as_name") or "",
            case_ids,
            created_by=viewer.name or "educator",
            students=chosen,
            everyone=everyone,
            due_at=due_at,
            made_from=made_from,
        )
    except HANDLED as error:
        state[ERROR] = error
        return
    AuditTrail(store).record(
        "assignment_created",
        actor=viewer.name,
        role=viewer.role,
        target=created.name,
        detail=f"{created.n_cases} cases; {'everyone' if everyone else ', '.join(chosen)}",
    )
    state["as_name"] = ""
    state["as_list"] = ""
    st.session_state[session.NOTICE] = f"Created {created.name} ({created.n_cases} cases)."


def existing(store: Store) -> None:
    assignments = Assignments(store)
    found = assignments.all()
    st.subheader(f"Assignments ({len(found)})")
    if not found:
        st.caption("None yet.")
        return
    for assignment in reversed(found):
        given = students(store) if assignment.everyone else list(assignment.students)
        rows = [
            {"student": s, "progress": assignments.progress(assignment.assignment_id, s).summary}
            for s in given
        ]
        due = f" · due {assignment.due_at:%Y-%m-%d}" if assignment.due_at else ""
        with st.expander(f"{md(assignment.name)} · {assignment.n_cases} cases{due}"):
            st.caption(
                f"{md(assignment.made_from or '')} · set by {md(assignment.created_by)} · "
                + ("every student" if assignment.everyone else f"{len(assignment.students)} student(s)")
            )
            st.dataframe(rows, key=f"as_rows_{assignment.assignment_id}", hide_index=True, width="stretch")


with ui.errors_shown():
    failed = st.session_state.pop(ERROR, None)
    if failed is not None:
        ui.show_error(failed)
    create_form(store)
    existing(store)
