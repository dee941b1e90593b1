"""Assignments: a named set of cases an educator gives to some students, or to everyone.

Made from a worklist filter or a list of case ids, with an optional due date; the cases
keep the order they were given in, which is the order a student steps through them.
A student's progress is how many of the cases they have submitted an impression for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from audit.schema import Frozen
from data.errors import AssignmentError
from data.records import MAX_ASSIGNMENT_NAME_CHARS
from data.sql import Family

MAX_ASSIGNMENT_CASES = 1_000


class Assignment(Frozen):
    assignment_id: int
    name: str
    created_by: str
    created_at: datetime
    due_at: datetime | None
    everyone: bool  # every student, present and future
    made_from: str | None  # "filter: …" or "case list"
    students: tuple[str, ...] = ()
    n_cases: int = 0


class Progress(Frozen):
    submitted: int
    total: int

    @property
    def summary(self) -> str:
        return f"{self.submitted} of {self.total} submitted"


_SELECT = """
    SELECT a.assignment_id, a.name, a.created_by, a.created_at, a.due_at, a.everyone, a.made_from,
           coalesce((SELECT list(student ORDER BY student) FROM assignment_students s
                     WHERE s.assignment_id = a.assignment_id), []) AS students,
           (SELECT count(*) FROM assignment_cases c WHERE c.assignment_id = a.assignment_id) AS n_cases
    FROM assignments a
"""
_FIELDS = (
    "assignment_id",
    "name",
    "created_by",
    "created_at",
    "due_at",
    "everyone",
    "made_from",
    "students",
    "n_cases",
)


def _assignment(row: tuple[object, ...]) -> Assignment:
    return Assignment.model_validate(dict(zip(_FIELDS, row, strict=True)))


class Assignments(Family):
    """``Assignments(db)``: create one; list them; a student's; their cases and a student's progress."""

    def create(
        self,
        name: str,
        case_ids: Sequence[str],
        *,
        created_by: str,
        students: Sequence[str] = (),
        everyone: bool = False,
        due_at: datetime | None = None,
        made_from: str | None = None,
    ) -> Assignment:
        name = " ".join(name.split())
        if not name:
            raise AssignmentError("an assignment needs a name, e.g. 'Pneumothorax week'")
        if len(name) > MAX_ASSIGNMENT_NAME_CHARS:
            raise AssignmentError(f"an assignment name has at most {MAX_ASSIGNMENT_NAME_CHARS} characters")
        ordered = list(dict.fromkeys(case_ids))
        if not ordered:
            raise AssignmentError("an assignment needs at least one case")
        if len(ordered) > MAX_ASSIGNMENT_CASES:
            raise AssignmentError(
                f"an assignment holds at most {MAX_ASSIGNMENT_CASES:,} cases, not {len(ordered):,}; "
                "narrow the filter"
            )
        chosen = sorted(set(students))
        if not everyone and not chosen:
            raise AssignmentError("assign it to at least one student, or to everyone")
        cases = pa.table(
            {
                "position": pa.array(range(len(ordered)), pa.int32()),
                "case_id": pa.array(ordered, pa.string()),
            }
        )

        def write(cur: duckdb.DuckDBPyConnection) -> int:
            cur.register("incoming", cases)
            missing = cur.execute(
                "SELECT case_id FROM incoming WHERE case_id NOT IN (SELECT case_id FROM cases) "
                "ORDER BY position"
            ).fetchall()
            if missing:
                cur.unregister("incoming")
                shown = ", ".join(repr(r[0]) for r in missing[:5])
                raise AssignmentError(f"{len(missing)} case id(s) are not in the database: {shown}")
            row = cur.execute(
                "INSERT INTO assignments (name, created_by, created_at, due_at, everyone, made_from) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING assignment_id",
                [name, created_by, datetime.now(UTC), due_at, everyone, made_from],
            ).fetchone()
            assignment_id = int(row[0]) if row else 0
            cur.execute(
                "INSERT INTO assignment_cases SELECT ?, position, case_id FROM incoming", [assignment_id]
            )
            cur.unregister("incoming")
            for student in [] if everyone else chosen:
                cur.execute("INSERT INTO assignment_students VALUES (?, ?)", [assignment_id, student])
            return assignment_id

        return self.get(self.db.transaction("create an assignment", write))

    def get(self, assignment_id: int) -> Assignment:
        row = self.db.read(
            lambda cur: cur.execute(_SELECT + " WHERE a.assignment_id = ?", [assignment_id]).fetchone()
        )
        if row is None:
            raise AssignmentError(f"no assignment {assignment_id}")
        return _assignment(row)

    def all(self) -> list[Assignment]:
        rows = self.db.read(lambda cur: cur.execute(_SELECT + " ORDER BY a.assignment_id").fetchall())
        return [_assignment(row) for row in rows]

    def for_student(self, student: str) -> list[Assignment]:
        """The assignments given to ``student`` or to everyone, oldest first."""
        rows = self.db.read(
            lambda cur: cur.execute(
                _SELECT + " WHERE a.everyone OR a.assignment_id IN "
                "(SELECT assignment_id FROM assignment_students WHERE student = ?) ORDER BY a.assignment_id",
                [student],
            ).fetchall()
        )
        return [_assignment(row) for row in rows]

    def cases(self, assignment_id: int) -> list[str]:
        rows = self.db.read(
            lambda cur: cur.execute(
                "SELECT case_id FROM assignment_cases WHERE assignment_id = ? ORDER BY position",
                [assignment_id],
            ).fetchall()
        )
        return [str(r[0]) for r in rows]

    def student_case_ids(self, student: str) -> set[str]:
        """Every case in any of ``student``'s assignments: the only cases a student may open."""
        rows = self.db.read(
            lambda cur: cur.execute(
                """
                SELECT DISTINCT c.case_id FROM assignment_cases c JOIN assignments a USING (assignment_id)
                WHERE a.everyone OR a.assignment_id IN
                      (SELECT assignment_id FROM assignment_students WHERE student = ?)
                """,
                [student],
            ).fetchall()
        )
        return {str(r[0]) for r in rows}

    def submitted_case_ids(self, student: str, case_ids: Sequence[str]) -> set[str]:
        """Which of ``case_ids`` ``student`` has submitted at least one impression for."""
        if not case_ids:
            return set()
        wanted = pa.table({"case_id": pa.array(list(case_ids), pa.string())})

        def read(cur: duckdb.DuckDBPyConnection) -> set[str]:
            cur.register("wanted", wanted)
            rows = cur.execute(
                "SELECT DISTINCT d.case_id FROM drafts d JOIN wanted USING (case_id) "
                "WHERE d.kind = 'student' AND d.author = ?",
                [student],
            ).fetchall()
            cur.unregister("wanted")
            return {str(r[0]) for r in rows}

        return self.db.read(read)

    def progress(self, assignment_id: int, student: str) -> Progress:
        cases = self.cases(assignment_id)
        return Progress(submitted=len(self.submitted_case_ids(student, cases)), total=len(cases))
