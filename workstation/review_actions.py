"""What a click on the Review page does: read the widgets' state, call a service, leave a
notice for the rerun. Errors become messages through ``ui`` (never a traceback).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from audit.schema import Box
from data.records import DecisionKind
from workstation import services, session, ui
from workstation.messages import HANDLED
from workstation.review_view import FlagCard, next_focus

ERROR = "action_error"  # a handled error raised inside a callback, shown by the page


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


def decide(flag_id: int, decision: DecisionKind, cards: Sequence[FlagCard]) -> None:
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
    st.session_state[session.FOCUS] = next_focus(decided, position)
    verb = "Accepted" if decision == "accept" else "Dismissed"
    st.session_state[session.NOTICE] = f"{verb}: flag {position + 1} saved."


def set_focus(index: int) -> None:
    st.session_state[session.FOCUS] = index


def step(case_id: str, offset: int) -> None:
    try:
        target = services.neighbour(ui.store(), case_id, offset)
    except HANDLED as error:
        _fail(error)
        return
    if target is None:
        st.session_state[session.NOTICE] = (
            "That was the last case." if offset > 0 else "This is the first case."
        )
        return
    session.open_case(st.session_state, target)
    st.query_params[session.PARAM_CASE] = target


def save_drawn(case_id: str, box: Box, run_id: int | None) -> None:
    reviewer = ui.reviewer()
    if reviewer is None:
        st.session_state[session.NOTICE] = "Enter your name in the sidebar first."
        return
    label = st.session_state.get("rv_draw_label")
    note = st.session_state.get("rv_draw_note")
    try:
        services.add_missed_finding(ui.store(), case_id, reviewer, label, box, note=note, run_id=run_id)
    except HANDLED as error:
        _fail(error)
        return
    st.session_state[session.CANVAS_ROUND] = int(st.session_state.get(session.CANVAS_ROUND, 0)) + 1
    st.session_state["rv_draw_note"] = ""
    st.session_state[session.NOTICE] = "Missed finding saved."


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
