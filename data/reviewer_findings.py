"""Boxes reviewers drew for findings the audit missed (``store.reviewer_findings``)."""

from __future__ import annotations

from typing import Any

import duckdb

from audit.schema import Box
from data.records import ReviewerFinding, checked_note
from data.sql import Family, box_columns, box_sql, fetch_records, insert_returning, now, require_case


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
            reviewer=reviewer,
            label=label,  # type: ignore[arg-type]
            box=box,
            note=checked_note(note),
            created_at=now(),
        )

        row = {
            "case_id": case_id,
            "run_id": run_id,
            "reviewer": reviewer,
            "label": record.label,
            **box_columns(box),
            "note": record.note,
            "created_at": record.created_at,
        }

        def write(cur: duckdb.DuckDBPyConnection) -> ReviewerFinding:
            require_case(cur, case_id)
            finding_id = insert_returning(cur, "reviewer_findings", row, "finding_id")
            return record.model_copy(update={"finding_id": finding_id})

        return self.db.transaction("save a reviewer finding", write)

    def for_case(self, case_id: str, reviewer: str | None = None) -> list[ReviewerFinding]:
        """The boxes drawn on a case (by one reviewer, or by anyone), oldest first."""
        sql = (
            f"SELECT finding_id, case_id, run_id, reviewer, label, {box_sql()}, note, created_at "
            "FROM reviewer_findings WHERE case_id = ?"
        )
        params: list[Any] = [case_id]
        if reviewer is not None:
            sql += " AND reviewer = ?"
            params.append(reviewer)
        return self.db.read(
            lambda cur: fetch_records(cur, sql + " ORDER BY finding_id", params, ReviewerFinding)
        )
