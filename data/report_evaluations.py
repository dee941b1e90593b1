"""Stored ``cxr-audit eval-reports`` results (``store.report_evaluations``), and what reviewers
decided on each generator's flags.

A generator's flags are the flags of audit runs of its ``generated`` drafts; its reviewer
feedback counts the *current* decision per (flag, reviewer), read from the
``current_decisions`` view, accepted ÷ decisions, with the counts it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from audit.metrics import ratio
from audit.report_eval import Feedback, TypeFeedback
from audit.report_eval.document import number
from data.records import ReportEvaluationRecord, checked_note
from data.sql import Family, fetch_records, fetch_rows, insert_returning, now, to_json

_FEEDBACK = """
    WITH generated AS (
        SELECT d.author AS generator, f.flag_id, f.type
        FROM flags f
        JOIN audit_runs r ON r.run_id = f.run_id
        JOIN drafts d ON d.draft_id = r.draft_id
        WHERE d.kind = 'generated' AND list_contains(?, d.author)
    )
    SELECT g.generator, g.type, count(DISTINCT g.flag_id) AS flags,
           count(c.flag_id) AS decisions,
           count(c.flag_id) FILTER (WHERE c.decision = 'accept') AS accepted,
           count(c.flag_id) FILTER (WHERE c.decision = 'dismiss') AS dismissed,
           count(DISTINCT c.flag_id) AS flags_decided
    FROM generated g LEFT JOIN current_decisions c ON c.flag_id = g.flag_id
    GROUP BY g.generator, g.type ORDER BY g.generator, g.type
"""


class ReportEvaluations(Family):
    def save(
        self,
        *,
        generators: Sequence[str],
        n_cases: int,
        evaluation: dict[str, Any],
        out_dir: str | None,
        note: str | None,
    ) -> int:
        """Store one ``cxr-audit eval-reports`` result (its ``report_eval.json``)."""
        row = {
            "created_at": now(),
            "generators": ",".join(generators),
            "n_cases": n_cases,
            "evaluation": to_json(evaluation),
            "out_dir": out_dir,
            "note": checked_note(note),
        }
        return self.db.transaction(
            "save a report evaluation",
            lambda cur: insert_returning(cur, "report_evaluations", row, "evaluation_id"),
        )

    def newest_first(self) -> list[ReportEvaluationRecord]:
        sql = (
            "SELECT evaluation_id, created_at, string_split(generators, ',') AS generators, n_cases, "
            "evaluation, out_dir, note FROM report_evaluations ORDER BY evaluation_id DESC"
        )
        return self.db.read(lambda cur: fetch_records(cur, sql, [], ReportEvaluationRecord))

    def feedback(self, generators: Sequence[str]) -> dict[str, Feedback]:
        """Reviewers' current decisions on each generator's flags (generators without flags left out)."""
        rows = self.db.read(lambda cur: fetch_rows(cur, _FEEDBACK, [list(generators)]))
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["generator"], []).append(row)
        out: dict[str, Feedback] = {}
        for name, items in grouped.items():
            accepted = sum(item["accepted"] for item in items)
            decisions = sum(item["decisions"] for item in items)
            out[name] = Feedback(
                accepted_flag_rate=number(ratio(accepted, decisions)),
                accepted=accepted,
                dismissed=sum(item["dismissed"] for item in items),
                decisions=decisions,
                flags=sum(item["flags"] for item in items),
                flags_decided=sum(item["flags_decided"] for item in items),
                by_type={
                    item["type"]: TypeFeedback(
                        accepted=item["accepted"],
                        decisions=item["decisions"],
                        rate=number(ratio(item["accepted"], item["decisions"])),
                    )
                    for item in items
                },
            )
        return out
