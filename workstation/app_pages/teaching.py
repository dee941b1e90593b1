"""Teaching: write your own impression first; the reference stays hidden until you submit, then a
checklist shows what you found, missed, put on the wrong side or reported that is not there."""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from audit.protocols import MAX_DRAFT_CHARS
from data.assignments import Assignments
from data.store import Store
from workstation import access, overlay, session, teaching, teaching_view, ui
from workstation.text import md

ASSIGNMENT = "tc_assignment"


def again_key(case_id: str) -> str:
    return f"tc_again_{case_id}"


def _go(case_id: str | None) -> None:
    if case_id is not None:
        st.session_state[session.TEACHING_CASE] = case_id


def student_case(store: Store, student: str) -> str:
    """The student's assignment and case, with Previous (k) / Next (j) and their progress."""
    assignments = Assignments(store).for_student(student)
    if not assignments:
        st.info("No assignment yet: your educator will give you one.", icon=":material/assignment:")
        st.stop()
    by_id = {a.assignment_id: a for a in assignments}
    if st.session_state.get(ASSIGNMENT) not in by_id:  # the newest assignment
        st.session_state[ASSIGNMENT] = assignments[-1].assignment_id
    chosen = st.selectbox(
        "Assignment",
        list(by_id),
        key=ASSIGNMENT,
        format_func=lambda a: teaching_view.assignment_label(by_id[a]),
    )
    where = teaching_view.place(store, by_id[chosen], student)
    if st.session_state.get(session.TEACHING_CASE) not in where.cases:
        st.session_state[session.TEACHING_CASE] = where.first_open()
    current = str(st.session_state[session.TEACHING_CASE])
    row = st.columns([4, 1, 1], vertical_alignment="bottom")
    row[0].selectbox(
        "Case",
        list(where.cases),
        key=session.TEACHING_CASE,
        format_func=lambda c: f"{where.cases.index(c) + 1}. {c}" + (" ✓" if c in where.submitted else ""),
    )
    row[1].button(
        "Previous",
        key="tc_prev",
        shortcut="k",
        on_click=_go,
        args=(where.step(current, -1),),
        width="stretch",
    )
    row[2].button(
        "Next", key="tc_next", shortcut="j", on_click=_go, args=(where.step(current, 1),), width="stretch"
    )
    st.progress(len(where.submitted) / max(1, len(where.cases)), text=where.progress)
    return str(st.session_state[session.TEACHING_CASE])


def staff_case(store: Store) -> str:
    """Any case of the whole worklist, found by id (the case open in Review first)."""
    search = st.text_input("Search the worklist", key="tc_search", placeholder="case or image id")
    found, total = teaching_view.search_cases(store, search)
    if not found:
        st.info("No case matches. Seed a demo worklist with `cxr-audit demo` or import cases.")
        st.stop()
    choices = session.teaching_choices(found, st.session_state) if not search else found
    if st.session_state.get(session.TEACHING_CASE) not in choices:
        st.session_state[session.TEACHING_CASE] = choices[0]
    st.caption(
        f"{total:,} matching case(s)" + (f"; the first {len(found)} are listed" if total > len(found) else "")
    )
    return str(st.selectbox("Case", choices, key=session.TEACHING_CASE))


def impression_form(store: Store, case_id: str, student: str | None) -> None:
    st.subheader("Your impression")
    text = st.text_area(
        "Impression",
        key=f"tc_text_{case_id}",
        height=180,
        max_chars=MAX_DRAFT_CHARS,
        placeholder="e.g. Small right pleural effusion. No pneumothorax.",
    )
    if st.button("Submit my impression", key="tc_submit", type="primary", disabled=student is None):
        try:
            teaching.submit(store, case_id, student or "", text, ui.backends())
        except teaching.DraftRejectedError as error:
            st.error(md(error))
        else:
            st.session_state[again_key(case_id)] = False
            st.session_state[session.NOTICE] = "Impression saved; here is how it compares."
            st.rerun()
    st.caption("The reference findings stay hidden until you submit.")


def bare_image(pixels: np.ndarray, column: DeltaGenerator) -> None:
    column.image(
        overlay.encode(overlay.render(pixels, [])), caption="The image, without any boxes", width="stretch"
    )


def feedback(audit: teaching.StudentAudit, pixels: np.ndarray, columns: list[DeltaGenerator]) -> None:
    """The reference boxes coloured by outcome beside the checklist, its score and any feedback."""
    left, right = columns
    left.image(
        overlay.encode(overlay.render(pixels, teaching_view.checklist_boxes(audit))),
        caption="Reference findings: green found, orange missed, magenta wrong side",
        width="stretch",
    )
    with right:
        ui.disclaimer_banner()
        result = audit.checklist
        st.subheader(result.score)
        if not result.scored:
            st.warning(md(result.why_not or ""))
        elif not result.items:
            st.success("Nothing to find on this image, and you reported nothing that is not there.")
        else:
            st.dataframe(
                teaching_view.checklist_rows(audit), key="tc_checklist", hide_index=True, width="stretch"
            )
            for item in result.items:
                if item.note:
                    st.caption(f":material/info: {item.name}: {md(item.note)}")
        for about, given in teaching.feedback_lines(audit):
            verb = "agrees with the flag" if given.decision == "accept" else "disagrees with the flag"
            note = f": {md(given.note)}" if given.note else ""
            st.info(f"**{md(given.educator)}** {verb} on {md(about)}{note}", icon=":material/forum:")
        st.caption("Your impression, as submitted:")
        st.text(audit.draft.text)
        if st.button("Write another impression", key="tc_again"):
            st.session_state[again_key(audit.draft.case_id)] = True
            st.rerun()


def earlier_attempts(store: Store, case_id: str, student: str) -> None:
    drafts = teaching.student_drafts(store, case_id, student)
    if len(drafts) > 0:
        with st.expander(f"Your impressions of this case ({len(drafts)})"):
            for draft in drafts:
                audit = teaching.student_audit(store, draft, ui.backends())
                st.caption(f"{draft.created_at:%Y-%m-%d %H:%M} UTC · {md(audit.checklist.score)}")
                st.text(draft.text)


st.title("Teaching")
st.caption("Read the image, write your impression, then compare it with the reference reading.")
ui.notice()
viewer = ui.guard("teaching")
store = ui.store()
student = ui.require_reviewer("write and keep your impressions (your name is stored with them)")

with ui.errors_shown():
    case_id = student_case(store, viewer.name or "") if viewer.is_student else staff_case(store)
    allowed = access.case_ids_for(store, viewer)
    if allowed is not None and case_id not in allowed:
        st.error("This case is not in your assignments.")
        st.stop()
    case = store.cases.get(case_id)
    st.caption(
        f"{md(case.case_id)} · image {md(case.image_id)}"
        + (" · **synthetic phantom**" if case.is_phantom else "")
    )
    latest = teaching.latest_attempt(store, case_id, student) if student else None
    columns = st.columns([3, 2], gap="large")
    pixels = ui.case_pixels(case.image_path, case.width, case.height)
    if latest is None or st.session_state.get(again_key(case_id)):
        bare_image(pixels, columns[0])
        with columns[1]:
            impression_form(store, case_id, student)
    else:
        feedback(teaching.student_audit(store, latest, ui.backends()), pixels, columns)
    if student is not None:
        earlier_attempts(store, case_id, student)
