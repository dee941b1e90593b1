"""The Review page under AppTest: decisions are stored and shown, the focus and the case move
as a reviewer works, and the audit's mode is visible."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data.store import Store
from data.worklist import case_status, neighbour_case
from tests.workstation.conftest import add_unchecked_draft, no_exceptions, shown


def _flag_ids(at: AppTest) -> list[int]:
    return [
        int(button.key.removeprefix("accept_")) for button in at.button if button.key.startswith("accept_")
    ]


def _markdown(at: AppTest) -> list[str]:
    return [shown(item.value) for item in [*at.markdown, *at.caption]]


def test_opening_a_case_audits_it_once_with_the_cpu_defaults(
    app: Callable[..., AppTest], app_db: Store
) -> None:
    at = app("review", case="case-ptx")
    at.run()

    no_exceptions(at)
    assert app_db.audits.run_ids("case-ptx") == [app_db.audits.latest("case-ptx").run_id]  # type: ignore[union-attr]
    stored = app_db.audits.latest("case-ptx")
    assert stored is not None
    assert (stored.grounder, stored.parser) == ("reference", "rules")
    assert [flag.type for flag in stored.report.flags] == ["URGENT", "MISSING"]


def test_accepting_a_flag_stores_it_and_shows_it_after_a_rerun(
    app: Callable[..., AppTest], app_db: Store
) -> None:
    at = app("review", case="case-ptx")
    first, _ = _flag_ids(at)

    at.button(key=f"accept_{first}").click().run()
    at.run()

    no_exceptions(at)
    stored = app_db.decisions.current_for(first, "ana")
    assert stored is not None and stored.decision == "accept"
    assert any("Accepted by ana" in text for text in _markdown(at))


def test_a_decision_survives_a_new_session(app: Callable[..., AppTest], app_db: Store) -> None:
    at = app("review", case="case-ptx")
    first, _ = _flag_ids(at)
    at.button(key=f"accept_{first}").click().run()

    reloaded = app("review", case="case-ptx")

    assert any("Accepted by ana" in text for text in _markdown(reloaded))


def test_dismissing_keeps_the_reason_code_and_the_note(app: Callable[..., AppTest], app_db: Store) -> None:
    at = app("review", case="case-ptx")
    _, second = _flag_ids(at)

    at.selectbox(key=f"reason_{second}").select("draft_read_wrong")
    at.text_input(key=f"note_{second}").input("the draft says 'no pneumothorax' about the left side")
    at.button(key=f"dismiss_{second}").click().run()

    stored = app_db.decisions.current_for(second, "ana")
    assert stored is not None
    assert (stored.decision, stored.reason_code, stored.note) == (
        "dismiss",
        "draft_read_wrong",
        "the draft says 'no pneumothorax' about the left side",
    )
    assert any("reason: draft read wrong" in text for text in _markdown(at))


def test_the_focus_moves_to_the_next_undecided_flag(app: Callable[..., AppTest]) -> None:
    at = app("review", case="case-ptx")
    first, second = _flag_ids(at)
    assert at.button(key=f"accept_{first}").proto.shortcut  # the a/d keys act on the focused flag

    at.button(key=f"accept_{first}").click().run()

    assert not at.button(key=f"accept_{first}").proto.shortcut
    assert at.button(key=f"accept_{second}").proto.shortcut


def test_a_new_session_focuses_the_first_flag_the_reviewer_has_not_decided(
    app: Callable[..., AppTest],
) -> None:
    at = app("review", case="case-ptx")
    first, second = _flag_ids(at)
    at.button(key=f"accept_{first}").click().run()

    reloaded = app("review", case="case-ptx")

    assert reloaded.button(key=f"accept_{second}").proto.shortcut


def test_decisions_need_a_reviewer_name(app: Callable[..., AppTest]) -> None:
    at = app("review", reviewer=None, case="case-ptx")

    assert all(at.button(key=f"accept_{flag_id}").disabled for flag_id in _flag_ids(at))
    assert any("Enter your name in the sidebar" in info.value for info in at.info)


@pytest.mark.parametrize(("button", "step"), [("rv_next", 1), ("rv_prev", -1)], ids=["next", "previous"])
def test_previous_and_next_walk_the_worklist_order(
    app: Callable[..., AppTest], app_db: Store, button: str, step: int
) -> None:
    at = app("review", case="case-normal")
    assert at.button(key="rv_next").proto.shortcut and at.button(key="rv_prev").proto.shortcut  # j / k
    expected = neighbour_case(app_db, "case-normal", None, step)
    assert expected is not None

    at.button(key=button).click().run()

    assert [shown(title.value) for title in at.title] == [expected]
    assert at.query_params["case"] == expected


def test_a_case_without_flags_can_be_marked_reviewed(app: Callable[..., AppTest], app_db: Store) -> None:
    at = app("review", case="case-normal")
    assert not _flag_ids(at)

    at.button(key="rv_mark_reviewed").click().run()

    no_exceptions(at)
    assert case_status(app_db, "case-normal") == "reviewed"
    assert [toast.value for toast in at.toast] == ["Case marked reviewed."]


def test_a_phantom_is_marked_synthetic(app: Callable[..., AppTest]) -> None:
    at = app("review", case="case-phantom")

    assert any("Synthetic phantom" in info.value for info in at.info)
    assert "synthetic phantom" in at.caption[0].value


@pytest.mark.parametrize("text", [" ", "No pneumothorax. " * 6_000], ids=["empty", "over-the-limit"])
def test_an_unreadable_stored_draft_gives_a_visible_image_only_audit(
    app: Callable[..., AppTest], app_db: Store, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # the latest human draft is audited
    add_unchecked_draft(app_db, monkeypatch, "case-ptx", text, kind="human", author="resident")

    at = app("review", case="case-ptx")

    no_exceptions(at)
    assert any("Image-only audit" in shown(warning.value) for warning in at.warning)
    assert [card for card in _flag_ids(at)]  # URGENT is still raised


def test_reaudit_saves_a_new_run(app: Callable[..., AppTest], app_db: Store) -> None:
    at = app("review", case="case-eff")
    before = app_db.audits.run_ids("case-eff")

    at.button(key="rv_reaudit").click().run()

    no_exceptions(at)
    assert len(app_db.audits.run_ids("case-eff")) == len(before) + 1


def test_reaudit_with_a_backend_that_cannot_run_says_why(
    app: Callable[..., AppTest], app_db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app("review", case="case-eff")
    before = app_db.audits.run_ids("case-eff")

    at.selectbox(key="rv_grounder").select("findings-file").run()
    at.button(key="rv_reaudit").click().run()

    no_exceptions(at)
    assert at.error, "a backend that cannot be built must show an error"
    assert app_db.audits.run_ids("case-eff") == before


def test_an_unreadable_image_is_reported_and_the_flags_still_show(
    app: Callable[..., AppTest], app_db: Store
) -> None:
    image_path = app_db.cases.get("case-ptx").image_path
    assert image_path is not None
    Path(image_path).write_bytes(b"not a png")

    at = app("review", case="case-ptx")

    no_exceptions(at)
    assert any("The image could not be read" in error.value for error in at.error)
    assert len(_flag_ids(at)) == 2


def test_the_keyboard_shortcuts_are_listed_on_the_page(app: Callable[..., AppTest]) -> None:
    at = app("review", case="case-ptx")

    (keys,) = [caption.value for caption in at.caption if caption.value.startswith("Keys:")]
    for key, what in (("j", "next case"), ("k", "previous case"), ("a", "accept"), ("d", "dismiss")):
        assert f"**{key}** {what}" in keys
