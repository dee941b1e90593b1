"""The audit database with its record families: ``store.cases``, ``store.decisions``, ...

``Store`` is a :class:`data.connection.Database` (one process-wide connection, a cursor per
operation, bounded retry on write conflicts, releasing the file when idle, a typed error
naming the PID that holds it) that reaches each record family through an attribute, the way
sqlite-utils scopes operations to a table. A new family (teaching assignments, users,
training runs) is a module with a :class:`data.sql.Family` subclass and one line here.

The worklist (``data.worklist``), the export (``data.export``) and the review statistics
(``data.review_stats``) are functions that take the database.
"""

from __future__ import annotations

from pathlib import Path

from data.audits import Audits
from data.cases import Cases
from data.comparisons import GrounderComparisons
from data.connection import DEFAULT_WRITE_ATTEMPTS, Database
from data.decisions import Decisions
from data.drafts import Drafts
from data.eval_runs import EvalRuns
from data.generations import Generations
from data.records import StoreStats
from data.report_evaluations import ReportEvaluations
from data.reviewer_findings import ReviewerFindings
from data.sql import fetch_rows

_COUNTED_TABLES = (
    "cases",
    "reference_findings",
    "drafts",
    "audit_runs",
    "flags",
    "decisions",
    "reviewer_findings",
    "eval_runs",
)


class Store(Database):
    """The audit database. Open with :meth:`Store.open` (CLI, tests) or :meth:`Store.shared` (the app)."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        idle_release_s: float | None = None,
        lock_timeout_s: float = 0.0,
        write_attempts: int = DEFAULT_WRITE_ATTEMPTS,
        read_only: bool = False,
    ) -> None:
        super().__init__(
            path,
            idle_release_s=idle_release_s,
            lock_timeout_s=lock_timeout_s,
            write_attempts=write_attempts,
            read_only=read_only,
        )
        self.cases = Cases(self)
        self.drafts = Drafts(self)
        self.audits = Audits(self)
        self.decisions = Decisions(self)
        self.reviewer_findings = ReviewerFindings(self)
        self.eval_runs = EvalRuns(self)
        self.comparisons = GrounderComparisons(self)
        self.generations = Generations(self)
        self.report_evaluations = ReportEvaluations(self)

    def stats(self) -> StoreStats:
        """Row counts per table, for the CLI and the Models/Export pages."""
        counts = ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in _COUNTED_TABLES)  # constant names
        sql = f"SELECT {counts}, (SELECT count(*) FROM cases WHERE is_phantom) AS phantoms"
        (row,) = self.read(lambda cur: fetch_rows(cur, sql))
        return StoreStats.model_validate(row)
