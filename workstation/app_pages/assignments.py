"""Assignments (educators): make a named case set from a worklist filter or a list of case ids,
optionally with a due date, for some students or everyone; see each one's progress."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

import streamlit as st

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from data.accounts import Accounts
from data.assignments import MAX_ASSIGNMENT_CASES, Assignments
from data.audit_trail import AuditTrail
from data.limits import MAX_ASSIGNMENT_NAME_CHARS
from data.store import Store
from workstation import services, session, ui
from workstation.messages import HANDLED
from workstation.text import md

ERROR = "as_error"  # a handled error raised by the Create button's callback

st.title("Assignments")
viewer = ui.guard("assignments")
store = ui.store()
ui.notice()


def students(store: Store) -> list[str]:
    """Student accounts; in local mode also everyone who has written a student impression."""
    names = set(Accounts(store).names("student"))
    if not viewer.shared:
        names |= set(services.known_reviewers(store))
    return sorted(names)


def cases_from_filter(store: Store) -> tuple[list[str], str]:
    columns = st.columns(4)
    label = columns[0].selectbox(
        "Label (reference or flag)",
        [services.ANY, *FINDING_LABELS],
        key="as_label",
        format_func=lambda s: DISPLAY_NAMES.get(s, s),  # type: ignore[call-overload]
    )
    source = columns[1].selectbox("Source", [services.ANY, *store.list_sources()], key="as_source")
    phantoms = columns[2].selectbox(
        "Images", [services.ANY, "phantoms only", "real images only"], key="as_phantoms"
    )
    search = columns[3].text_input("Case or image id contains", key="as_search")
    query = services.worklist_query(
        label=label, source=source, phantoms=phantoms, search=search, sort="case_id"
    )
    page = store.worklist(query.model_copy(update={"page_size": MAX_ASSIGNMENT_CASES}))
    st.caption(
        f"{page.total:,} case(s) match"
        + (f"; the first {MAX_ASSIGNMENT_CASES:,} are used" if page.total > MAX_ASSIGNMENT_CASES else "")
    )
    described = ", ".join(
        f"{k} {v}"
        for k, v in (("label", label), ("source", source), ("images", phantoms), ("search", search))
        if v and v != services.ANY
    )
    return [row.case_id for row in page.rows], f"filter: {described or 'all cases'}"


def cases_from_list() -> tuple[list[str], str]:
    text = st.text_area("Case ids, one per line (or separated by commas)", key="as_list", height=120)
    return [part for part in re.split(r"[\s,]+", text) if part], "case list"


def create_form(store: Store) -> None:
    with st.container(border=True):
        st.subheader("New assignment")
        st.text_input(
            "Name", key="as_name", max_chars=MAX_ASSIGNMENT_NAME_CHARS, placeholder="e.g. Pneumothorax week"
        )
        made = st.radio(
            "Cases from", ["a worklist filter", "a list of case ids"], key="as_from", horizontal=True
        )
        case_ids, made_from = cases_from_filter(store) if made == "a worklist filter" else cases_from_list()
        columns = st.columns(2)
        everyone = columns[0].toggle("Every student", value=True, key="as_everyone")
        chosen = columns[0].multiselect("Students", students(store), key="as_students", disabled=everyone)
        has_due = columns[1].toggle("Due date", value=False, key="as_has_due")
        due = columns[1].date_input("Due", key="as_due", disabled=not has_due)
        st.button(
            "Create assignment",
            key="as_create",
            type="primary",
            on_click=create,
            args=(store, case_ids, made_from, chosen, everyone, has_due, due),
        )


def create(
    store: Store,
    case_ids: list[str],
    made_from: str,
    chosen: list[str],
    everyone: bool,
    has_due: bool,
    due: Any,
) -> None:
    """The Create button: store the assignment, empty the form (so a second click makes no twin)."""
    due_at = datetime.combine(due, time(23, 59), tzinfo=UTC) if has_due and due else None
    try:
        created = Assignments(store).create(
            st.session_state.get("as_name") or "",
            case_ids,
            created_by=viewer.name or "educator",
            students=chosen,
            everyone=everyone,
            due_at=due_at,
            made_from=made_from,
        )
    except HANDLED as error:
        st.session_state[ERROR] = error
        return
    AuditTrail(store).record(
        "assignment_created",
        actor=viewer.name,
        role=viewer.role,
        target=created.name,
        detail=f"{created.n_cases} cases; {'everyone' if everyone else ', '.join(chosen)}",
    )
    st.session_state["as_name"] = ""
    st.session_state["as_list"] = ""
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
