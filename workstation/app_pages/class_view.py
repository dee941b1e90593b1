"""Class (educators): each student's results and trends, the cases the class finds hardest,
feedback on a student's impression, the audit trail, and the inter-reader study setting."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.app_settings import BLINDED_READING, AppSettings
from data.audit_trail import AuditTrail
from data.records import MAX_NOTE_CHARS
from data.store import Store
from data.teaching_runs import TeachingRuns
from workstation import class_results, session, teaching, ui
from workstation.messages import HANDLED
from workstation.text import md

# Shares as percentages (a blank cell: nothing to divide by).
SHARES = {
    name: st.column_config.NumberColumn(name, format="percent")
    for name in ("found ÷ findings", "missed share")
}

st.title("Class")
viewer = ui.guard("class")
store = ui.store()
ui.notice()
ui.disclaimer_banner()


def students_tab(frame: pd.DataFrame) -> None:
    st.subheader("Per student")
    st.caption("Latest impression of each student on each case; earlier attempts are in the export.")
    st.dataframe(
        class_results.per_student(frame),
        key="cl_students",
        hide_index=True,
        width="stretch",
        column_config=SHARES,
    )
    st.subheader("Across assignments")
    st.dataframe(
        class_results.trends(frame), key="cl_trends", hide_index=True, width="stretch", column_config=SHARES
    )


def cases_tab(frame: pd.DataFrame) -> None:
    st.subheader("Hard cases first")
    st.caption("Per case and finding: how many students read it and how many missed it.")
    st.dataframe(
        class_results.per_case(frame), key="cl_cases", hide_index=True, width="stretch", column_config=SHARES
    )


def _give(flag_id: int, decision: str, key: str) -> None:
    note = st.session_state.get(key) or None
    try:
        TeachingRuns(store).give_feedback(flag_id, viewer.name or "educator", decision, note)  # type: ignore[arg-type]
    except HANDLED as error:
        st.session_state["cl_error"] = error
        return
    AuditTrail(store).record("feedback_given", actor=viewer.name, role=viewer.role, target=f"flag {flag_id}")
    st.session_state[key] = ""
    st.session_state[session.NOTICE] = "Feedback saved; the student sees it with their checklist."


def feedback_tab() -> None:
    error = st.session_state.pop("cl_error", None)
    if error is not None:
        ui.show_error(error)
    attempts = class_results.attempts(store, accounts_only=viewer.shared)
    if not attempts:
        st.caption("No impression has been submitted yet.")
        return
    by_id = {a.draft_id: a for a in attempts}
    chosen = st.selectbox(
        "Impression",
        list(reversed(by_id)),
        key="cl_attempt",
        format_func=lambda d: (
            f"{by_id[d].student} · {by_id[d].case_id} · {by_id[d].submitted_at:%Y-%m-%d %H:%M}"
        ),
    )
    audit = teaching.student_audit(store, store.drafts.get(chosen), ui.backends())
    st.caption(
        "Accept: the flag stands. Dismiss: it does not (the audit misread the impression), and the "
        "student's checklist and these tables no longer count it. The student reads your note."
    )
    st.markdown(f"**{md(audit.checklist.score)}**")
    st.text(audit.draft.text)
    if not audit.report.flags:
        st.caption("No flags on this impression.")
    for flag_id, flag in zip(audit.flag_ids, audit.report.flags, strict=True):
        with st.container(border=True, key=f"cl_flag_{flag_id}"):
            st.markdown(f"**{flag.type}** · {md(flag.label)}")
            st.caption(md(flag.reason))
            given = audit.feedback.get(flag_id)
            if given is not None:
                verb = "Agreed" if given.decision == "accept" else "Disagreed"
                st.caption(f"{verb} by {md(given.educator)}" + (f": {md(given.note)}" if given.note else ""))
            key = f"cl_note_{flag_id}"
            st.text_input("Note for the student", key=key, max_chars=MAX_NOTE_CHARS)
            buttons = st.columns(2)
            buttons[0].button(
                "Accept", key=f"cl_accept_{flag_id}", on_click=_give, args=(flag_id, "accept", key)
            )
            buttons[1].button(
                "Dismiss", key=f"cl_dismiss_{flag_id}", on_click=_give, args=(flag_id, "dismiss", key)
            )


def trail_tab(store: Store) -> None:
    events = AuditTrail(store).recent(500)
    st.caption(f"The newest {len(events)} event(s): sign-ins, refusals and role-relevant actions.")
    st.dataframe([e.model_dump() for e in events], key="cl_trail", hide_index=True, width="stretch")


def study_tab(store: Store) -> None:
    settings = AppSettings(store)
    current = settings.get_flag(BLINDED_READING)
    wanted = st.toggle(
        "Blinded reading: hide other reviewers' decisions on a flag until a reviewer has decided it",
        value=current,
        key="cl_blinded",
    )
    if wanted != current:
        settings.set_flag(BLINDED_READING, wanted, by=viewer.name)
        AuditTrail(store).record(
            "blinding_changed", actor=viewer.name, role=viewer.role, detail="on" if wanted else "off"
        )
        st.rerun()
    st.caption("For inter-reader studies. The Evaluation page's agreement figures do not change.")


def export_tab(frame: pd.DataFrame) -> None:
    ui.results_download(frame, key="cl", label="Download class results", stem="class-results", what="class")


with ui.errors_shown():
    frame = class_results.finding_rows(store, accounts_only=viewer.shared)
    tabs = st.tabs(["Students", "Cases", "Feedback", "Audit trail", "Study", "Export"])
    with tabs[0]:
        students_tab(frame)
    with tabs[1]:
        cases_tab(frame)
    with tabs[2]:
        feedback_tab()
    with tabs[3]:
        trail_tab(store)
    with tabs[4]:
        study_tab(store)
    with tabs[5]:
        export_tab(frame)
