"""One reviewer's own progress through a (filtered) worklist: the cases *they* have reviewed.

A case counts as reviewed by a reviewer when they have decided every flag of its latest
audit, or marked that audit reviewed (a case without flags). Other reviewers' decisions
never count towards it, so an inter-reader study's progress bars stay independent.
"""

from __future__ import annotations

from audit.schema import Frozen
from data.connection import Database
from data.records import WorklistQuery
from data.worklist import _filters


class OwnProgress(Frozen):
    reviewer: str
    reviewed: int
    total: int

    @property
    def summary(self) -> str:
        return f"{self.reviewed:,} of {self.total:,} reviewed by you"


def own_progress(db: Database, query: WorklistQuery, reviewer: str) -> OwnProgress:
    """Over every case matching ``query``'s filters (its status filter and page ignored)."""
    where, params = _filters(query, with_status=False)
    row = db.read(
        lambda cur: cur.execute(
            f"""
            WITH mine AS (
                SELECT run_id, count(DISTINCT flag_id) AS n_mine FROM decisions WHERE reviewer = ?
                GROUP BY run_id
            ),
            marked AS (SELECT DISTINCT run_id AS marked_run FROM case_reviews WHERE reviewer = ?)
            SELECT count(*),
                   count(*) FILTER (WHERE latest_run_id IS NOT NULL AND (
                       (n_flags > 0 AND coalesce(n_mine, 0) >= n_flags) OR marked_run IS NOT NULL))
            FROM case_summary
            LEFT JOIN mine ON mine.run_id = case_summary.latest_run_id
            LEFT JOIN marked ON marked.marked_run = case_summary.latest_run_id
            WHERE {where}
            """,
            [reviewer, reviewer, *params],
        ).fetchone()
    )
    total, reviewed = (int(row[0]), int(row[1])) if row else (0, 0)
    return OwnProgress(reviewer=reviewer, reviewed=reviewed, total=total)
