"""My assignments (students): each assignment with its due date and your progress, and its cases."""

from __future__ import annotations

import streamlit as st

from data.assignments import Assignments
from workstation import session, teaching_view, ui
from workstation.text import md

st.title("My assignments")
viewer = ui.guard("my_assignments")
store = ui.store()


def _open(assignment_id: int, case_id: str) -> None:
    st.session_state["tc_assignment"] = assignment_id
    st.session_state[session.TEACHING_CASE] = case_id


with ui.errors_shown():
    assignments = Assignments(store).for_student(viewer.name or "")
    if not assignments:
        st.info("No assignment yet: your educator will give you one.", icon=":material/assignment:")
    for assignment in reversed(assignments):
        where = teaching_view.place(store, assignment, viewer.name or "")
        with st.container(border=True, key=f"ma_{assignment.assignment_id}"):
            st.subheader(md(assignment.name))
            due = f"due {assignment.due_at:%Y-%m-%d}" if assignment.due_at else "no due date"
            st.caption(f"{due} · set by {md(assignment.created_by)}")
            st.progress(len(where.submitted) / max(1, len(where.cases)), text=where.progress)
            st.dataframe(
                [
                    {"#": i + 1, "case": c, "submitted": c in where.submitted}
                    for i, c in enumerate(where.cases)
                ],
                key=f"ma_cases_{assignment.assignment_id}",
                hide_index=True,
                width="stretch",
            )
            if st.button(
                "Continue in Teaching",
                key=f"ma_go_{assignment.assignment_id}",
                type="primary",
                on_click=_open,
                args=(assignment.assignment_id, where.first_open()),
            ):
                st.switch_page(ui.PAGE_TEACHING)
