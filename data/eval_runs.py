"""Stored ``cxr-audit eval`` runs (``store.eval_runs``): what ran, how many items scored and failed."""

from __future__ import annotations

from typing import Any

import duckdb

from data.errors import StoreError
from data.records import EvalRunRecord
from data.sql import Family, fetch_records, now, to_json


class EvalRuns(Family):
    def save(
        self,
        *,
        grounder: str,
        parser: str,
        seed: int | None,
        n_items: int,
        n_scored: int,
        n_failed: int,
        summary: dict[str, Any],
        config: dict[str, Any] | None = None,
        out_dir: str | None = None,
        note: str | None = None,
    ) -> int:
        """Store one ``cxr-audit eval`` run; ``n_scored + n_failed`` must equal ``n_items``."""
        if n_scored + n_failed != n_items or min(n_items, n_scored, n_failed) < 0:
            raise StoreError(
                f"eval run counts do not add up: {n_scored} scored + {n_failed} failed != {n_items}"
            )

        def write(cur: duckdb.DuckDBPyConnection) -> int:
            row = cur.execute(
                "INSERT INTO eval_runs "
                "(created_at, grounder, parser, seed, n_items, n_scored, n_failed, summary, "
                "config, out_dir, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING eval_id",
                [
                    now(),
                    grounder,
                    parser,
                    seed,
                    n_items,
                    n_scored,
                    n_failed,
                    to_json(summary),
                    to_json(config),
                    out_dir,
                    note,
                ],
            ).fetchone()
            return int(row[0]) if row else 0

        return self.db.transaction("save an eval run", write)

    def newest_first(self) -> list[EvalRunRecord]:
        """Every stored eval run, newest first."""
        sql = (
            "SELECT eval_id, created_at, grounder, parser, seed, n_items, n_scored, n_failed, "
            "coalesce(summary, '{}') AS summary, config, out_dir, note FROM eval_runs ORDER BY eval_id DESC"
        )
        return self.db.read(lambda cur: fetch_records(cur, sql, [], EvalRunRecord))
