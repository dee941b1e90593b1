"""Audit runs (``store.audits``): the report, its image findings, draft labels and flags, with provenance.

The report is stored whole (JSON) and rebuilt exactly; its findings, labels and flags are
also stored as rows, so decisions refer to a flag id and SQL can count them.
"""

from __future__ import annotations

from typing import Any

import duckdb

from audit.schema import AuditReport
from data.errors import UnknownRecordError
from data.records import RunPurpose, SavedRun, StoredAudit
from data.sql import Family, box_columns, box_values, fetch_rows, insert_returning, now, require_case, to_json
from data.summary import refresh_case

_RUN_COLUMNS = (
    "run_id, case_id, draft_id, report, grounder, grounder_version, parser, parser_version, "
    "coalesce(durations, '{}') AS durations, coalesce(raw_outputs, '{}') AS raw_outputs, created_at"
)


class Audits(Family):
    def save(
        self,
        case_id: str,
        report: AuditReport,
        *,
        draft_id: int | None = None,
        grounder: str | None = None,
        grounder_version: str | None = None,
        parser: str | None = None,
        parser_version: str | None = None,
        durations: dict[str, float] | None = None,
        raw_outputs: dict[str, Any] | None = None,
        purpose: RunPurpose = "audit",
    ) -> SavedRun:
        """Store one audit: the run, its image findings, draft labels and flags, in one transaction.

        Backend names default to the readings' ``backend``; durations to ``report.timings``.
        A ``teaching`` run (a student's impression) never becomes the case's latest audit.
        Returns the run id and the flag ids in the report's flag order.
        """
        grounder = grounder or (report.image.backend if report.image else None)
        parser = parser or (report.draft.backend if report.draft else None)
        durations = dict(report.timings if durations is None else durations)
        run = {
            "case_id": case_id,
            "draft_id": draft_id,
            "mode": report.mode,
            "grounder": grounder,
            "grounder_version": grounder_version,
            "parser": parser,
            "parser_version": parser_version,
            "image_outcome": report.image.outcome.status if report.image else None,
            "draft_outcome": report.draft.outcome.status if report.draft else None,
            "durations": to_json(durations),
            "raw_outputs": to_json(raw_outputs or {}),
            "warnings": to_json(list(report.warnings)),
            "report": report.model_dump_json(),
            "created_at": now(),
            "purpose": purpose,
        }

        def write(cur: duckdb.DuckDBPyConnection) -> SavedRun:
            require_case(cur, case_id)
            run_id = insert_returning(cur, "audit_runs", run, "run_id")
            _insert_readings(cur, run_id, case_id, report)
            flag_ids = _insert_flags(cur, run_id, case_id, report)
            refresh_case(cur, case_id)
            return SavedRun(run_id=run_id, flag_ids=tuple(flag_ids))

        return self.db.transaction("save an audit run", write)

    def latest(self, case_id: str, *, draft_id: int | None = None) -> StoredAudit | None:
        """The case's most recent audit run (not a teaching run; of draft ``draft_id``, when
        given), its report rebuilt, or None when never audited."""
        of_draft = "" if draft_id is None else " AND draft_id = ?"
        params: list[object] = [case_id] if draft_id is None else [case_id, draft_id]
        row = self.db.read(
            lambda cur: cur.execute(
                f"SELECT run_id FROM audit_runs WHERE case_id = ? AND purpose = 'audit'{of_draft} "
                "ORDER BY run_id DESC LIMIT 1",
                params,
            ).fetchone()
        )
        return None if row is None else self.get(int(row[0]))

    def get(self, run_id: int) -> StoredAudit:
        def read(cur: duckdb.DuckDBPyConnection) -> StoredAudit:
            found = fetch_rows(cur, f"SELECT {_RUN_COLUMNS} FROM audit_runs WHERE run_id = ?", [run_id])
            if not found:
                raise UnknownRecordError("audit run", run_id)
            # A separate query on the flags_run index: a list() subquery is planned as a join
            # over every flag.
            flag_ids = [
                int(r[0])
                for r in cur.execute(
                    "SELECT flag_id FROM flags WHERE run_id = ? ORDER BY position", [run_id]
                ).fetchall()
            ]
            return StoredAudit.model_validate({**found[0], "flag_ids": flag_ids})

        return self.db.read(read)

    def run_ids(self, case_id: str) -> list[int]:
        """The ids of a case's audit runs (not its teaching runs), oldest first."""
        rows = self.db.read(
            lambda cur: cur.execute(
                "SELECT run_id FROM audit_runs WHERE case_id = ? AND purpose = 'audit' ORDER BY run_id",
                [case_id],
            ).fetchall()
        )
        return [int(r[0]) for r in rows]


def _insert_readings(cur: duckdb.DuckDBPyConnection, run_id: int, case_id: str, report: AuditReport) -> None:
    if report.image is not None:
        for position, f in enumerate(report.image.findings):
            cur.execute(
                "INSERT INTO image_findings (run_id, position, case_id, label, x0, y0, x1, y1, score, "
                "source, box_scale) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, position, case_id, f.label, *box_values(f.box), f.score, f.source, f.box_scale],
            )
    if report.draft is not None:
        for position, d in enumerate(report.draft.labels):
            cur.execute(
                "INSERT INTO draft_labels (run_id, position, case_id, label, status, span, span_start, "
                "span_end, side, rule_id, backend, verified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    position,
                    case_id,
                    d.label,
                    d.status,
                    d.span,
                    d.start,
                    d.end,
                    d.side,
                    d.rule_id,
                    d.backend,
                    d.verified,
                ],
            )


def _insert_flags(
    cur: duckdb.DuckDBPyConnection, run_id: int, case_id: str, report: AuditReport
) -> list[int]:
    flag_ids: list[int] = []
    for position, flag in enumerate(report.flags):
        dl = flag.draft_label
        row = {
            "run_id": run_id,
            "case_id": case_id,
            "position": position,
            "type": flag.type,
            "label": flag.label,
            **box_columns(flag.box),
            "finding_source": flag.finding.source if flag.finding else None,
            "phrase": dl.span if dl else None,
            "phrase_start": dl.start if dl else None,
            "phrase_end": dl.end if dl else None,
            "reason": flag.reason,
        }
        flag_ids.append(insert_returning(cur, "flags", row, "flag_id"))
    return flag_ids
