"""Audit runs (``store.audits``): the report, its image findings, draft labels and flags, with provenance.

The report is stored whole (JSON) and rebuilt exactly; its findings, labels and flags are
also stored as rows, so decisions refer to a flag id and SQL can count them.
"""

from __future__ import annotations

from typing import Any

import duckdb

from audit.schema import AuditReport
from data.errors import UnknownRecordError
from data.records import SavedRun, StoredAudit
from data.sql import Family, box_values, fetch_rows, now, require_case, to_json
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
    ) -> SavedRun:
        """Store one audit: the run, its image findings, draft labels and flags, in one transaction.

        Backend names default to the readings' ``backend``; durations to ``report.timings``.
        Returns the run id and the flag ids in the report's flag order.
        """
        grounder = grounder or (report.image.backend if report.image else None)
        parser = parser or (report.draft.backend if report.draft else None)
        durations = dict(report.timings if durations is None else durations)
        stamp = now()

        def write(cur: duckdb.DuckDBPyConnection) -> SavedRun:
            require_case(cur, case_id)
            row = cur.execute(
                "INSERT INTO audit_runs "
                "(case_id, draft_id, mode, grounder, grounder_version, parser, parser_version, "
                "image_outcome, draft_outcome, durations, raw_outputs, warnings, report, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING run_id",
                [
                    case_id,
                    draft_id,
                    report.mode,
                    grounder,
                    grounder_version,
                    parser,
                    parser_version,
                    report.image.outcome.status if report.image else None,
                    report.draft.outcome.status if report.draft else None,
                    to_json(durations),
                    to_json(raw_outputs or {}),
                    to_json(list(report.warnings)),
                    report.model_dump_json(),
                    stamp,
                ],
            ).fetchone()
            run_id = int(row[0]) if row else 0
            _insert_readings(cur, run_id, case_id, report)
            flag_ids = _insert_flags(cur, run_id, case_id, report)
            refresh_case(cur, case_id)
            return SavedRun(run_id=run_id, flag_ids=tuple(flag_ids))

        return self.db.transaction("save an audit run", write)

    def latest(self, case_id: str) -> StoredAudit | None:
        """The case's most recent audit run, its report rebuilt, or None when never audited."""
        row = self.db.read(
            lambda cur: cur.execute(
                "SELECT run_id FROM audit_runs WHERE case_id = ? ORDER BY run_id DESC LIMIT 1", [case_id]
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
        """The ids of a case's audit runs, oldest first."""
        rows = self.db.read(
            lambda cur: cur.execute(
                "SELECT run_id FROM audit_runs WHERE case_id = ? ORDER BY run_id", [case_id]
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
        row = cur.execute(
            "INSERT INTO flags (run_id, case_id, position, type, label, x0, y0, x1, y1, "
            "finding_source, phrase, phrase_start, phrase_end, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING flag_id",
            [
                run_id,
                case_id,
                position,
                flag.type,
                flag.label,
                *box_values(flag.box),
                flag.finding.source if flag.finding else None,
                dl.span if dl else None,
                dl.start if dl else None,
                dl.end if dl else None,
                flag.reason,
            ],
        ).fetchone()
        flag_ids.append(int(row[0]) if row else 0)
    return flag_ids
