"""What a click or a key on the Review page does: read the widgets' state, call a service, leave
a notice for the rerun. Errors become messages through ``ui`` (never a traceback).

Callbacks of widgets inside a fragment (the flag cards, the image toolbar) rerun only that
fragment; the few that open another case ask for a full rerun with ``st.rerun()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from data.records import DecisionKind
from workstation import services, session, ui
from workstation.canvas import BoxEdits
from workstation.messages import HANDLED
from workstation.overlay import PRESETS_BY_KEY, View
from workstation.review_view import FlagCard, next_focus

ERROR = "action_error"  # a handled error raised inside a callback, shown by the page
PRESET_KEY = "rv_preset"
LEVEL_KEY = "rv_level"
WIDTH_KEY = "rv_width"
INVERT_KEY = "rv_invert"
DRAW_LABEL_KEY = "rv_draw_label"
DRAW_NOTE_KEY = "rv_draw_note"


def _fail(error: BaseException) -> None:
    st.session_state[ERROR] = error


def show_callback_error() -> None:
    error = st.session_state.pop(ERROR, None)
    if error is not None:
        ui.show_error(error)


def reason_key(flag_id: int) -> str:
    return f"reason_{flag_id}"


def note_key(flag_id: int) -> str:
    return f"note_{flag_id}"


def card_key(flag_id: int) -> str:
    return f"flag_card_{flag_id}"


def decide(flag_id: int, decision: DecisionKind, cards: Sequence[FlagCard], case_id: str) -> None:
    reviewer = ui.reviewer()
    if reviewer is None:
        st.session_state[session.NOTICE] = "Enter your name in the sidebar first."
        return
    reason = st.session_state.get(reason_key(flag_id)) or None
    note = st.session_state.get(note_key(flag_id)) or None
    try:
        services.decide(ui.store(), flag_id, reviewer, decision, reason_code=reason, note=note)
    except HANDLED as error:
        _fail(error)
        return
    position = next((card.position for card in cards if card.flag_id == flag_id), 0)
    decided = [card.decided or card.flag_id == flag_id for card in cards]
    focus = next_focus(decided, position)
    st.session_state[session.FOCUS] = focus
    st.session_state[session.SCROLL_TO] = card_key(cards[focus].flag_id)
    verb = "Accepted" if decision == "accept" else "Dismissed"
    st.session_state[session.NOTICE] = f"{verb}: flag {position + 1} saved."
    if all(decided) and st.session_state.get(session.AUTO_ADVANCE):
        step(case_id, 1, done=True)


def set_focus(index: int, flag_id: int) -> None:
    st.session_state[session.FOCUS] = index
    st.session_state[session.SCROLL_TO] = card_key(flag_id)


def _open(target: str) -> None:
    session.open_case(st.session_state, target)
    st.query_params.from_dict(session.url_params(st.session_state, target))
    st.rerun()  # from a callback inside a fragment, this asks for the whole page with the new case


def step(case_id: str, offset: int, *, done: bool = False) -> None:
    """Open the case ``offset`` places away in the worklist's filtered order (j / k)."""
    try:
        query = session.worklist_filters(st.session_state).query(paged=False)
        target = services.neighbour(ui.store(), case_id, offset, query)
    except HANDLED as error:
        _fail(error)
        return
    if target is None:
        st.session_state[session.NOTICE] = (
            "That was the last case of the worklist."
            if offset > 0
            else "This is the first case of the worklist."
        )
        return
    if done:
        st.session_state[session.NOTICE] = f"Case {case_id} complete; opened {target}."
    _open(target)


def next_with_work(case_id: str) -> None:
    """Open the next case in the worklist's order with flags this reviewer has not decided (n)."""
    reviewer = ui.reviewer()
    if reviewer is None:
        st.session_state[session.NOTICE] = "Enter your name in the sidebar first."
        return
    try:
        query = session.worklist_filters(st.session_state).query(paged=False)
        target, wrapped = services.next_with_work(ui.store(), case_id, reviewer, query)
    except HANDLED as error:
        _fail(error)
        return
    if target is None:
        st.session_state[session.NOTICE] = "Every case of the worklist is decided: nothing left to do."
        return
    if wrapped:
        st.session_state[session.NOTICE] = f"Past the end of the worklist: back to the top, {target}."
    _open(target)


def choose_preset() -> None:
    """A window preset sets the level, width and inversion it names."""
    preset = PRESETS_BY_KEY.get(st.session_state.get(PRESET_KEY) or "")
    if preset is not None:
        st.session_state[LEVEL_KEY] = preset.centre
        st.session_state[WIDTH_KEY] = preset.width
        st.session_state[INVERT_KEY] = preset.invert


def adjust_window() -> None:
    """A window set by hand shows which preset it is, if any."""
    st.session_state[PRESET_KEY] = current_view().preset_key


def current_view() -> View:
    """The Review image's view: zoom and pan from the session, window from the toolbar."""
    zoomed = session.view(st.session_state)
    return View(
        zoom=zoomed.zoom,
        centre_x=zoomed.centre_x,
        centre_y=zoomed.centre_y,
        window_centre=int(st.session_state.get(LEVEL_KEY, zoomed.window_centre)),
        window_width=int(st.session_state.get(WIDTH_KEY, zoomed.window_width)),
        invert=bool(st.session_state.get(INVERT_KEY, zoomed.invert)),
    )


def zoom(factor: float, at_x: float = 0.5, at_y: float = 0.5) -> None:
    session.set_view(st.session_state, current_view().zoomed(factor, at_x, at_y))


def pan(dx: float, dy: float) -> None:
    session.set_view(st.session_state, current_view().panned(dx, dy))


def fit() -> None:
    session.set_view(st.session_state, View())


def save_boxes(case_id: str, edits: BoxEdits, run_id: int | None) -> None:
    """Save the canvas: new boxes, moved or resized ones, and deletions (each recorded, never silent)."""
    reviewer = ui.reviewer()
    if reviewer is None:
        st.session_state[session.NOTICE] = "Enter your name in the sidebar first."
        return
    note = st.session_state.get(DRAW_NOTE_KEY)
    try:
        services.save_box_edits(ui.store(), case_id, reviewer, edits, note=note, run_id=run_id)
    except HANDLED as error:
        _fail(error)
        return
    reload_canvas()
    st.session_state[DRAW_NOTE_KEY] = ""
    st.session_state[session.NOTICE] = f"Saved: {edits.summary()}."
    st.rerun()  # the image, the captions and the deleted-box record all change


def reload_canvas() -> None:
    """Start the canvas again from the saved boxes (after saving, or to discard unsaved changes)."""
    st.session_state[session.CANVAS_ROUND] = int(st.session_state.get(session.CANVAS_ROUND, 0)) + 1


def mark_reviewed(case_id: str, reviewer: str) -> None:
    """A case without flags: the reviewer has looked and marks it reviewed."""
    try:
        ui.store().decisions.mark_case_reviewed(case_id, reviewer)
    except HANDLED as error:
        _fail(error)
        return
    st.session_state[session.NOTICE] = "Case marked reviewed."


def reaudit(case_id: str, grounder_name: str, parser_name: str) -> None:
    """Audit the case again with the chosen backends, each step shown in a status box; saved as a new run."""
    with st.status(f"Re-auditing with {grounder_name} + {parser_name}…", expanded=True) as status:
        try:
            status.write(f"Loading the {grounder_name} grounder…")
            grounder = ui.load_grounder(grounder_name)
            status.write(f"Loading the {parser_name} parser…")
            parser = ui.load_parser(parser_name)
            status.write("Grounding, parsing and comparing…")
            services.audit_and_save(ui.store(), case_id, grounder, parser)
        except HANDLED as error:
            status.update(label="Re-audit failed", state="error")
            ui.show_error(error)
        else:
            status.update(label="Re-audit saved", state="complete")
            st.session_state[session.NOTICE] = "Re-audit saved."
            st.rerun()
