"""Boxes reviewers drew for findings the audit missed (``store.reviewer_findings``), and what
became of them: moved, resized or deleted.

A drawn box (``reviewer_findings``) is never updated or removed. Each later change is an
event in ``reviewer_finding_events``: ``moved`` carries the new corners, ``deleted`` ends the
box. A box's current corners are its latest move (else as drawn); a deleted box is no longer
current but stays in the database and in the export, with who deleted it and when. A
reviewer edits only their own boxes. Saving a canvas's changes is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from audit.labels import Label
from audit.schema import Box, Frozen
from data.errors import StoreError
from data.records import ReviewerFinding, checked_note, reviewer_name
from data.sql import Family, box_columns, fetch_rows, insert_returning, now, require_case


class DeletedBox(Frozen):
    """A reviewer box that was deleted: the box as it last was, and who deleted it when."""

    finding: ReviewerFinding
    deleted_by: str
    deleted_at: datetime


class SavedEdits(Frozen):
    added: int = 0
    moved: int = 0
    deleted: int = 0


# Each reviewer box on a case with its current corners and, when deleted, by whom and when.
_CURRENT = """
    WITH moves AS (
        SELECT finding_id, x0, y0, x1, y1,
               row_number() OVER (PARTITION BY finding_id ORDER BY event_id DESC) AS newest
        FROM reviewer_finding_events WHERE case_id = $case AND action = 'moved'
    ),
    deletions AS (
        SELECT finding_id, min_by(reviewer, event_id) AS deleted_by, min(created_at) AS deleted_at
        FROM reviewer_finding_events WHERE case_id = $case AND action = 'deleted' GROUP BY finding_id
    )
    SELECT rf.finding_id, rf.case_id, rf.run_id, rf.reviewer, rf.label,
           {'x0': coalesce(m.x0, rf.x0), 'y0': coalesce(m.y0, rf.y0),
            'x1': coalesce(m.x1, rf.x1), 'y1': coalesce(m.y1, rf.y1)} AS box,
           rf.note, rf.created_at, d.deleted_by, d.deleted_at
    FROM reviewer_findings rf
    LEFT JOIN moves m ON m.finding_id = rf.finding_id AND m.newest = 1
    LEFT JOIN deletions d ON d.finding_id = rf.finding_id
    WHERE rf.case_id = $case
    ORDER BY rf.finding_id
"""


def _boxes(cur: duckdb.DuckDBPyConnection, case_id: str) -> list[tuple[ReviewerFinding, Any, Any]]:
    """(box at its current corners, deleted by, deleted at) for every reviewer box on the case."""
    found = []
    for row in fetch_rows(cur, _CURRENT, {"case": case_id}):
        deleted_by, deleted_at = row.pop("deleted_by"), row.pop("deleted_at")
        found.append((ReviewerFinding.model_validate(row), deleted_by, deleted_at))
    return found


def _insert(cur: duckdb.DuckDBPyConnection, record: ReviewerFinding) -> int:
    row = {
        "case_id": record.case_id,
        "run_id": record.run_id,
        "reviewer": record.reviewer,
        "label": record.label,
        **box_columns(record.box),
        "note": record.note,
        "created_at": record.created_at,
    }
    return insert_returning(cur, "reviewer_findings", row, "finding_id")


def _event(
    cur: duckdb.DuckDBPyConnection,
    finding_id: int,
    case_id: str,
    reviewer: str,
    action: str,
    box: Box | None,
    at: datetime,
) -> None:
    row = {
        "finding_id": finding_id,
        "case_id": case_id,
        "reviewer": reviewer,
        "action": action,
        **box_columns(box),
        "created_at": at,
    }
    insert_returning(cur, "reviewer_finding_events", row, "event_id")


class ReviewerFindings(Family):
    def add(
        self,
        case_id: str,
        reviewer: str,
        label: str,
        box: Box,
        *,
        note: str | None = None,
        run_id: int | None = None,
    ) -> ReviewerFinding:
        """Store a box a reviewer drew for a finding the audit missed."""
        record = ReviewerFinding(
            finding_id=0,
            case_id=case_id,
            run_id=run_id,
            reviewer=reviewer_name(reviewer),
            label=label,  # type: ignore[arg-type]
            box=box,
            note=checked_note(note),
            created_at=now(),
        )

        def write(cur: duckdb.DuckDBPyConnection) -> ReviewerFinding:
            require_case(cur, case_id)
            return record.model_copy(update={"finding_id": _insert(cur, record)})

        return self.db.transaction("save a reviewer finding", write)

    def for_case(self, case_id: str, reviewer: str | None = None) -> list[ReviewerFinding]:
        """The boxes on a case that are not deleted (one reviewer's, or anyone's), at their current
        corners, oldest first."""
        return [
            finding
            for finding, deleted_by, _ in self.db.read(lambda cur: _boxes(cur, case_id))
            if deleted_by is None and (reviewer is None or finding.reviewer == reviewer)
        ]

    def deleted(self, case_id: str) -> list[DeletedBox]:
        """The case's deleted reviewer boxes, oldest first."""
        return [
            DeletedBox(finding=finding, deleted_by=by, deleted_at=at)
            for finding, by, at in self.db.read(lambda cur: _boxes(cur, case_id))
            if by is not None
        ]

    def save_edits(
        self,
        case_id: str,
        reviewer: str,
        *,
        added: Sequence[tuple[Label, Box]] = (),
        moved: Sequence[tuple[int, Box]] = (),
        deleted_ids: Sequence[int] = (),
        note: str | None = None,
        run_id: int | None = None,
    ) -> SavedEdits:
        """Add, move and delete one reviewer's boxes on a case in one transaction.

        Refuses (nothing saved) a box that is another reviewer's, not on this case, or already deleted.
        """
        reviewer = reviewer_name(reviewer)
        at = now()
        new = [
            ReviewerFinding(
                finding_id=0,
                case_id=case_id,
                run_id=run_id,
                reviewer=reviewer,
                label=label,
                box=box,
                note=checked_note(note),
                created_at=at,
            )
            for label, box in added
        ]

        def write(cur: duckdb.DuckDBPyConnection) -> SavedEdits:
            require_case(cur, case_id)
            live = {finding.finding_id: finding for finding, by, _ in _boxes(cur, case_id) if by is None}
            for finding_id in [*(i for i, _ in moved), *deleted_ids]:
                finding = live.get(finding_id)
                if finding is None:
                    raise StoreError(f"reviewer box {finding_id} is not a current box on case {case_id!r}")
                if finding.reviewer != reviewer:
                    raise StoreError(
                        f"reviewer box {finding_id} is {finding.reviewer}'s; only they can change it"
                    )
            for record in new:
                _insert(cur, record)
            for finding_id, box in moved:
                _event(cur, finding_id, case_id, reviewer, "moved", box, at)
            for finding_id in deleted_ids:
                _event(cur, finding_id, case_id, reviewer, "deleted", None, at)
            return SavedEdits(added=len(added), moved=len(moved), deleted=len(deleted_ids))

        return self.db.transaction("save reviewer boxes", write)
