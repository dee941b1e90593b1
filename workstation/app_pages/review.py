"""Review: the image with the auditor's boxes, the draft as the parser read it, and each flag
as a card to accept or dismiss."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from data.records import MAX_NOTE_CHARS, REASON_CODE_NAMES, REASON_CODES, DraftKind
from data.store import Store
from workstation import access, generated, overlay, review_actions, services, session, ui
from workstation.review_view import FlagCard, Layers, ReviewContext, choice_index, decision_text, flag_heading
from workstation.text import md

SHORTCUTS = {
    "j": "next case",
    "k": "previous case",
    "a": "accept the focused flag",
    "d": "dismiss the focused flag",
}


def case_to_open(store: Store) -> str:
    """The session's case (the worklist's first on a fresh session); an empty worklist ends the page."""
    case_id = st.session_state.get(session.CASE) or services.first_case(store)
    if case_id is None:
        st.title("Review")
        st.info("The worklist is empty. Seed a demo worklist with `cxr-audit demo` or import cases.")
        st.stop()
    session.open_case(st.session_state, case_id)
    st.query_params[session.PARAM_CASE] = case_id
    return case_id


def header(context: ReviewContext) -> None:
    """The case id with Previous (k) and Next (j), what the case is, and a phantom's notice."""
    case_id = context.case.case_id
    head = st.columns([6, 1, 1])
    head[0].title(md(case_id))
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
    st.caption(md(context.title))
    if context.case.is_phantom:
        st.info(
            "**Synthetic phantom**: a drawn model of a chest radiograph, not a patient image.",
            icon=":material/science:",
        )


def authorship(store: Store, context: ReviewContext, kind: DraftKind | None, author: str | None) -> None:
    """Who wrote the draft, when a report generator did; report generations that failed here."""
    for notice in generated.authorship_notices(store, context.audit, kind, author):
        st.info(notice, icon=":material/smart_toy:")
    for line in generated.failed_generations(store, context.case.case_id):
        st.text(line)


def audit_banners(context: ReviewContext) -> None:
    """The disclaimer, and what kind of audit this is when it is not a full one."""
    if context.audited_now:
        audit = context.audit
        st.toast(f"First audit of {md(audit.case_id)} saved ({md(audit.grounder)} + {md(audit.parser)}).")
    ui.disclaimer_banner()
    for banner in context.summary.banners:
        getattr(st, banner.level)(md(banner.text))


def layer_toggles() -> Layers:
    columns = st.columns(3)
    return Layers(
        model=columns[0].toggle("Model boxes", value=True, key="rv_layer_model"),
        reference=columns[1].toggle("Reference boxes", value=False, key="rv_layer_reference"),
        reviewer=columns[2].toggle("Reviewer boxes", value=True, key="rv_layer_reviewer"),
    )


def zoom_and_contrast() -> overlay.View:
    return overlay.View(
        zoom=st.slider("Zoom", 1.0, 4.0, 1.0, 0.25, key="rv_zoom"),
        centre_x=st.slider("Pan left–right", 0.0, 1.0, 0.5, 0.05, key="rv_cx"),
        centre_y=st.slider("Pan up–down", 0.0, 1.0, 0.5, 0.05, key="rv_cy"),
        window_centre=st.slider("Level (brightness)", 0, 255, 128, 1, key="rv_level"),
        window_width=st.slider("Window (contrast range)", 16, 512, 256, 8, key="rv_window"),
    )


def image_with_boxes(pixels: np.ndarray, boxes: tuple[overlay.OverlayBox, ...], view: overlay.View) -> None:
    st.image(ui.overlay_jpeg(pixels, boxes, view), caption="Image with the auditor's boxes", width="stretch")
    st.caption(
        ":red-badge[URGENT] :orange-badge[MISSING] :violet-badge[LATERALITY] boxes; label colour: "
        "a finding without a flag; dashed cyan: reference; lime: reviewer boxes. "
        "UNSUPPORTED flags have no box."
    )


def missed_finding_canvas(
    context: ReviewContext,
    pixels: np.ndarray,
    boxes: tuple[overlay.OverlayBox, ...],
    view: overlay.View,
    reviewer: str | None,
) -> None:
    """The image as a canvas to drag a rectangle on, with the box's label, a note and Save."""
    from streamlit_drawable_canvas import st_canvas

    case_id = context.case.case_id
    background = overlay.canvas_background(pixels, boxes, view)
    st.caption("Drag a rectangle over the finding the audit missed, pick its label, then save.")
    result = st_canvas(
        drawing_mode="rect",
        stroke_color=overlay.REVIEWER_COLOUR,
        fill_color=overlay.CANVAS_FILL,
        stroke_width=3,
        background_image=background,
        width=background.width,
        height=background.height,
        key=session.canvas_key(st.session_state, case_id),
    )
    new_boxes = overlay.boxes_from_drawing(result.json_data, background.size)
    columns = st.columns([2, 3, 2])
    columns[0].selectbox("Label", FINDING_LABELS, key="rv_draw_label", format_func=DISPLAY_NAMES.__getitem__)
    columns[1].text_input("Note (optional)", key="rv_draw_note", max_chars=MAX_NOTE_CHARS)
    columns[2].button(
        "Save missed finding",
        key="rv_draw_save",
        type="primary",
        disabled=not new_boxes or reviewer is None,
        on_click=review_actions.save_drawn,
        args=(case_id, new_boxes[-1] if new_boxes else None, context.audit.run_id),
        width="stretch",
    )
    st.caption(
        f"{len(new_boxes)} box(es) drawn; the last one is saved." if new_boxes else "No box drawn yet."
    )


def image_panel(context: ReviewContext, reviewer: str | None) -> None:
    """The image with its box layers, zoom and contrast, or the canvas to add a missed finding."""
    layers = layer_toggles()
    tools = st.columns([3, 2], vertical_alignment="center")
    with tools[0].expander("Zoom and contrast", expanded=False):
        view = zoom_and_contrast()
    drawing = tools[1].toggle("Add missed finding", value=False, key="rv_draw")
    case = context.case
    pixels = ui.case_pixels(case.image_path, case.width, case.height)
    boxes = context.boxes(layers)
    if drawing:
        missed_finding_canvas(context, pixels, boxes, view, reviewer)
    else:
        image_with_boxes(pixels, boxes, view)
    if context.drawn_caption:
        st.caption(md(context.drawn_caption))


def flag_card(card: FlagCard, cards: Sequence[FlagCard], is_focused: bool, reviewer: str | None) -> None:
    """One flag: its type and label, reason, phrase and box, the decisions on it, and Accept/Dismiss."""
    with st.container(border=True, key=f"flag_card_{card.flag_id}"):
        title = st.columns([5, 2])
        focus_badge = "  :blue-badge[:material/keyboard: focused]" if is_focused else ""
        title[0].markdown(flag_heading(card.type, card.label) + focus_badge)
        if not is_focused:
            title[1].button(
                "Focus",
                key=f"focus_{card.flag_id}",
                on_click=review_actions.set_focus,
                args=(card.position,),
                width="stretch",
            )
        st.markdown(md(card.reason))
        st.caption(f"Phrase: “{md(card.phrase)}”" if card.phrase else "Phrase: none (the draft is silent)")
        st.caption(card.box_text)
        if card.mine is not None:
            icon = ":material/check_circle:" if card.mine.decision == "accept" else ":material/cancel:"
            st.markdown(f"{icon} **{md(decision_text(card.mine))}**")
        for other in card.others:
            st.caption(md(decision_text(other)))
        if card.hidden_others:
            st.caption(f"Blinded reading: {card.hidden_others} other decision(s) hidden until you decide.")
        inputs = st.columns(2)
        inputs[0].selectbox(
            "Reason (optional)",
            [None, *REASON_CODES],
            key=review_actions.reason_key(card.flag_id),
            format_func=lambda code: "—" if code is None else REASON_CODE_NAMES[code],
        )
        inputs[1].text_input(
            "Note (optional)", key=review_actions.note_key(card.flag_id), max_chars=MAX_NOTE_CHARS
        )
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


def flag_panel(context: ReviewContext, reviewer: str | None) -> None:
    """Every flag as a card (the focused one takes the a/d keys), and the keyboard shortcuts."""
    cards = context.cards
    st.subheader(f"Flags ({len(cards)})")
    if reviewer is None:
        ui.require_reviewer("accept or dismiss flags")
    if not cards:
        st.success("No flags: the draft agrees with the image findings.")
        if reviewer is not None:
            st.button(
                "Mark case reviewed",
                key="rv_mark_reviewed",
                on_click=review_actions.mark_reviewed,
                args=(context.case.case_id, reviewer),
            )
    focused = session.focus(st.session_state, context.decided)
    for card in cards:
        flag_card(card, cards, card.position == focused, reviewer)
    st.caption("Keys: " + " · ".join(f"**{key}** {what}" for key, what in SHORTCUTS.items()))


def draft_panel(context: ReviewContext) -> None:
    """The draft with each parsed phrase highlighted, the parser's table, and the audit's notes."""
    st.subheader("Draft")
    if context.draft is not None:
        st.markdown(context.draft.html, unsafe_allow_html=True)
        st.markdown(context.draft.legend, unsafe_allow_html=True)
        if context.draft.rows:
            st.dataframe(context.draft.rows, key="rv_reading", hide_index=True, width="stretch")
        else:
            st.caption("The parser found no label in this draft.")
    for note in context.summary.notes:
        st.caption(f":material/info: {md(note)}")


def reaudit_panel(context: ReviewContext) -> None:
    audit = context.audit
    grounder = st.selectbox(
        "Grounder",
        context.grounders,
        key="rv_grounder",
        index=choice_index(context.grounders, audit.grounder),
    )
    parser = st.selectbox(
        "Parser", context.parsers, key="rv_parser", index=choice_index(context.parsers, audit.parser)
    )
    st.caption(md(context.run_caption))
    if st.button("Re-audit", key="rv_reaudit"):
        review_actions.reaudit(context.case.case_id, grounder, parser)


def details(context: ReviewContext) -> None:
    """The grounder's findings as a table, and a re-audit with other backends."""
    columns = st.columns(2)
    with columns[0], st.expander(f"Image findings ({md(context.audit.grounder)})", expanded=False):
        st.dataframe(context.findings, key="rv_findings", hide_index=True, width="stretch")
    with columns[1], st.expander("Re-audit with another backend", expanded=False):
        reaudit_panel(context)


ui.notice()
viewer = ui.guard("review")
review_actions.show_callback_error()
store = ui.store()
reviewer = viewer.name

with ui.errors_shown():
    case_id = case_to_open(store)
    with st.spinner("Opening the case (a case never audited is audited now with the CPU defaults)…"):
        draft_kind, draft_author = generated.session_filter(st.session_state)
        context = services.review_context(
            store,
            case_id,
            reviewer,
            backends=ui.backends(),
            blinded=access.blinded(store, viewer),
            draft_kind=draft_kind,
            draft_author=draft_author,
        )
    header(context)
    authorship(store, context, draft_kind, draft_author)
    audit_banners(context)
    left, right = st.columns([3, 2], gap="large")
    with left:
        image_panel(context, reviewer)
    with right:
        flag_panel(context, reviewer)
    draft_panel(context)
    details(context)
