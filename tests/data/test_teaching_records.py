"""The teaching tables: accounts and sign-in attempts, the audit trail, assignments and progress,
a teaching run never being a case's latest audit, and one reviewer's own progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from audit.compare import compare
from audit.schema import AuditReport, ImageFinding, ImageReading, ParseOutcome
from data.accounts import Accounts
from data.app_settings import BLINDED_READING, AppSettings
from data.assignments import Assignments
from data.audit_trail import AuditTrail
from data.errors import AccountError, AssignmentError, NoteTooLongError
from data.migrations import LATEST_VERSION
from data.records import MAX_NOTE_CHARS, CaseRecord, ReferenceFinding, WorklistQuery
from data.reviewer_progress import own_progress
from data.spreadsheet import neutralize
from data.store import Store
from data.teaching_runs import TeachingRuns
from data.worklist import worklist_page
from tests.data.conftest import PTX_BOX, draft_reading


@pytest.fixture
def db(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "audit.duckdb")
    for case_id in ("c1", "c2", "c3"):
        store.cases.upsert(
            CaseRecord(case_id=case_id, image_id=f"{case_id}.png", source="test"),
            [ReferenceFinding(label="pneumothorax", box=PTX_BOX, source="reference:test")],
        )
    yield store
    store.close()


def _report(text: str) -> AuditReport:
    image = ImageReading(
        backend="reference",
        outcome=ParseOutcome(status="ok"),
        findings=(ImageFinding(label="pneumothorax", box=PTX_BOX, source="reference:test"),),
    )
    draft = draft_reading(text)
    comparison = compare(image, draft)
    return AuditReport(mode="full", flags=comparison.flags, image=image, draft=draft)


def test_an_account_is_stored_with_its_role_and_hash_and_names_are_unique(db: Store) -> None:
    accounts = Accounts(db)
    made = accounts.add("  sam   lee ", "student", "$argon2id$fake")
    assert (made.name, made.role, made.disabled) == ("sam lee", "student", False)
    with pytest.raises(AccountError, match="already exists"):
        accounts.add("sam lee", "educator", None)
    with pytest.raises(AccountError, match="unknown role"):
        accounts.add("x", "admin", None)  # type: ignore[arg-type]
    assert accounts.set_disabled("sam lee").disabled
    assert accounts.names("student") == []


def test_failed_sign_ins_are_counted_until_a_good_one_or_a_new_password(db: Store) -> None:
    accounts = Accounts(db)
    accounts.add("sam", "student", "h1")
    since = datetime.now(UTC) - timedelta(minutes=15)
    for _ in range(3):
        accounts.record_attempt("sam", False, "10.0.0.9")
    assert accounts.failures_since("sam", since).failures == 3
    assert accounts.attempts_since(since, "10.0.0.9") == 3 and accounts.attempts_since(since, "10.0.0.1") == 0
    accounts.set_password_hash("sam", "h2")
    assert accounts.failures_since("sam", since).failures == 0
    accounts.record_attempt("sam", False)
    accounts.record_attempt("sam", True)
    assert accounts.failures_since("sam", since).failures == 0


def test_attempts_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "audit.duckdb"
    with Store.open(path) as store:
        Accounts(store).record_attempt("sam", False)
    with Store.open(path) as store:
        assert Accounts(store).failures_since("sam", datetime.now(UTC) - timedelta(hours=1)).failures == 1
        assert store.schema_version() == LATEST_VERSION


def test_the_audit_trail_keeps_events_newest_first_and_refuses_unknown_actions(db: Store) -> None:
    trail = AuditTrail(db)
    trail.record("sign_in", actor="sam", role="student", detail="client 127.0.0.1")
    trail.record("assignment_created", actor="erin", role="educator", target="Pneumothorax week")
    assert [(e.action, e.actor) for e in trail.recent()] == [
        ("assignment_created", "erin"),
        ("sign_in", "sam"),
    ]
    assert [e.action for e in trail.recent(actor="sam")] == ["sign_in"]
    with pytest.raises(ValueError, match="unknown audit-trail action"):
        trail.record("delete_everything", actor="x")


def test_an_assignment_keeps_its_cases_in_order_and_counts_a_students_submissions(db: Store) -> None:
    assignments = Assignments(db)
    made = assignments.create("Pneumothorax week", ["c3", "c1", "c3"], created_by="erin", students=["sam"])
    assert (made.n_cases, made.students, made.everyone) == (2, ("sam",), False)
    assert assignments.cases(made.assignment_id) == ["c3", "c1"]
    everyone = assignments.create("Board review 1", ["c2"], created_by="erin", everyone=True)
    assert [a.name for a in assignments.for_student("sam")] == ["Pneumothorax week", "Board review 1"]
    assert [a.assignment_id for a in assignments.for_student("kim")] == [everyone.assignment_id]
    assert assignments.student_case_ids("kim") == {"c2"}
    db.drafts.add("c1", "Right pneumothorax.", kind="student", author="sam")
    assert assignments.progress(made.assignment_id, "sam").summary == "1 of 2 submitted"
    assert assignments.progress(made.assignment_id, "kim").summary == "0 of 2 submitted"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": " ", "case_ids": ["c1"], "everyone": True}, "needs a name"),
        ({"name": "x", "case_ids": [], "everyone": True}, "at least one case"),
        ({"name": "x", "case_ids": ["c1"]}, "at least one student"),
        ({"name": "x", "case_ids": ["c1", "nope"], "everyone": True}, "not in the database: 'nope'"),
    ],
    ids=["no-name", "no-cases", "nobody", "unknown-case"],
)
def test_an_assignment_that_cannot_work_is_refused(db: Store, kwargs: dict, message: str) -> None:
    with pytest.raises(AssignmentError, match=message):
        Assignments(db).create(created_by="erin", **kwargs)
    assert Assignments(db).all() == []


def test_a_teaching_run_is_never_the_latest_audit_and_feedback_is_kept_per_flag(db: Store) -> None:
    audit = db.audits.save("c1", _report("No acute disease."), grounder="reference", parser="rules")
    draft_id = db.drafts.add("c1", "No acute disease.", kind="student", author="sam")
    teaching = db.audits.save("c1", _report("No acute disease."), draft_id=draft_id, purpose="teaching")
    assert db.audits.latest("c1").run_id == audit.run_id  # type: ignore[union-attr]
    assert db.audits.run_ids("c1") == [audit.run_id]
    assert worklist_page(db, WorklistQuery()).rows[0].latest_run_id == audit.run_id
    runs = TeachingRuns(db)
    assert runs.run_for_draft(draft_id) == teaching.run_id
    (attempt,) = runs.attempts(student="sam")
    assert (attempt.case_id, attempt.run_id) == ("c1", teaching.run_id)
    flag = teaching.flag_ids[0]
    runs.give_feedback(flag, "erin", "accept", "look at the apex")
    runs.give_feedback(flag, "erin", "dismiss", None)
    assert runs.feedback(teaching.run_id)[flag].decision == "dismiss"
    with pytest.raises(Exception, match="flag of a student impression"):
        runs.give_feedback(audit.flag_ids[0], "erin", "accept")  # a worklist flag is not teaching's
    with pytest.raises(NoteTooLongError):
        runs.give_feedback(flag, "erin", "accept", "x" * (MAX_NOTE_CHARS + 1))


def test_own_progress_counts_only_this_reviewers_decisions(db: Store) -> None:
    runs = [
        db.audits.save(c, _report("No acute disease."), grounder="reference", parser="rules")
        for c in ("c1", "c2")
    ]
    for flag_id in runs[0].flag_ids:
        db.decisions.record(flag_id, "ana", "accept")
    for flag_id in runs[1].flag_ids:
        db.decisions.record(flag_id, "bo", "accept")
    assert own_progress(db, WorklistQuery(), "ana").summary == "1 of 3 reviewed by you"
    assert own_progress(db, WorklistQuery(), "bo").reviewed == 1
    assert own_progress(db, WorklistQuery(), "cy").reviewed == 0
    assert worklist_page(db, WorklistQuery()).progress.reviewed == 2  # everyone's, unchanged


def test_a_setting_is_stored(db: Store) -> None:
    settings = AppSettings(db)
    assert settings.get_flag(BLINDED_READING) is False
    settings.set_flag(BLINDED_READING, True, by="erin")
    assert settings.get_flag(BLINDED_READING) is True


@pytest.mark.parametrize("cell", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://e")'])
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(cell: str) -> None:
    table = neutralize(pa.table({"note": [cell, "fine", None], "n": [-1, 2, 3]}))
    assert table.column("note").to_pylist() == ["'" + cell, "fine", None]
    assert table.column("n").to_pylist() == [-1, 2, 3]  # numbers stay numbers
