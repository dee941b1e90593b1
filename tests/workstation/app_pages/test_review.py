"""The Review page under AppTest: decisions are stored and shown (as text), the focus and the
case move as a reviewer works and follow the worklist's filter, a finished case says so or
moves on by itself, the window presets change the view, and the audit's mode is visible."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from audit import DISCLAIMER
from data.store import Store
from data.worklist import case_status, neighbour_case, worklist_page
from tests.workstation.conftest import add_unchecked_draft, no_exceptions, shown
from workstation import services, ui


def _flag_ids(at: AppTest) -> list[int]:
    return [
        int(button.key.removeprefix("accept_")) for button in at.button if button.key.startswith("accept_")
    ]


def _markdown(at: AppTest) -> list[str]:
    return [shown(item.value) for item in [*at.markdown, *at.caption]]


def _texts(at: AppTest) -> list[str]:
    return [item.value for item in at.text]


def _expanders(at: AppTest) -> list[str]:
    return [item.label for item in at.expander]


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
    assert any("Accepted by ana" in text for text in _texts(at))


def test_a_decision_survives_a_new_session(app: Callable[..., AppTest], app_db: Store) -> None:
    at = app("review", case="case-ptx")
    first, _ = _flag_ids(at)
    at.button(key=f"accept_{first}").click().run()

    reloaded = app("review", case="case-ptx")

    assert any("Accepted by ana" in text for text in _texts(reloaded))


def test_dismissing_keeps_the_reason_code_and_the_note(app: Callable[..., AppTest], app_db: Store) -> None:
    at = app("review", case="case-ptx")
    _, second = _flag_ids(at)
    assert not [g for g in at.button_group if g.key == f"reason_{second}"]  # only the focused card asks
    at.button(key=f"focus_{second}").click().run()

    at.button_group(key=f"reason_{second}").set_value("draft_read_wrong")
    at.text_input(key=f"note_{second}").input("the draft says 'no pneumothorax' about the left side")
    at.button(key=f"dismiss_{second}").click().run()

    stored = app_db.decisions.current_for(second, "ana")
    assert stored is not None
    assert (stored.decision, stored.reason_code, stored.note) == (
        "dismiss",
        "draft_read_wrong",
        "the draft says 'no pneumothorax' about the left side",
    )
    assert any("reason: draft read wrong" in text for text in _texts(at))


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
    # The page reads the next case ahead; auditing it can move it in the urgent-first order.
    ui.auditor().drain()
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


def test_a_phantom_is_marked_synthetic_in_one_line(app: Callable[..., AppTest]) -> None:
    at = app("review", case="case-phantom")

    assert any(label.startswith("Synthetic phantom") for label in _expanders(at))
    assert any(caption.value.endswith("synthetic phantom") for caption in at.caption)


def test_the_disclaimer_is_one_line_that_opens_to_the_whole_text(app: Callable[..., AppTest]) -> None:
    at = app("review", case="case-ptx")

    (disclaimer,) = [e for e in at.expander if e.label.startswith("Research and education only")]
    assert DISCLAIMER in [item.value for item in disclaimer.text]


@pytest.mark.parametrize("text", [" ", "No pneumothorax. " * 6_000], ids=["empty", "over-the-limit"])
def test_an_unreadable_stored_draft_gives_a_visible_image_only_audit(
    app: Callable[..., AppTest], app_db: Store, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # the latest human draft is audited
    add_unchecked_draft(app_db, monkeypatch, "case-ptx", text, kind="human", author="resident")

    at = app("review", case="case-ptx")

    no_exceptions(at)
    assert any(label.startswith("Image-only audit") for label in _expanders(at))
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

    listed = " ".join(item.value for item in at.markdown)
    for key, what in (
        ("j", "next case"),
        ("k", "previous case"),
        ("n", "next case with flags"),
        ("a", "accept"),
        ("d", "dismiss"),
        ("?", "this list"),
    ):
        assert f"**{key}** · {what}" in listed
    assert at.button(key="rv_next_todo").proto.shortcut  # n


def _audit_all(app_db: Store) -> list[str]:
    for case_id in ("case-ptx", "case-eff", "case-normal", "case-phantom"):
        services.ensure_audited(app_db, case_id)
    return [row.case_id for row in worklist_page(app_db).rows]


def test_next_follows_the_worklist_filter(app: Callable[..., AppTest], app_db: Store) -> None:
    order = _audit_all(app_db)
    at = app("worklist")
    at.selectbox(key="source").select("demo").run()  # only the phantom
    at.text_input(key="wl_find").input(order[0]).run()
    at.button(key="wl_open").click().run()

    at.button(key="rv_next").click().run()

    # From a case outside the filter, j goes to the next case inside it, in the worklist's order.
    assert [shown(title.value) for title in at.title] == ["case-phantom"]
    at.button(key="rv_next").click().run()
    assert [shown(title.value) for title in at.title] == ["case-phantom"]  # the last of the filtered list
    assert any("last case" in toast.value for toast in at.toast)


def test_n_opens_the_next_case_with_flags_left_to_decide(app: Callable[..., AppTest], app_db: Store) -> None:
    order = _audit_all(app_db)
    with_flags = [c for c in order if app_db.audits.latest(c).flag_ids]  # type: ignore[union-attr]
    at = app("review", case=with_flags[0])
    for flag_id in app_db.audits.latest(with_flags[1]).flag_ids:  # type: ignore[union-attr]
        services.decide(app_db, flag_id, "ana", "accept")

    at.button(key="rv_next_todo").click().run()

    assert [shown(title.value) for title in at.title] == [with_flags[2]]  # the decided one is skipped


def test_a_finished_case_says_so_and_names_the_key_for_the_next(app: Callable[..., AppTest]) -> None:
    at = app("review", case="case-ptx")
    first, second = _flag_ids(at)

    at.button(key=f"accept_{first}").click().run()
    assert not any("Case complete" in item.value for item in at.success)
    at.button(key=f"dismiss_{second}").click().run()

    assert any("Case complete" in item.value and "**j**" in item.value for item in at.success)
    assert [shown(title.value) for title in at.title] == ["case-ptx"]  # without auto-advance it stays


def test_auto_advance_opens_the_next_case_once_every_flag_is_decided(
    app: Callable[..., AppTest], app_db: Store
) -> None:
    at = app("review", case="case-eff")
    at.toggle(key="auto_advance").set_value(True).run()
    (only,) = _flag_ids(at)

    at.button(key=f"accept_{only}").click().run()

    ui.auditor().drain()  # as above: the read-ahead may reorder the urgent-first worklist
    assert [shown(title.value) for title in at.title] == [neighbour_case(app_db, "case-eff", None, 1)]
    assert any("complete" in toast.value for toast in at.toast)


def test_a_window_preset_sets_the_window_and_a_hand_set_window_clears_it(app: Callable[..., AppTest]) -> None:
    at = app("review", case="case-ptx")

    at.button_group(key="rv_preset").set_value("lung").run()
    assert (at.slider(key="rv_level").value, at.slider(key="rv_width").value) == (96, 176)
    at.slider(key="rv_level").set_value(100).run()

    assert at.button_group(key="rv_preset").value is None


def test_the_draw_switch_offers_the_canvas_and_the_label_of_a_new_box(app: Callable[..., AppTest]) -> None:
    at = app("review", case="case-ptx")

    at.toggle(key="rv_draw").set_value(True).run()

    no_exceptions(at)
    assert at.selectbox(key="rv_draw_label").value == "pleural_effusion"
    assert at.button(key="rv_draw_save").disabled  # nothing drawn yet


def test_a_long_draft_shows_collapsed_until_opened(app: Callable[..., AppTest], app_db: Store) -> None:
    long_draft = "Small left pleural effusion. " + "Lungs otherwise clear, no pneumothorax. " * 60
    app_db.drafts.add("case-eff", long_draft, kind="human", author="resident")

    at = app("review", case="case-eff")
    (draft,) = [item for item in at.markdown if 'class="cxr-draft' in item.value]
    assert 'class="cxr-draft collapsed"' in draft.value

    at.toggle(key="rv_draft_whole").set_value(True).run()

    (draft,) = [item for item in at.markdown if 'class="cxr-draft' in item.value]
    assert 'class="cxr-draft"' in draft.value and "collapsed" not in draft.value
