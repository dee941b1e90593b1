"""Stored ``cxr-audit eval`` runs (``store.eval_runs``): what ran, how many items scored and failed."""

from __future__ import annotations

from typing import Any

from data.errors import StoreError
from data.records import EvalRunRecord, checked_note
from data.sql import Family, fetch_records, insert_returning, now, to_json


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

        row = {
            "created_at": now(),
            "grounder": grounder,
            "parser": parser,
            "seed": seed,
            "n_items": n_items,
            "n_scored": n_scored,
            "n_failed": n_failed,
            "summary": to_json(summary),
            "config": to_json(config),
            "out_dir": out_dir,
            "note": checked_note(note),
        }
        return self.db.transaction(
            "save an eval run", lambda cur: insert_returning(cur, "eval_runs", row, "eval_id")
        )

    def newest_first(self) -> list[EvalRunRecord]:
        """Every stored eval run, newest first."""
        sql = (
            "SELECT eval_id, created_at, grounder, parser, seed, n_items, n_scored, n_failed, "
            "coalesce(summary, '{}') AS summary, config, out_dir, note FROM eval_runs ORDER BY eval_id DESC"
        )
        return self.db.read(lambda cur: fetch_records(cur, sql, [], EvalRunRecord))
