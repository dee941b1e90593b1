"""Shared mode under AppTest: each page as each role, sign-in, who a decision is stored as, and a
student never seeing a teaching case's answers before submitting it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from audit.schema import Box
from data.app_settings import BLINDED_READING, AppSettings
from data.audit_trail import AuditTrail
from data.store import Store
from tests.workstation.conftest import no_exceptions, page_text, shown, sign_in
from workstation import access, class_results

TITLES = {
    "worklist": "Worklist",
    "review": None,  # the Review page's title is the open case's id
    "teaching": "Teaching",
    "evaluation": "Evaluation",
    "export": "Export",
    "models": "Models",
    "assignments": "Assignments",
    "class_view": "Class",
    "my_assignments": "My assignments",
    "my_work": "My work",
}
STAFF = {"worklist", "review", "teaching", "evaluation", "export", "models"}
OPEN_TO = {
    "student": {"my_assignments", "teaching", "my_work"},
    "reviewer": STAFF,
    "educator": STAFF | {"assignments", "class_view"},
}
NAMES = {"student": "sam", "reviewer": "rita", "educator": "erin"}
# Words that would tell a student what is on the image: every label's name.
ANSWERS = tuple(
    {*FINDING_LABELS, *(DISPLAY_NAMES[label].lower() for label in FINDING_LABELS)} - {"no_finding"}
)


@pytest.mark.parametrize("role", list(OPEN_TO), ids=list(OPEN_TO))
@pytest.mark.parametrize("page", list(TITLES), ids=list(TITLES))
def test_each_page_as_each_role(shared_app: Callable[..., AppTest], role: str, page: str) -> None:
    at = shared_app(NAMES[role])
    if page not in OPEN_TO[role]:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"app_pages/{page}.py")
        return
    at.switch_page(f"app_pages/{page}.py").run()
    no_exceptions(at)
    assert not [e for e in at.error if "not open to your role" in e.value]
    titles = [shown(t.value) for t in at.title]
    assert titles == ([TITLES[page]] if TITLES[page] else titles) and titles
    assert any(f"Signed in as **{NAMES[role]}**" in c.value for c in at.sidebar.caption)
    assert not any("Database:" in c.value for c in at.sidebar.caption)  # no paths in shared mode


def test_the_guard_matches_the_navigation() -> None:
    for role, pages in OPEN_TO.items():
        who = access.Viewer(name="x", role=role, mode="shared")  # type: ignore[arg-type]
        opened = {"class_view" if p == "class" else p for p in access.PAGE_ROLES if who.may_open(p)}
        assert opened == pages, role
    assert not access.Viewer(name=None, role="educator", mode="shared").may_open("teaching")


def test_before_sign_in_only_the_sign_in_page_exists_and_the_url_names_no_one(
    shared_app: Callable[..., AppTest],
) -> None:
    at = shared_app(None, reviewer="alice")
    assert [t.value for t in at.title] == ["Sign in"]
    assert "reviewer" not in at.query_params
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/teaching.py")


def test_a_wrong_password_is_refused_and_five_lock_the_account(shared_app: Callable[..., AppTest]) -> None:
    at = shared_app(None)
    for _ in range(5):
        sign_in(at, "sam", "not the password at all")
        assert any("Name or password is wrong" in e.value for e in at.error)
    sign_in(at, "sam")
    assert any("locked after 5 failed sign-ins" in e.value for e in at.error)
    assert [t.value for t in at.title] == ["Sign in"]


def test_no_one_can_act_as_another_account(shared_app: Callable[..., AppTest], shared_db: Store) -> None:
    at = shared_app("rita", "review", reviewer="alice", case="case-ptx")
    flag_id = shared_db.audits.latest("case-ptx").flag_ids[0]  # type: ignore[union-attr]

    at.button(key=f"accept_{flag_id}").click().run()

    no_exceptions(at)
    assert shared_db.decisions.current_for(flag_id, "rita") is not None
    assert shared_db.decisions.current_for(flag_id, "alice") is None
    assert at.query_params.get("reviewer") in (None, [])  # never written to the URL in shared mode


def test_a_student_sees_only_their_cases_and_no_answers_before_submitting(
    shared_app: Callable[..., AppTest], shared_db: Store
) -> None:
    shared_db.decisions.record(  # a reviewer's decision on the case: never shown to a student
        shared_app("rita", "review", case="case-ptx") and shared_db.audits.latest("case-ptx").flag_ids[0],  # type: ignore[union-attr]
        "rita",
        "accept",
        note="right apical pneumothorax",
    )
    at = shared_app("sam", "teaching", case="case-phantom")  # a case not assigned to sam

    no_exceptions(at)
    assert at.selectbox(key="teaching_case").options == ["1. case-ptx", "2. case-eff"]
    for case_id in ("case-ptx", "case-eff"):
        at.selectbox(key="teaching_case").select(case_id).run()
        text = page_text(at).replace("pneumothorax week", "")  # the name the educator gave the set
        assert not [word for word in ANSWERS if word in text], case_id
        assert "rita" not in text
    at.selectbox(key="tc_assignment").select_index(0).run()
    assert at.selectbox(key="teaching_case").options == ["1. case-normal"]
    for page in ("my_assignments", "my_work"):
        at.switch_page(f"app_pages/{page}.py").run()
        text = page_text(at).replace("pneumothorax week", "")
        assert not [word for word in ANSWERS if word in text], page


def test_a_student_steps_through_an_assignment_and_sees_the_checklist_after_submitting(
    shared_app: Callable[..., AppTest], shared_db: Store
) -> None:
    at = shared_app("sam", "teaching")
    assert at.get("progress")[0].proto.text == "0 of 2 submitted"
    assert at.button(key="tc_next").proto.shortcut == "j" and at.button(key="tc_prev").proto.shortcut == "k"

    at.text_area(key="tc_text_case-ptx").input("Right pneumothorax.").run()
    at.button(key="tc_submit").click().run()

    no_exceptions(at)
    assert at.get("progress")[0].proto.text == "1 of 2 submitted"
    assert "1 of 1 finding found, no over-call" in [s.value for s in at.subheader]
    assert "can't-miss: you found it" in page_text(at)
    at.button(key="tc_next").click().run()
    assert at.selectbox(key="teaching_case").value == "case-eff"
    assert "Your impression" in [s.value for s in at.subheader]  # not yet submitted: the form, no answers
    assert shared_db.drafts.for_case("case-ptx", kind="student")[0].author == "sam"
    assert any(
        e.action == "impression_submitted" and e.actor == "sam" for e in AuditTrail(shared_db).recent()
    )


def test_a_students_export_holds_their_own_work_only(
    shared_app: Callable[..., AppTest], shared_db: Store
) -> None:
    for student in ("sam", "kim"):
        at = shared_app(student, "teaching")
        at.text_area(key="tc_text_case-normal" if student == "kim" else "tc_text_case-ptx").input(
            "No acute cardiopulmonary process."
        )
        at.button(key="tc_submit").click().run()
    at = shared_app("sam", "my_work")
    no_exceptions(at)
    assert "1 impression(s)" in page_text(at)
    rows = class_results.finding_rows(shared_db, student="sam")  # what the download holds
    assert set(rows["student"]) == {"sam"} and set(rows["case_id"]) == {"case-ptx"}


def test_the_educator_reads_the_class_and_gives_feedback_the_student_then_sees(
    shared_app: Callable[..., AppTest], shared_db: Store
) -> None:
    student = shared_app("sam", "teaching")
    student.text_area(key="tc_text_case-ptx").input("No pneumothorax.")
    student.button(key="tc_submit").click().run()
    rita = shared_app("rita", "teaching")  # staff trying the Teaching page are not the class
    rita.text_input(key="tc_search").input("case-eff").run()
    rita.text_area(key="tc_text_case-eff").input("Left pleural effusion.")
    rita.button(key="tc_submit").click().run()

    at = shared_app("erin", "class_view")
    no_exceptions(at)
    cases = next(f.value for f in at.dataframe if "missed share" in f.value.columns)
    assert cases.iloc[0][["case_id", "finding", "students", "missed"]].tolist() == [
        "case-ptx",
        "pneumothorax",
        1,
        1,
    ]
    students = next(f.value for f in at.dataframe if "cases submitted" in f.value.columns)
    assert students[["student", "cases submitted", "found", "missed"]].values.tolist() == [["sam", 1, 0, 1]]
    missing_flag = [k for k in (b.key for b in at.button) if k and k.startswith("cl_accept_")][-1]
    flag_id = int(missing_flag.rsplit("_", 1)[1])
    at.text_input(key=f"cl_note_{flag_id}").input("look at the right apex: [x](http://evil.example)")
    at.button(key=missing_flag).click().run()

    again = shared_app("sam", "teaching")
    again.selectbox(key="teaching_case").select("case-ptx").run()
    shown_feedback = [shown(i.value) for i in again.info if "erin" in i.value]
    assert shown_feedback and "look at the right apex: [x](http://evil.example)" in shown_feedback[0]
    assert "[x](http" not in again.info[-1].value  # rendered as text, not a link


def test_blinded_reading_hides_other_reviewers_decisions_until_you_decide(
    shared_app: Callable[..., AppTest], shared_db: Store
) -> None:
    rita = shared_app("rita", "review", case="case-ptx")
    flag_id = shared_db.audits.latest("case-ptx").flag_ids[0]  # type: ignore[union-attr]
    rita.button(key=f"accept_{flag_id}").click().run()
    shared_db.reviewer_findings.add(
        "case-ptx", "rita", "nodule_mass", Box(x0=0.6, y0=0.2, x1=0.7, y1=0.3), note="faint", run_id=None
    )
    AppSettings(shared_db).set_flag(BLINDED_READING, True, by="erin")

    rob = shared_app("rob", "review", case="case-ptx")
    text = page_text(rob)
    assert "accepted by rita" not in text and "1 other decision(s) hidden until you decide" in text
    assert "rita" not in text and "1 other reviewer box(es) hidden (blinded reading)" in text
    assert "0 of 4 reviewed by you" in shown(shared_app("rob", "worklist").get("progress")[0].proto.text)
    rob.button(key=f"dismiss_{flag_id}").click().run()
    assert "accepted by rita" in page_text(rob) and "rita: nodule" not in page_text(rob)
    for other in shared_db.audits.latest("case-ptx").flag_ids[1:]:  # type: ignore[union-attr]
        rob.button(key=f"accept_{other}").click().run()
    assert "rita: nodule / mass (faint)" in page_text(rob)  # every flag decided: the boxes too
    erin = shared_app("erin", "review", case="case-ptx")
    assert "accepted by rita" in page_text(erin)  # educators see everything
    assert "rita: nodule / mass (faint)" in page_text(erin)


def test_signing_out_forgets_the_session_for_the_next_person(shared_app: Callable[..., AppTest]) -> None:
    at = shared_app("sam", "teaching")
    at.text_area(key="tc_text_case-ptx").input("Half-written: right pneumo").run()
    at.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]
    sign_in(at, "rita")
    at.switch_page("app_pages/teaching.py").run()
    at.text_input(key="tc_search").input("case-ptx").run()
    assert at.text_area(key="tc_text_case-ptx").value == ""


def test_on_a_shared_server_only_an_educator_sees_and_sets_the_local_weights_folders(
    shared_app: Callable[..., AppTest],
) -> None:
    rita = shared_app("rita", "models")
    no_exceptions(rita)
    assert not [box for box in rita.text_input if str(box.key).startswith("md_path_")]
    assert "on a shared server an educator sets the local weights folders" in page_text(rita)
    erin = shared_app("erin", "models")
    paths = [box.key for box in erin.text_input if str(box.key).startswith("md_path_")]
    assert paths == ["md_path_medgemma", "md_path_nemotron"]


def test_a_student_reads_why_an_image_failed_without_the_servers_folders(
    shared_app: Callable[..., AppTest], shared_db: Store
) -> None:
    path = Path(str(shared_db.cases.get("case-ptx").image_path))
    path.write_bytes(b"not an image")

    at = shared_app("sam", "teaching")

    no_exceptions(at)
    (error,) = [e.value for e in at.error]
    assert "…/case-ptx.png" in shown(error) and str(path.parent) not in shown(error)
