"""Teaching mode under AppTest: the reference stays hidden until the student submits, then
their impression is audited against it; each student's impressions are kept."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from data.store import Store
from tests.workstation.conftest import no_exceptions


def _open(app: Callable[..., AppTest], case_id: str, reviewer: str = "sam") -> AppTest:
    at = app("teaching", reviewer=reviewer)
    at.selectbox(key="teaching_case").select(case_id).run()
    return at


def _subheaders(at: AppTest) -> list[str]:
    return [item.value for item in at.subheader]


def test_the_reference_is_hidden_until_the_student_submits(app: Callable[..., AppTest]) -> None:
    at = _open(app, "case-ptx")

    assert "Reference findings" not in _subheaders(at)
    assert not [frame for frame in at.dataframe if frame.key == "tc_reference"]
    assert all("pneumothorax" not in item.value for item in at.markdown)

    at.text_area(key="tc_text_case-ptx").input("No pneumothorax. Heart size is normal.")
    at.button(key="tc_submit").click().run()

    no_exceptions(at)
    assert "Reference findings" in _subheaders(at)
    assert "Flags (2)" in _subheaders(at)  # the denied pneumothorax: URGENT and MISSING


def test_a_faithful_impression_raises_no_discrepancy(app: Callable[..., AppTest]) -> None:
    at = _open(app, "case-eff")

    at.text_area(key="tc_text_case-eff").input("Small left pleural effusion.")
    at.button(key="tc_submit").click().run()

    assert "Flags (0)" in _subheaders(at)
    assert any("agrees with the reference" in item.value for item in at.success)


def test_impressions_are_stored_per_student_as_student_drafts(
    app: Callable[..., AppTest], app_db: Store
) -> None:
    for student, text in (("sam", "Right pneumothorax."), ("kim", "No acute disease.")):
        at = _open(app, "case-ptx", reviewer=student)
        at.text_area(key="tc_text_case-ptx").input(text)
        at.button(key="tc_submit").click().run()

    assert [d.text for d in app_db.drafts.for_case("case-ptx", kind="student", author="sam")] == [
        "Right pneumothorax."
    ]
    assert [d.text for d in app_db.drafts.for_case("case-ptx", kind="student", author="kim")] == [
        "No acute disease."
    ]
    assert app_db.drafts.default("case-ptx").kind == "human"  # type: ignore[union-attr]
    assert app_db.audits.run_ids("case-ptx") == []  # a student's audit never replaces the case's audit


def test_an_empty_impression_is_refused_with_a_message(app: Callable[..., AppTest], app_db: Store) -> None:
    at = _open(app, "case-ptx")

    at.button(key="tc_submit").click().run()

    no_exceptions(at)
    assert any("draft is empty" in error.value for error in at.error)
    assert app_db.drafts.for_case("case-ptx", kind="student") == []


def test_a_student_must_give_a_name_first(app: Callable[..., AppTest]) -> None:
    at = app("teaching", reviewer=None)

    assert at.button(key="tc_submit").disabled
