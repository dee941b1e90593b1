"""Teaching: each student impression's audit run (purpose ``teaching``) and educators' feedback on its flags.

A teaching run is saved once, when the impression is submitted, with the reference
grounder; it is never a case's latest audit (``purpose = 'teaching'``). Feedback is an
educator's accept (the flag stands) or dismiss (it does not, e.g. the parser misread the
student), with a note the student reads; the latest per flag counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from audit.schema import Frozen
from data.errors import UnknownRecordError
from data.records import DecisionKind, checked_note
from data.sql import Family


class Feedback(Frozen):
    feedback_id: int
    flag_id: int
    run_id: int
    draft_id: int
    case_id: str
    educator: str
    decision: DecisionKind
    note: str | None
    decided_at: datetime


class Attempt(Frozen):
    """One submitted impression with its teaching run (None for one submitted before runs were saved)."""

    draft_id: int
    case_id: str
    student: str
    text: str
    submitted_at: datetime
    run_id: int | None
    report_json: str | None  # the stored AuditReport
    dismissed: tuple[int, ...] = ()  # positions of the run's flags whose latest feedback is a dismissal


_FEEDBACK = "feedback_id, flag_id, run_id, draft_id, case_id, educator, decision, note, decided_at"
# The feedback that counts: the latest per flag.
_LATEST_FEEDBACK = """
    SELECT * FROM teaching_feedback
    WHERE feedback_id IN (SELECT max(feedback_id) FROM teaching_feedback GROUP BY flag_id)
"""
_ATTEMPT = f"""
    SELECT d.draft_id, d.case_id, d.author AS student, d.text, d.created_at AS submitted_at,
           r.run_id, r.report::VARCHAR AS report_json, coalesce(x.dismissed, []) AS dismissed
    FROM drafts d
    LEFT JOIN (SELECT draft_id, max(run_id) AS run_id FROM audit_runs WHERE purpose = 'teaching'
               GROUP BY draft_id) t ON t.draft_id = d.draft_id
    LEFT JOIN audit_runs r ON r.run_id = t.run_id
    LEFT JOIN (SELECT fb.run_id, list(f.position ORDER BY f.position) AS dismissed
               FROM ({_LATEST_FEEDBACK}) fb JOIN flags f ON f.flag_id = fb.flag_id
               WHERE fb.decision = 'dismiss' GROUP BY fb.run_id) x ON x.run_id = r.run_id
    WHERE d.kind = 'student' AND d.author IS NOT NULL
"""
_ATTEMPT_FIELDS = (
    "draft_id",
    "case_id",
    "student",
    "text",
    "submitted_at",
    "run_id",
    "report_json",
    "dismissed",
)


def _attempt(row: tuple[object, ...]) -> Attempt:
    return Attempt.model_validate(dict(zip(_ATTEMPT_FIELDS, row, strict=True)))


class TeachingRuns(Family):
    def run_for_draft(self, draft_id: int) -> int | None:
        row = self.db.read(
            lambda cur: cur.execute(
                "SELECT max(run_id) FROM audit_runs WHERE draft_id = ? AND purpose = 'teaching'", [draft_id]
            ).fetchone()
        )
        return None if row is None or row[0] is None else int(row[0])

    def attempts(self, *, student: str | None = None, case_id: str | None = None) -> list[Attempt]:
        """Submitted impressions, oldest first (one student's, one case's, or all)."""
        sql, params = _ATTEMPT, []
        if student is not None:
            sql += " AND d.author = ?"
            params.append(student)
        if case_id is not None:
            sql += " AND d.case_id = ?"
            params.append(case_id)
        rows = self.db.read(lambda cur: cur.execute(sql + " ORDER BY d.draft_id", params).fetchall())
        return [_attempt(row) for row in rows]

    def give_feedback(
        self, flag_id: int, educator: str, decision: DecisionKind, note: str | None = None
    ) -> Feedback:
        note = checked_note(note)

        def write(cur: duckdb.DuckDBPyConnection) -> int:
            found = cur.execute(
                "SELECT f.run_id, r.draft_id, f.case_id FROM flags f JOIN audit_runs r USING (run_id) "
                "WHERE f.flag_id = ? AND r.purpose = 'teaching'",
                [flag_id],
            ).fetchone()
            if found is None:
                raise UnknownRecordError("flag of a student impression", flag_id)
            row = cur.execute(
                "INSERT INTO teaching_feedback "
                "(flag_id, run_id, draft_id, case_id, educator, decision, note, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING feedback_id",
                [flag_id, found[0], found[1], found[2], educator, decision, note, datetime.now(UTC)],
            ).fetchone()
            return int(row[0]) if row else 0

        feedback_id = self.db.transaction("save feedback", write)
        row = self.db.read(
            lambda cur: cur.execute(
                f"SELECT {_FEEDBACK} FROM teaching_feedback WHERE feedback_id = ?", [feedback_id]
            ).fetchone()
        )
        return Feedback.model_validate(dict(zip(_FEEDBACK.split(", "), row or (), strict=True)))

    def feedback(self, run_id: int) -> dict[int, Feedback]:
        """The latest feedback per flag of one teaching run."""
        rows = self.db.read(
            lambda cur: cur.execute(
                f"SELECT {_FEEDBACK} FROM ({_LATEST_FEEDBACK}) WHERE run_id = ?", [run_id]
            ).fetchall()
        )
        records = [
            Feedback.model_validate(dict(zip(_FEEDBACK.split(", "), row, strict=True))) for row in rows
        ]
        return {record.flag_id: record for record in records}
