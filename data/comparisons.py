"""Stored ``cxr-audit compare-grounders`` results (``store.comparisons``): the runs compared, on
how many cases, and the figures of their ``comparison.json``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from data.records import ComparisonRecord, checked_note
from data.sql import Family, fetch_records, insert_returning, now, to_json


class GrounderComparisons(Family):
    def save(
        self,
        *,
        runs: Sequence[str],
        n_cases: int,
        comparison: dict[str, Any],
        out_dir: str | None,
        note: str | None,
    ) -> int:
        """Store one ``cxr-audit compare-grounders`` result (its ``comparison.json``)."""

        row = {
            "created_at": now(),
            "runs": ",".join(runs),
            "n_cases": n_cases,
            "comparison": to_json(comparison),
            "out_dir": out_dir,
            "note": checked_note(note),
        }
        return self.db.transaction(
            "save a grounder comparison",
            lambda cur: insert_returning(cur, "grounder_comparisons", row, "comparison_id"),
        )

    def newest_first(self) -> list[ComparisonRecord]:
        """Every stored grounder comparison, newest first."""
        sql = (
            "SELECT comparison_id, created_at, string_split(runs, ',') AS runs, n_cases, "
            "coalesce(comparison, '{}') AS comparison, out_dir, note "
            "FROM grounder_comparisons ORDER BY comparison_id DESC"
        )
        return self.db.read(lambda cur: fetch_records(cur, sql, [], ComparisonRecord))
