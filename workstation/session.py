"""Per-session state the pages share, kept in ``st.session_state`` under these keys.

Functions take the state mapping (and the URL's query parameters) so they are tested with
plain dicts. The reviewer, the open case and the worklist's filters are mirrored into the
URL, so a reload (or a link sent to a colleague) keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import replace
from typing import Any

from workstation.overlay import View
from workstation.worklist_filters import WorklistFilters

REVIEWER = "reviewer"  # the session's reviewer (kept here: widget state is dropped on a page switch)
REVIEWER_INPUT = "reviewer_input"  # the sidebar's text input, refilled from REVIEWER on every run
CASE = "case_id"  # the case open on the Review page
FOCUS = "focused_flag"  # index of the flag the a/d shortcuts act on
CANVAS_ROUND = "canvas_round"  # bumped after saving or discarding so the canvas reloads the saved boxes
VIEW = "image_view"  # zoom, pan and window of the Review image (the window stays from case to case)
AUTO_ADVANCE = "auto_advance"  # open the next case as soon as every flag of this one is decided
SCROLL_TO = "scroll_to_card"  # the flag card to bring into view after a decision
TEACHING_CASE = "teaching_case"
NOTICE = "notice"  # a one-off message shown after the rerun a button caused
SHARED = "shared_mode"  # True in shared mode: names never travel in the URL

PARAM_REVIEWER = "reviewer"
PARAM_CASE = "case"

MAX_REVIEWER_CHARS = 64
TEACHING_LISTED = 500  # cases Teaching lists by id; its search box reaches the rest


def clean_reviewer(name: object) -> str:
    """A reviewer name as stored: stripped, inner whitespace collapsed, at most 64 characters."""
    if not isinstance(name, str):
        return ""
    return " ".join(name.split())[:MAX_REVIEWER_CHARS]


def reviewer(state: Mapping[str, Any]) -> str | None:
    """The session's reviewer, or None until one is entered."""
    return clean_reviewer(state.get(REVIEWER)) or None


def take_reviewer_input(state: MutableMapping[str, Any]) -> None:
    """The sidebar input's callback: its value becomes the session's reviewer."""
    state[REVIEWER] = clean_reviewer(state.get(REVIEWER_INPUT))


def init_from_url(
    state: MutableMapping[str, Any], params: Mapping[str, Any], *, shared: bool = False
) -> None:
    """On a fresh session, take the open case (and, in local mode, the reviewer) from the URL.

    In shared mode the name is the signed-in account's: a ``reviewer`` in the URL is ignored.
    """
    if not shared and REVIEWER not in state and params.get(PARAM_REVIEWER):
        state[REVIEWER] = clean_reviewer(params[PARAM_REVIEWER])
    if CASE not in state and params.get(PARAM_CASE):
        state[CASE] = str(params[PARAM_CASE])


def worklist_filters(state: Mapping[str, Any]) -> WorklistFilters:
    """The Worklist's current filters (they stay in session state while Review is open)."""
    return WorklistFilters.from_state(state)


def url_params(state: Mapping[str, Any], case_id: str) -> dict[str, str]:
    """The query parameters of the Review page for ``case_id`` (and, in local mode, the reviewer)."""
    params = {PARAM_CASE: case_id}
    name = reviewer(state) if not state.get(SHARED) else None
    if name:
        params[PARAM_REVIEWER] = name
    return params


def open_case(state: MutableMapping[str, Any], case_id: str) -> None:
    """Make ``case_id`` the open case; focus returns to its first open flag, the zoom to the whole
    image (the window stays: a reviewer reading in the lung window keeps it)."""
    if state.get(CASE) != case_id:
        state[CASE] = case_id
        state[FOCUS] = None
        state.pop(SCROLL_TO, None)
        state[VIEW] = replace(view(state), zoom=1.0, centre_x=0.5, centre_y=0.5)


def view(state: Mapping[str, Any]) -> View:
    found = state.get(VIEW)
    return found if isinstance(found, View) else View()


def set_view(state: MutableMapping[str, Any], new: View) -> None:
    state[VIEW] = new.clamped()


def focus(state: MutableMapping[str, Any], decided: Sequence[bool]) -> int:
    """The focused flag's index; on a newly opened case, the first flag this reviewer has not decided."""
    index = state.get(FOCUS)
    if index is None:
        index = next((i for i, done in enumerate(decided) if not done), 0)
        state[FOCUS] = index
    return min(max(0, int(index)), max(0, len(decided) - 1))


def canvas_key(state: Mapping[str, Any], case_id: str) -> str:
    return f"canvas_{case_id}_{int(state.get(CANVAS_ROUND, 0))}"


def teaching_choices(listed: list[str], state: Mapping[str, Any]) -> list[str]:
    """The cases offered in Teaching: those listed, with the case open in Review first when it is not."""
    current = state.get(CASE)
    if current and current not in listed:
        return [str(current), *listed]
    return listed
