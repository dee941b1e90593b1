"""Teaching: write your own impression first; the reference findings stay hidden until you
submit, then your impression is audited against them."""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from data.records import CaseRecord, WorklistQuery
from data.store import Store
from data.worklist import worklist_page
from workstation import overlay, review_view, session, teaching, ui

CASE_CHOICES = 500


def case_choice(store: Store) -> str:
    """The case to read, from the worklist in case-id order (the case open in Review first)."""
    rows = worklist_page(store, WorklistQuery(sort="case_id", page_size=CASE_CHOICES)).rows
    if not rows:
        st.info("The worklist is empty. Seed a demo worklist with `cxr-audit demo` or import cases.")
        st.stop()
    case_ids = session.teaching_choices([row.case_id for row in rows], st.session_state)
    if st.session_state.get(session.TEACHING_CASE) not in case_ids:
        st.session_state[session.TEACHING_CASE] = st.session_state.get(session.CASE) or case_ids[0]
    return str(st.selectbox("Case", case_ids, key=session.TEACHING_CASE))


def case_caption(case: CaseRecord) -> None:
    st.caption(
        f"{case.case_id} · image {case.image_id}" + (" · **synthetic phantom**" if case.is_phantom else "")
    )


def impression_form(store: Store, case_id: str, student: str | None) -> None:
    """The student's impression and Submit; the reference stays hidden until then."""
    st.subheader("Your impression")
    text = st.text_area(
        "Impression",
        key=f"tc_text_{case_id}",
        height=180,
        placeholder="e.g. Small right pleural effusion. No pneumothorax.",
    )
    if st.button("Submit my impression", key="tc_submit", type="primary", disabled=student is None):
        try:
            draft = teaching.submit(store, case_id, student or "", text)
        except teaching.DraftRejectedError as error:
            st.error(str(error))
        else:
            session.record_teaching_submission(st.session_state, case_id, draft.draft_id)
            st.session_state[session.NOTICE] = "Impression saved; here is the comparison."
            st.rerun()
    st.caption("The reference findings stay hidden until you submit.")


def before_submission(
    store: Store, case_id: str, student: str | None, pixels: np.ndarray, columns: list[DeltaGenerator]
) -> None:
    """The bare image beside the impression form."""
    left, right = columns
    left.image(
        overlay.encode(overlay.render(pixels, [])), caption="The image, without any boxes", width="stretch"
    )
    with right:
        impression_form(store, case_id, student)


def comparison(
    store: Store, case_id: str, submitted_id: int, pixels: np.ndarray, columns: list[DeltaGenerator]
) -> None:
    """The reference findings on the image beside the impression as the parser read it, and its flags."""
    left, right = columns
    result = teaching.audit_student_draft(store, store.drafts.get(submitted_id), ui.backends())
    report = result.report
    references = store.cases.reference_findings(case_id)
    boxes = review_view.overlay_boxes(
        report, references, [], review_view.Layers(model=True, reference=False, reviewer=False)
    )
    left.image(
        overlay.encode(overlay.render(pixels, boxes)),
        caption="Reference findings on the image",
        width="stretch",
    )
    with right:
        ui.disclaimer_banner()
        st.subheader("Your impression, as the parser read it")
        st.markdown(
            review_view.highlight_draft_html(result.draft.text, report.draft.labels if report.draft else ()),
            unsafe_allow_html=True,
        )
        for banner in review_view.run_summary(report).banners:
            getattr(st, banner.level)(banner.text)
        st.subheader(f"Flags ({len(report.flags)})")
        if not report.flags:
            st.success("No flags: your impression agrees with the reference findings.")
        for index, flag in enumerate(report.flags):
            with st.container(border=True, key=f"tc_flag_{index}"):
                st.markdown(review_view.flag_heading(flag.type, flag.label))
                st.write(flag.reason)
        st.subheader("Reference findings")
        st.dataframe(
            review_view.finding_rows(references), key="tc_reference", hide_index=True, width="stretch"
        )
        if st.button("Write another impression", key="tc_again"):
            session.clear_teaching_submission(st.session_state, case_id)
            st.rerun()


def earlier_impressions(store: Store, case_id: str, student: str) -> None:
    earlier = teaching.student_drafts(store, case_id, student)
    if earlier:
        with st.expander(f"Your impressions of this case ({len(earlier)})"):
            for draft in earlier:
                st.caption(f"{draft.created_at:%Y-%m-%d %H:%M} UTC")
                st.text(draft.text)


st.title("Teaching")
st.caption("Read the image, write your impression, then compare it with the reference reading.")
ui.notice()
store = ui.store()
student = ui.require_reviewer("write and keep your impressions (your name is stored with them)")

with ui.errors_shown():
    case_id = case_choice(store)
    case = store.cases.get(case_id)
    case_caption(case)
    submitted_id = session.teaching_submission(st.session_state, case_id)
    columns = st.columns([3, 2], gap="large")
    pixels = ui.case_pixels(case.image_path, case.width, case.height)
    if submitted_id is None or student is None:
        before_submission(store, case_id, student, pixels, columns)
    else:
        comparison(store, case_id, submitted_id, pixels, columns)
    if student is not None:
        earlier_impressions(store, case_id, student)
