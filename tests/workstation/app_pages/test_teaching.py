"""Teaching mode under AppTest: the reference stays hidden until the student submits, then a
checklist shows their impression against it; each student's impressions are kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamlit.testing.v1 import AppTest

from data.records import CaseImport, CaseRecord
from data.store import Store
from tests.workstation.conftest import no_exceptions, shown
from workstation import ui


def _open(app: Callable[..., AppTest], case_id: str, reviewer: str = "sam") -> AppTest:
    at = app("teaching", reviewer=reviewer)
    at.text_input(key="tc_search").input(case_id).run()
    at.selectbox(key="teaching_case").select(case_id).run()
    return at


def _checklists(at: AppTest) -> list[Any]:
    """The checklist tables on the page (the frames with a 'result' column)."""
    return [frame.value for frame in at.dataframe if "result" in frame.value.columns]


def _subheaders(at: AppTest) -> list[str]:
    return [item.value for item in at.subheader]


def test_the_reference_is_hidden_until_the_student_submits(app: Callable[..., AppTest]) -> None:
    at = _open(app, "case-ptx")

    assert not _checklists(at)
    assert all("pneumothorax" not in item.value.lower() for item in [*at.markdown, *at.caption])

    at.text_area(key="tc_text_case-ptx").input("No pneumothorax. Heart size is normal.")
    at.button(key="tc_submit").click().run()

    no_exceptions(at)
    assert "0 of 1 finding found, no over-call" in _subheaders(at)  # the denied pneumothorax
    (checklist,) = _checklists(at)
    assert checklist[["finding", "result"]].values.tolist() == [["pneumothorax", "missed"]]


def test_a_faithful_impression_raises_no_discrepancy(app: Callable[..., AppTest]) -> None:
    at = _open(app, "case-eff")

    at.text_area(key="tc_text_case-eff").input("Small left pleural effusion.")
    at.button(key="tc_submit").click().run()

    assert "1 of 1 finding found, no over-call" in _subheaders(at)
    assert not at.error and not [w for w in at.warning if "URGENT" in w.value]


def test_impressions_are_stored_per_student_as_student_drafts(
    app: Callable[..., AppTest], app_db: Store
) -> None:
    runs_before: list[int] | None = None
    for student, text in (("sam", "Right pneumothorax."), ("kim", "No acute disease.")):
        at = _open(app, "case-ptx", reviewer=student)
        if runs_before is None:
            ui.auditor().drain()  # the Worklist the app opens on audits its page in the background
            runs_before = app_db.audits.run_ids("case-ptx")
        at.text_area(key="tc_text_case-ptx").input(text)
        at.button(key="tc_submit").click().run()

    assert [d.text for d in app_db.drafts.for_case("case-ptx", kind="student", author="sam")] == [
        "Right pneumothorax."
    ]
    assert [d.text for d in app_db.drafts.for_case("case-ptx", kind="student", author="kim")] == [
        "No acute disease."
    ]
    assert app_db.drafts.default("case-ptx").kind == "human"  # type: ignore[union-attr]
    assert app_db.audits.run_ids("case-ptx") == runs_before  # a student's audit never replaces the case's
    latest = app_db.audits.latest("case-ptx")
    assert ([latest.run_id] if latest else []) == runs_before


def test_an_empty_impression_is_refused_with_a_message(app: Callable[..., AppTest], app_db: Store) -> None:
    at = _open(app, "case-ptx")

    at.button(key="tc_submit").click().run()

    no_exceptions(at)
    assert any("draft is empty" in shown(error.value) for error in at.error)
    assert app_db.drafts.for_case("case-ptx", kind="student") == []


def test_a_student_must_give_a_name_first(app: Callable[..., AppTest]) -> None:
    at = app("teaching", reviewer=None)

    assert at.button(key="tc_submit").disabled


def test_a_case_without_its_image_says_so_and_can_still_be_answered(
    app: Callable[..., AppTest], app_db: Store
) -> None:
    record = CaseRecord(
        case_id="case-noimage", image_id="gone.png", image_path=None, width=64, height=64, source="test"
    )
    app_db.cases.upsert_many([CaseImport(case=record, findings=())])

    at = _open(app, "case-noimage")

    no_exceptions(at)
    assert any("not available on this machine" in item.value for item in at.info)
    assert at.text_area(key="tc_text_case-noimage") is not None
