"""Per-session state (``workstation.session``), on plain dicts: the reviewer's name, the URL,
the focused flag and teaching submissions."""

from __future__ import annotations

import pytest

from workstation import session


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  Ana   Lima ", "Ana Lima"), ("", ""), (None, ""), ("x" * 100, "x" * 64)],
    ids=["spaces", "empty", "none", "too-long"],
)
def test_reviewer_names_are_cleaned(raw: object, expected: str) -> None:
    assert session.clean_reviewer(raw) == expected


def test_the_url_seeds_a_fresh_session_but_never_overrides_it() -> None:
    state: dict[str, object] = {}
    session.init_from_url(state, {"reviewer": " ana ", "case": "case-ptx"})
    session.init_from_url(state, {"reviewer": "bo", "case": "case-eff"})

    assert (session.reviewer(state), state[session.CASE]) == ("ana", "case-ptx")


def test_focus_starts_at_the_first_undecided_flag_and_resets_on_another_case() -> None:
    state: dict[str, object] = {}
    session.open_case(state, "case-ptx")

    assert session.focus(state, [True, False, False]) == 1
    state[session.FOCUS] = 2
    assert session.focus(state, [True, True]) == 1  # kept within the case's flags
    session.open_case(state, "case-eff")
    assert session.focus(state, [False]) == 0


def test_teaching_offers_the_case_open_in_review_even_past_the_list() -> None:
    assert session.teaching_choices(["a", "b"], {session.CASE: "z"}) == ["z", "a", "b"]
    assert session.teaching_choices(["a", "b"], {session.CASE: "b"}) == ["a", "b"]
    assert session.teaching_choices(["a"], {}) == ["a"]
