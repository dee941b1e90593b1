"""Review: the image with the auditor's boxes, the draft as the parser read it, and each flag
as a card to accept or dismiss."""

from __future__ import annotations

import streamlit as st

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from data.records import REASON_CODE_NAMES, REASON_CODES
from models.registry import names
from workstation import overlay, review, review_actions, services, session, ui
from workstation.messages import HANDLED

SHORTCUTS = {
    "j": "next case",
    "k": "previous case",
    "a": "accept the focused flag",
    "d": "dismiss the focused flag",
}
CANVAS_WIDTH = 500  # fits the image column of a laptop screen, so the canvas is never squeezed

ui.notice()
review_actions.show_callback_error()
store = ui.store()
reviewer = ui.reviewer()

with ui.errors_shown():
    case_id = st.session_state.get(session.CASE) or services.first_case(store)
    if case_id is None:
        st.title("Review")
        st.info("The worklist is empty. Seed a demo worklist with `cxr-audit demo` or import cases.")
        st.stop()
    session.open_case(st.session_state, case_id)
    st.query_params[session.PARAM_CASE] = case_id
    case = store.get_case(case_id)

    head = st.columns([6, 1, 1])
    head[0].title(case.case_id)
    head[1].button(
        "Previous",
        key="rv_prev",
        shortcut="k",
        on_click=review_actions.step,
        args=(case_id, -1),
        width="stretch",
    )
    head[2].button(
        "Next",
        key="rv_next",
        shortcut="j",
        on_click=review_actions.step,
        args=(case_id, 1),
        width="stretch",
        type="primary",
    )
    st.caption(services.case_title(case))
    if case.is_phantom:
        st.info(
            "**Synthetic phantom**: a drawn model of a chest radiograph, not a patient image.",
            icon=":material/science:",
        )

    with st.spinner("Auditing this case with the CPU defaults…"):
        stored, fresh = services.ensure_audited(store, case_id, ui.backends())
    if fresh:
        st.toast(f"First audit of {case_id} saved ({stored.grounder} + {stored.parser}).")
    report = stored.report
    ui.disclaimer_banner()
    summary = review.run_summary(report)
    for banner in summary.banners:
        getattr(st, banner.level)(banner.text)

    decisions = store.current_decisions(run_id=stored.run_id)
    cards = review.flag_cards(stored, decisions, reviewer)
    focused = session.focus(st.session_state, [card.decided for card in cards])
    references = store.reference_findings(case_id)
    drawn = store.reviewer_findings(case_id)

    left, right = st.columns([3, 2], gap="large")
    with left:
        layer_cols = st.columns(3)
        layers = review.Layers(
            model=layer_cols[0].toggle("Model boxes", value=True, key="rv_layer_model"),
            reference=layer_cols[1].toggle("Reference boxes", value=False, key="rv_layer_reference"),
            reviewer=layer_cols[2].toggle("Reviewer boxes", value=True, key="rv_layer_reviewer"),
        )
        tools = st.columns([3, 2], vertical_alignment="center")
        with tools[0].expander("Zoom and contrast", expanded=False):
            view = overlay.View(
                zoom=st.slider("Zoom", 1.0, 4.0, 1.0, 0.25, key="rv_zoom"),
                centre_x=st.slider("Pan left–right", 0.0, 1.0, 0.5, 0.05, key="rv_cx"),
                centre_y=st.slider("Pan up–down", 0.0, 1.0, 0.5, 0.05, key="rv_cy"),
                window_centre=st.slider("Level (brightness)", 0, 255, 128, 1, key="rv_level"),
                window_width=st.slider("Window (contrast range)", 16, 512, 256, 8, key="rv_window"),
            )
        drawing = tools[1].toggle("Add missed finding", value=False, key="rv_draw")
        pixels = ui.case_pixels(case.image_path, case.width, case.height)
        boxes = review.overlay_boxes(report, references, drawn, layers)
        if not drawing:
            st.image(
                ui.overlay_jpeg(pixels, tuple(boxes), view),
                caption="Image with the auditor's boxes",
                width="stretch",
            )
            st.caption(
                ":red-badge[URGENT] :orange-badge[MISSING] :violet-badge[LATERALITY] boxes; label colour: "
                "a finding without a flag; dashed cyan: reference; lime: reviewer boxes. "
                "UNSUPPORTED flags have no box."
            )
        else:
            from streamlit_drawable_canvas import st_canvas

            flat = overlay.View(window_centre=view.window_centre, window_width=view.window_width)
            background = overlay.render(pixels, boxes, flat)
            canvas_size = overlay.display_size(background.width, background.height, CANVAS_WIDTH)
            if canvas_size[0] != CANVAS_WIDTH:  # a tall image: fit its width to the canvas instead
                canvas_size = (CANVAS_WIDTH, round(CANVAS_WIDTH * background.height / background.width))
            st.caption("Drag a rectangle over the finding the audit missed, pick its label, then save.")
            result = st_canvas(
                drawing_mode="rect",
                stroke_color=overlay.REVIEWER_COLOUR,
                fill_color="rgba(198, 255, 0, 0.15)",
                stroke_width=3,
                background_image=background.resize(canvas_size),
                width=canvas_size[0],
                height=canvas_size[1],
                key=session.canvas_key(st.session_state, case_id),
            )
            new_boxes = review.boxes_from_drawing(result.json_data, canvas_size)
            draw_cols = st.columns([2, 3, 2])
            draw_cols[0].selectbox(
                "Label", FINDING_LABELS, key="rv_draw_label", format_func=DISPLAY_NAMES.__getitem__
            )
            draw_cols[1].text_input("Note (optional)", key="rv_draw_note")
            draw_cols[2].button(
                "Save missed finding",
                key="rv_draw_save",
                type="primary",
                disabled=not new_boxes or reviewer is None,
                on_click=review_actions.save_drawn,
                args=(case_id, new_boxes[-1] if new_boxes else None, stored.run_id),
                width="stretch",
            )
            st.caption(
                f"{len(new_boxes)} box(es) drawn; the last one is saved."
                if new_boxes
                else "No box drawn yet."
            )
        if drawn:
            st.caption(
                "Reviewer boxes: "
                + "; ".join(
                    f"{item.reviewer}: {DISPLAY_NAMES[item.label]}" + (f" ({item.note})" if item.note else "")
                    for item in drawn
                )
            )

    with right:
        st.subheader(f"Flags ({len(cards)})")
        if reviewer is None:
            ui.require_reviewer("accept or dismiss flags")
        if not cards:
            st.success("No flags: the draft agrees with the image findings.")
            if reviewer is not None and st.button("Mark case reviewed", key="rv_mark_reviewed"):
                store.mark_case_reviewed(case_id, reviewer)
                st.session_state[session.NOTICE] = "Case marked reviewed."
                st.rerun()
        for card in cards:
            is_focused = card.position == focused
            with st.container(border=True, key=f"flag_card_{card.flag_id}"):
                title = st.columns([5, 2])
                focus_badge = "  :blue-badge[:material/keyboard: focused]" if is_focused else ""
                title[0].markdown(review.flag_heading(card.type, card.label) + focus_badge)
                if not is_focused:
                    title[1].button(
                        "Focus",
                        key=f"focus_{card.flag_id}",
                        on_click=review_actions.set_focus,
                        args=(card.position,),
                        width="stretch",
                    )
                st.write(card.reason)
                st.caption(
                    f"Phrase: “{card.phrase}”" if card.phrase else "Phrase: none (the draft is silent)"
                )
                st.caption(card.box_text)
                if card.mine is not None:
                    icon = (
                        ":material/check_circle:" if card.mine.decision == "accept" else ":material/cancel:"
                    )
                    st.markdown(f"{icon} **{review.decision_text(card.mine)}**")
                for other in card.others:
                    st.caption(review.decision_text(other))
                inputs = st.columns(2)
                inputs[0].selectbox(
                    "Reason (optional)",
                    [None, *REASON_CODES],
                    key=review_actions.reason_key(card.flag_id),
                    format_func=lambda code: "—" if code is None else REASON_CODE_NAMES[code],
                )
                inputs[1].text_input("Note (optional)", key=review_actions.note_key(card.flag_id))
                buttons = st.columns(2)
                buttons[0].button(
                    "Accept",
                    key=f"accept_{card.flag_id}",
                    shortcut="a" if is_focused else None,
                    on_click=review_actions.decide,
                    args=(card.flag_id, "accept", cards),
                    disabled=reviewer is None,
                    width="stretch",
                    type="primary" if is_focused else "secondary",
                )
                buttons[1].button(
                    "Dismiss",
                    key=f"dismiss_{card.flag_id}",
                    shortcut="d" if is_focused else None,
                    on_click=review_actions.decide,
                    args=(card.flag_id, "dismiss", cards),
                    disabled=reviewer is None,
                    width="stretch",
                )
        st.caption("Keys: " + " · ".join(f"**{key}** {what}" for key, what in SHORTCUTS.items()))

    st.subheader("Draft")
    if report.draft is not None:
        st.markdown(
            review.highlight_draft_html(report.draft.text, report.draft.labels), unsafe_allow_html=True
        )
        st.markdown(review.legend_html([item.label for item in report.draft.labels]), unsafe_allow_html=True)
        rows = review.reading_rows(report.draft)
        if rows:
            st.dataframe(rows, key="rv_reading", hide_index=True, width="stretch")
        else:
            st.caption("The parser found no label in this draft.")
    for note in summary.notes:
        st.caption(f":material/info: {note}")

    details = st.columns(2)
    with details[0], st.expander(f"Image findings ({stored.grounder})", expanded=False):
        st.dataframe(
            review.finding_rows(report.image.findings if report.image else ()),
            key="rv_findings",
            hide_index=True,
            width="stretch",
        )
    with details[1], st.expander("Re-audit with another backend", expanded=False):
        grounders, parsers = names("grounder"), names("parser")
        chosen_grounder = st.selectbox(
            "Grounder",
            grounders,
            key="rv_grounder",
            index=grounders.index(stored.grounder) if stored.grounder in grounders else 0,
        )
        chosen_parser = st.selectbox(
            "Parser",
            parsers,
            key="rv_parser",
            index=parsers.index(stored.parser) if stored.parser in parsers else 0,
        )
        st.caption(
            f"Current run {stored.run_id}: {stored.grounder} + {stored.parser}, "
            f"{stored.created_at:%Y-%m-%d %H:%M} UTC."
        )
        if st.button("Re-audit", key="rv_reaudit"):
            with st.status(f"Re-auditing with {chosen_grounder} + {chosen_parser}…", expanded=True) as status:
                try:
                    status.write(f"Loading the {chosen_grounder} grounder…")
                    grounder = ui.load_grounder(chosen_grounder)
                    status.write(f"Loading the {chosen_parser} parser…")
                    parser = ui.load_parser(chosen_parser)
                    status.write("Grounding, parsing and comparing…")
                    services.audit_and_save(store, case_id, grounder, parser)
                except HANDLED as error:
                    status.update(label="Re-audit failed", state="error")
                    ui.show_error(error)
                else:
                    status.update(label="Re-audit saved", state="complete")
                    st.session_state[session.NOTICE] = "Re-audit saved."
                    st.rerun()
