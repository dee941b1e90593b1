"""The audit database's records: cases, findings, drafts, audit runs, decisions, the worklist, eval runs.

``Store`` adds the project's tables to :class:`data.connection.Database`, which holds the
concurrency design (one process-wide connection, a cursor per operation, bounded retry on
write conflicts, releasing the file when idle, a typed error naming the PID that holds it).

Every value crossing this boundary is a pydantic record (``data.records``); SQL is
parameterized throughout; every write is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from audit.protocols import AuditCase
from audit.schema import AuditReport, Box, ImageFinding
from data.connection import ENV_DB, MEMORY, Database, resolve_db_path, user_data_dir
from data.errors import StoreError, UnknownCaseError, UnknownRecordError
from data.records import (
    CaseImport,
    CaseRecord,
    CaseStatus,
    ComparisonRecord,
    DecisionKind,
    DecisionRecord,
    DraftKind,
    DraftRecord,
    EvalRunRecord,
    ExpectedFlag,
    ReasonCode,
    ReferenceFinding,
    ReviewerFinding,
    SavedRun,
    StoredAudit,
    StoreStats,
    WorklistPage,
    WorklistQuery,
)
from data.summary import note_decision, refresh_all_summaries, refresh_case, refresh_summaries


def _now() -> datetime:
    return datetime.now(UTC)


def _box_values(box: Box | None) -> tuple[float | None, float | None, float | None, float | None]:
    if box is None:
        return (None, None, None, None)
    return (box.x0, box.y0, box.x1, box.y1)


def _box_from(x0: float | None, y0: float | None, x1: float | None, y1: float | None) -> Box | None:
    if x0 is None or y0 is None or x1 is None or y1 is None:
        return None
    return Box(x0=x0, y0=y0, x1=x1, y1=y1)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _unjson(value: str | None) -> Any:
    return None if value is None else json.loads(value)


class Store(Database):
    """The audit database. Open with :meth:`Store.open` (CLI, tests) or :meth:`Store.shared` (the app)."""

    # -- cases and reference findings ----------------------------------------------------

    def upsert_case(
        self, case: CaseRecord, findings: Sequence[ReferenceFinding | ImageFinding] | None = None
    ) -> None:
        """Add or update one case; when ``findings`` is given they replace the case's reference findings."""
        refs = None if findings is None else tuple(_as_reference(f) for f in findings)
        self.upsert_cases([CaseImport(case=case, findings=refs or ())], replace_findings=findings is not None)

    def upsert_cases(self, items: Sequence[CaseImport], *, replace_findings: bool = True) -> int:
        """Add or update many cases in one transaction (bulk, Arrow-backed); returns how many.

        With ``replace_findings`` each case's reference findings become exactly the given ones,
        so importing the same files twice stores everything once.
        """
        if not items:
            return 0
        now = _now()
        cases = pa.table(
            {
                "case_id": [i.case.case_id for i in items],
                "image_id": [i.case.image_id for i in items],
                "image_path": [i.case.image_path for i in items],
                "width": pa.array([i.case.width for i in items], pa.int32()),
                "height": pa.array([i.case.height for i in items], pa.int32()),
                "source": [i.case.source for i in items],
                "view": pa.array([i.case.view for i in items], pa.string()),
                "is_phantom": [i.case.is_phantom for i in items],
                "metadata": [_json(i.case.metadata) for i in items],
            }
        )
        if len(set(cases.column("case_id").to_pylist())) != len(items):
            raise StoreError("upsert_cases was given the same case id twice")
        rows: dict[str, list[Any]] = {
            k: [] for k in ("case_id", "label", "x0", "y0", "x1", "y1", "source", "reader", "source_label")
        }
        for item in items:
            for finding in item.findings:
                x0, y0, x1, y1 = _box_values(finding.box)
                for key, value in zip(
                    rows,
                    (
                        item.case.case_id,
                        finding.label,
                        x0,
                        y0,
                        x1,
                        y1,
                        finding.source,
                        finding.reader,
                        finding.source_label,
                    ),
                    strict=True,
                ):
                    rows[key].append(value)
        findings = pa.table(
            {
                "case_id": pa.array(rows["case_id"], pa.string()),
                "label": pa.array(rows["label"], pa.string()),
                **{k: pa.array(rows[k], pa.float64()) for k in ("x0", "y0", "x1", "y1")},
                "source": pa.array(rows["source"], pa.string()),
                "reader": pa.array(rows["reader"], pa.string()),
                "source_label": pa.array(rows["source_label"], pa.string()),
            }
        )

        def write(cur: duckdb.DuckDBPyConnection) -> int:
            cur.register("incoming_cases", cases)
            cur.register("incoming_findings", findings)
            cur.execute(
                """
                INSERT INTO cases (case_id, image_id, image_path, width, height, source, view, is_phantom,
                                   metadata, created_at, updated_at)
                SELECT case_id, image_id, image_path, width, height, source, view, is_phantom,
                       metadata::JSON, $now, $now FROM incoming_cases
                ON CONFLICT (case_id) DO UPDATE SET
                    image_id = excluded.image_id, image_path = excluded.image_path, width = excluded.width,
                    height = excluded.height, source = excluded.source, view = excluded.view,
                    is_phantom = excluded.is_phantom, metadata = excluded.metadata,
                    updated_at = excluded.updated_at
                """,
                {"now": now},
            )
            if replace_findings:
                cur.execute(
                    "DELETE FROM reference_findings WHERE case_id IN (SELECT case_id FROM incoming_cases)"
                )
            cur.execute(
                """
                INSERT INTO reference_findings (case_id, label, x0, y0, x1, y1, source, reader, source_label,
                                                created_at)
                SELECT case_id, label, x0, y0, x1, y1, source, reader, source_label, $now
                FROM incoming_findings
                """,
                {"now": now},
            )
            refresh_summaries(cur, "SELECT case_id FROM incoming_cases")
            cur.unregister("incoming_cases")
            cur.unregister("incoming_findings")
            return len(items)

        return self._write("save cases", write)

    def has_case(self, case_id: str) -> bool:
        row = self._read(
            lambda cur: cur.execute("SELECT 1 FROM cases WHERE case_id = ?", [case_id]).fetchone()
        )
        return row is not None

    def existing_case_ids(self, case_ids: Sequence[str] | None = None) -> set[str]:
        """Which of ``case_ids`` (or all, when None) are stored."""

        def read(cur: duckdb.DuckDBPyConnection) -> set[str]:
            if case_ids is None:
                return {r[0] for r in cur.execute("SELECT case_id FROM cases").fetchall()}
            cur.register("wanted", pa.table({"case_id": pa.array(list(case_ids), pa.string())}))
            found = {
                r[0] for r in cur.execute("SELECT case_id FROM cases JOIN wanted USING (case_id)").fetchall()
            }
            cur.unregister("wanted")
            return found

        return self._read(read)

    def case_sources(self, case_ids: Sequence[str]) -> dict[str, str]:
        """The source dataset of each of ``case_ids`` that is stored."""

        def read(cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
            cur.register("wanted", pa.table({"case_id": pa.array(list(case_ids), pa.string())}))
            rows = cur.execute(
                "SELECT c.case_id, c.source FROM cases c JOIN wanted USING (case_id)"
            ).fetchall()
            cur.unregister("wanted")
            return {r[0]: r[1] for r in rows}

        return self._read(read)

    def count_cases(self, *, phantoms: bool | None = None) -> int:
        sql = "SELECT count(*) FROM cases"
        params: list[Any] = []
        if phantoms is not None:
            sql += " WHERE is_phantom = ?"
            params.append(phantoms)
        row = self._read(lambda cur: cur.execute(sql, params).fetchone())
        return int(row[0]) if row else 0

    def get_case(self, case_id: str) -> CaseRecord:
        row = self._read(
            lambda cur: cur.execute(
                f"SELECT {_CASE_COLUMNS} FROM cases WHERE case_id = ?",
                [case_id],
            ).fetchone()
        )
        if row is None:
            raise UnknownCaseError(case_id)
        return _case_from_row(row)

    def cases(self, *, source: str | None = None, phantoms: bool | None = None) -> list[CaseRecord]:
        """Every stored case (optionally of one source, or only phantoms / only real images), by id."""
        where, params = ["true"], []
        if source is not None:
            where.append("source = ?")
            params.append(source)
        if phantoms is not None:
            where.append("is_phantom = ?")
            params.append(phantoms)
        rows = self._read(
            lambda cur: cur.execute(
                f"SELECT {_CASE_COLUMNS} FROM cases WHERE {' AND '.join(where)} ORDER BY case_id",
                params,
            ).fetchall()
        )
        return [_case_from_row(r) for r in rows]

    def list_sources(self) -> list[str]:
        rows = self._read(
            lambda cur: cur.execute("SELECT DISTINCT source FROM cases ORDER BY source").fetchall()
        )
        return [r[0] for r in rows]

    def reference_findings(self, case_id: str) -> list[ReferenceFinding]:
        """The case's expert findings, in the order they were stored."""
        rows = self._read(
            lambda cur: cur.execute(
                "SELECT finding_id, label, x0, y0, x1, y1, source, reader, source_label "
                "FROM reference_findings "
                "WHERE case_id = ? ORDER BY finding_id",
                [case_id],
            ).fetchall()
        )
        return [
            ReferenceFinding(
                finding_id=r[0],
                label=r[1],
                box=_box_from(*r[2:6]),
                source=r[6],
                reader=r[7],
                source_label=r[8],
            )
            for r in rows
        ]

    def add_reference_findings(
        self, case_id: str, findings: Sequence[ReferenceFinding | ImageFinding]
    ) -> list[int]:
        """Append reference findings to a stored case; returns their ids."""
        refs = [_as_reference(f) for f in findings]

        def write(cur: duckdb.DuckDBPyConnection) -> list[int]:
            _require_case(cur, case_id)
            ids = []
            for ref in refs:
                row = cur.execute(
                    "INSERT INTO reference_findings "
                    "(case_id, label, x0, y0, x1, y1, source, reader, source_label, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING finding_id",
                    [
                        case_id,
                        ref.label,
                        *_box_values(ref.box),
                        ref.source,
                        ref.reader,
                        ref.source_label,
                        _now(),
                    ],
                ).fetchone()
                ids.append(int(row[0]) if row else 0)
            refresh_case(cur, case_id)
            return ids

        return self._write("save reference findings", write)

    # -- drafts ----------------------------------------------------------------------------

    def add_draft(
        self,
        case_id: str,
        text: str,
        *,
        kind: DraftKind = "human",
        author: str | None = None,
        corruption: str | None = None,
        corruption_label: str | None = None,
        expected_flags: Sequence[ExpectedFlag] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> int:
        """Store a draft impression for a case; returns its id."""
        record = DraftRecord(
            draft_id=0,
            case_id=case_id,
            text=text,
            kind=kind,
            author=author,
            corruption=corruption,
            corruption_label=corruption_label,  # type: ignore[arg-type]
            expected_flags=tuple(expected_flags) if expected_flags is not None else None,
            metadata=metadata or {},
            created_at=_now(),
        )
        expected = (
            None
            if record.expected_flags is None
            else json.dumps([f.model_dump(exclude_none=True) for f in record.expected_flags])
        )

        def write(cur: duckdb.DuckDBPyConnection) -> int:
            _require_case(cur, case_id)
            row = cur.execute(
                "INSERT INTO drafts "
                "(case_id, text, kind, author, corruption, corruption_label, expected_flags, "
                "metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING draft_id",
                [
                    case_id,
                    record.text,
                    record.kind,
                    record.author,
                    record.corruption,
                    record.corruption_label,
                    expected,
                    _json(record.metadata),
                    record.created_at,
                ],
            ).fetchone()
            return int(row[0]) if row else 0

        return self._write("save a draft", write)

    def drafts(
        self, case_id: str, *, kind: DraftKind | None = None, author: str | None = None
    ) -> list[DraftRecord]:
        """The case's drafts, oldest first, optionally only of one kind or author."""
        sql = f"SELECT {_DRAFT_COLUMNS} FROM drafts WHERE case_id = ?"
        params: list[Any] = [case_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if author is not None:
            sql += " AND author = ?"
            params.append(author)
        rows = self._read(lambda cur: cur.execute(sql + " ORDER BY draft_id", params).fetchall())
        return [_draft_from_row(r) for r in rows]

    def get_draft(self, draft_id: int) -> DraftRecord:
        row = self._read(
            lambda cur: cur.execute(
                f"SELECT {_DRAFT_COLUMNS} FROM drafts WHERE draft_id = ?",
                [draft_id],
            ).fetchone()
        )
        if row is None:
            raise UnknownRecordError("draft", draft_id)
        return _draft_from_row(row)

    def default_draft(self, case_id: str) -> DraftRecord | None:
        """The draft a case is audited against by default: its latest human draft, else its first draft."""
        drafts = [d for d in self.drafts(case_id) if d.kind != "student"]
        human = [d for d in drafts if d.kind == "human"]
        if human:
            return human[-1]
        return drafts[0] if drafts else None

    def audit_case(self, case_id: str, draft_id: int | None = None) -> AuditCase:
        """The case as the pipeline sees it: draft text, image size, reference findings, lazy image loader.

        ``draft_id`` None means :meth:`default_draft`; a case with no draft gets an empty draft.
        """
        case = self.get_case(case_id)
        if draft_id is not None:
            draft = self.get_draft(draft_id)
            if draft.case_id != case_id:
                raise StoreError(f"draft {draft_id} belongs to case {draft.case_id!r}, not {case_id!r}")
        else:
            draft = self.default_draft(case_id)
        reference = tuple(f.to_image_finding() for f in self.reference_findings(case_id))
        loader = None
        if case.image_path is not None:
            loader = partial(_load_pixels, case.image_path)
        return AuditCase(
            case_id=case_id,
            draft=draft.text if draft is not None else "",
            image_size=case.image_size,
            reference=reference,
            load_image=loader,
            image_path=case.image_path,
        )

    # -- audit runs ------------------------------------------------------------------------

    def save_audit_run(
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
        now = _now()

        def write(cur: duckdb.DuckDBPyConnection) -> SavedRun:
            _require_case(cur, case_id)
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
                    _json(durations),
                    _json(raw_outputs or {}),
                    _json(list(report.warnings)),
                    report.model_dump_json(),
                    now,
                ],
            ).fetchone()
            run_id = int(row[0]) if row else 0
            if report.image is not None:
                for position, f in enumerate(report.image.findings):
                    cur.execute(
                        "INSERT INTO image_findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            run_id,
                            position,
                            case_id,
                            f.label,
                            *_box_values(f.box),
                            f.score,
                            f.source,
                            f.box_scale,
                        ],
                    )
            if report.draft is not None:
                for position, d in enumerate(report.draft.labels):
                    cur.execute(
                        "INSERT INTO draft_labels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            flag_ids: list[int] = []
            for position, flag in enumerate(report.flags):
                dl = flag.draft_label
                frow = cur.execute(
                    "INSERT INTO flags (run_id, case_id, position, type, label, x0, y0, x1, y1, "
                    "finding_source, phrase, phrase_start, phrase_end, reason) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "RETURNING flag_id",
                    [
                        run_id,
                        case_id,
                        position,
                        flag.type,
                        flag.label,
                        *_box_values(flag.box),
                        flag.finding.source if flag.finding else None,
                        dl.span if dl else None,
                        dl.start if dl else None,
                        dl.end if dl else None,
                        flag.reason,
                    ],
                ).fetchone()
                flag_ids.append(int(frow[0]) if frow else 0)
            refresh_case(cur, case_id)
            return SavedRun(run_id=run_id, flag_ids=tuple(flag_ids))

        return self._write("save an audit run", write)

    def latest_audit(self, case_id: str) -> StoredAudit | None:
        """The case's most recent audit run, its report rebuilt, or None when never audited."""
        row = self._read(
            lambda cur: cur.execute(
                "SELECT run_id FROM audit_runs WHERE case_id = ? ORDER BY run_id DESC LIMIT 1", [case_id]
            ).fetchone()
        )
        return None if row is None else self.get_audit(int(row[0]))

    def get_audit(self, run_id: int) -> StoredAudit:
        def read(cur: duckdb.DuckDBPyConnection) -> StoredAudit:
            row = cur.execute(
                "SELECT run_id, case_id, draft_id, report, grounder, grounder_version, parser, "
                "parser_version, "
                "durations, raw_outputs, created_at FROM audit_runs WHERE run_id = ?",
                [run_id],
            ).fetchone()
            if row is None:
                raise UnknownRecordError("audit run", run_id)
            flag_ids = [
                int(r[0])
                for r in cur.execute(
                    "SELECT flag_id FROM flags WHERE run_id = ? ORDER BY position", [run_id]
                ).fetchall()
            ]
            return StoredAudit(
                run_id=row[0],
                case_id=row[1],
                draft_id=row[2],
                report=AuditReport.model_validate_json(row[3]),
                flag_ids=tuple(flag_ids),
                grounder=row[4],
                grounder_version=row[5],
                parser=row[6],
                parser_version=row[7],
                durations=_unjson(row[8]) or {},
                raw_outputs=_unjson(row[9]) or {},
                created_at=row[10],
            )

        return self._read(read)

    def audit_runs(self, case_id: str) -> list[int]:
        """The ids of a case's audit runs, oldest first."""
        rows = self._read(
            lambda cur: cur.execute(
                "SELECT run_id FROM audit_runs WHERE case_id = ? ORDER BY run_id", [case_id]
            ).fetchall()
        )
        return [int(r[0]) for r in rows]

    # -- decisions, case reviews, reviewer findings ----------------------------------------

    def record_decision(
        self,
        flag_id: int,
        reviewer: str,
        decision: DecisionKind,
        *,
        reason_code: ReasonCode | None = None,
        note: str | None = None,
    ) -> DecisionRecord:
        """Append one decision on a flag (accept or dismiss); the newest per flag and reviewer counts.

        Retried on write conflicts (two reviewers deciding in one case at once).
        """
        reviewer = reviewer.strip()
        if not reviewer:
            raise StoreError("a decision needs a reviewer name")
        draft = DecisionRecord(
            decision_id=0,
            flag_id=flag_id,
            run_id=0,
            case_id="?",
            reviewer=reviewer,
            decision=decision,
            reason_code=reason_code,
            note=(note or "").strip() or None,
            decided_at=_now(),
        )

        def write(cur: duckdb.DuckDBPyConnection) -> DecisionRecord:
            found = cur.execute("SELECT run_id, case_id FROM flags WHERE flag_id = ?", [flag_id]).fetchone()
            if found is None:
                raise UnknownRecordError("flag", flag_id)
            first = cur.execute("SELECT count(*) FROM decisions WHERE flag_id = ?", [flag_id]).fetchone()
            decided_at = _now()
            row = cur.execute(
                "INSERT INTO decisions "
                "(flag_id, run_id, case_id, reviewer, decision, reason_code, note, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING decision_id",
                [flag_id, found[0], found[1], reviewer, decision, reason_code, draft.note, decided_at],
            ).fetchone()
            newly_decided = first is not None and int(first[0]) == 0
            note_decision(cur, found[1], int(found[0]), newly_decided, reviewer, decided_at)
            return draft.model_copy(
                update={
                    "decision_id": int(row[0]) if row else 0,
                    "run_id": int(found[0]),
                    "case_id": found[1],
                    "decided_at": decided_at,
                }
            )

        return self._write("record a decision", write)

    def current_decisions(
        self, *, case_id: str | None = None, run_id: int | None = None, reviewer: str | None = None
    ) -> dict[tuple[int, str], DecisionRecord]:
        """The current (latest) decision per (flag id, reviewer), for a case, a run, or everything."""
        where, params = ["true"], []
        for column, value in (("case_id", case_id), ("run_id", run_id), ("reviewer", reviewer)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        rows = self._read(
            lambda cur: cur.execute(
                f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE {' AND '.join(where)} "
                "QUALIFY row_number() OVER (PARTITION BY flag_id, reviewer ORDER BY decision_id DESC) = 1 "
                "ORDER BY flag_id, reviewer",
                params,
            ).fetchall()
        )
        return {(r[1], r[4]): _decision_from_row(r) for r in rows}

    def current_decision(self, flag_id: int, reviewer: str) -> DecisionRecord | None:
        row = self._read(
            lambda cur: cur.execute(
                f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE flag_id = ? AND reviewer = ? "
                "ORDER BY decision_id DESC LIMIT 1",
                [flag_id, reviewer],
            ).fetchone()
        )
        return None if row is None else _decision_from_row(row)

    def decision_history(self, flag_id: int) -> list[DecisionRecord]:
        """Every decision ever recorded on a flag, oldest first."""
        rows = self._read(
            lambda cur: cur.execute(
                f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE flag_id = ? ORDER BY decision_id", [flag_id]
            ).fetchall()
        )
        return [_decision_from_row(r) for r in rows]

    def mark_case_reviewed(self, case_id: str, reviewer: str) -> None:
        """Record that a reviewer finished a case (needed for cases whose audit has no flags)."""

        def write(cur: duckdb.DuckDBPyConnection) -> None:
            _require_case(cur, case_id)
            run = cur.execute("SELECT max(run_id) FROM audit_runs WHERE case_id = ?", [case_id]).fetchone()
            cur.execute(
                "INSERT INTO case_reviews VALUES (?, ?, ?, ?)",
                [case_id, reviewer, run[0] if run else None, _now()],
            )
            refresh_case(cur, case_id)

        self._write("mark a case reviewed", write)

    def add_reviewer_finding(
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
            note=note,
            created_at=_now(),
        )

        def write(cur: duckdb.DuckDBPyConnection) -> ReviewerFinding:
            _require_case(cur, case_id)
            row = cur.execute(
                "INSERT INTO reviewer_findings "
                "(case_id, run_id, reviewer, label, x0, y0, x1, y1, note, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING finding_id",
                [case_id, run_id, reviewer, record.label, *_box_values(box), note, record.created_at],
            ).fetchone()
            return record.model_copy(update={"finding_id": int(row[0]) if row else 0})

        return self._write("save a reviewer finding", write)

    def reviewer_findings(self, case_id: str, reviewer: str | None = None) -> list[ReviewerFinding]:
        sql = (
            "SELECT finding_id, case_id, run_id, reviewer, label, x0, y0, x1, y1, note, created_at "
            "FROM reviewer_findings WHERE case_id = ?"
        )
        params: list[Any] = [case_id]
        if reviewer is not None:
            sql += " AND reviewer = ?"
            params.append(reviewer)
        rows = self._read(lambda cur: cur.execute(sql + " ORDER BY finding_id", params).fetchall())
        return [
            ReviewerFinding(
                finding_id=r[0],
                case_id=r[1],
                run_id=r[2],
                reviewer=r[3],
                label=r[4],
                box=Box(x0=r[5], y0=r[6], x1=r[7], y1=r[8]),
                note=r[9],
                created_at=r[10],
            )
            for r in rows
        ]

    # -- worklist --------------------------------------------------------------------------

    def worklist(self, query: WorklistQuery | None = None) -> WorklistPage:
        """One page of the worklist with totals, flag counts per type and progress."""
        from data.worklist import run_worklist_query

        return self._read(lambda cur: run_worklist_query(cur, query or WorklistQuery()))

    def case_status(self, case_id: str) -> CaseStatus:
        row = self._read(
            lambda cur: cur.execute("SELECT status FROM case_summary WHERE case_id = ?", [case_id]).fetchone()
        )
        if row is None:
            raise UnknownCaseError(case_id)
        status: CaseStatus = row[0]
        return status

    def neighbour_case(self, case_id: str, query: WorklistQuery | None = None, step: int = 1) -> str | None:
        """The case ``step`` places after (negative: before) ``case_id`` in the worklist's order."""
        from data.worklist import neighbour

        return self._read(lambda cur: neighbour(cur, query or WorklistQuery(), case_id, step))

    # -- evaluation runs -------------------------------------------------------------------

    def save_eval_run(
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
                    _now(),
                    grounder,
                    parser,
                    seed,
                    n_items,
                    n_scored,
                    n_failed,
                    _json(summary),
                    _json(config),
                    out_dir,
                    note,
                ],
            ).fetchone()
            return int(row[0]) if row else 0

        return self._write("save an eval run", write)

    def eval_runs(self) -> list[EvalRunRecord]:
        """Every stored eval run, newest first."""
        rows = self._read(
            lambda cur: cur.execute(
                "SELECT eval_id, created_at, grounder, parser, seed, n_items, n_scored, n_failed, summary, "
                "config, "
                "out_dir, note FROM eval_runs ORDER BY eval_id DESC"
            ).fetchall()
        )
        return [
            EvalRunRecord(
                eval_id=r[0],
                created_at=r[1],
                grounder=r[2],
                parser=r[3],
                seed=r[4],
                n_items=r[5],
                n_scored=r[6],
                n_failed=r[7],
                summary=_unjson(r[8]) or {},
                config=_unjson(r[9]),
                out_dir=r[10],
                note=r[11],
            )
            for r in rows
        ]

    def save_comparison(
        self,
        *,
        runs: Sequence[str],
        n_cases: int,
        comparison: dict[str, Any],
        out_dir: str | None,
        note: str | None,
    ) -> int:
        """Store one ``cxr-audit compare-grounders`` result (its ``comparison.json``)."""

        def write(cur: duckdb.DuckDBPyConnection) -> int:
            row = cur.execute(
                "INSERT INTO grounder_comparisons (created_at, runs, n_cases, comparison, out_dir, note) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING comparison_id",
                [_now(), ",".join(runs), n_cases, _json(comparison), out_dir, note],
            ).fetchone()
            return int(row[0]) if row else 0

        return self._write("save a grounder comparison", write)

    def comparisons(self) -> list[ComparisonRecord]:
        """Every stored grounder comparison, newest first."""
        rows = self._read(
            lambda cur: cur.execute(
                "SELECT comparison_id, created_at, runs, n_cases, comparison, out_dir, note "
                "FROM grounder_comparisons ORDER BY comparison_id DESC"
            ).fetchall()
        )
        return [
            ComparisonRecord(
                comparison_id=r[0],
                created_at=r[1],
                runs=tuple(r[2].split(",")),
                n_cases=r[3],
                comparison=_unjson(r[4]) or {},
                out_dir=r[5],
                note=r[6],
            )
            for r in rows
        ]

    # -- export and stats ------------------------------------------------------------------

    def export_decisions(self, *, reviewer: str | None = None, source: str | None = None) -> Any:
        """One row per decision (with flag, case and backends) plus reviewer-drawn boxes, as a DataFrame."""
        from data.export import decisions_frame

        return self._read(lambda cur: decisions_frame(cur, reviewer=reviewer, source=source))

    def stats(self) -> StoreStats:
        def read(cur: duckdb.DuckDBPyConnection) -> StoreStats:
            counts = {}
            for table in (
                "cases",
                "reference_findings",
                "drafts",
                "audit_runs",
                "flags",
                "decisions",
                "reviewer_findings",
                "eval_runs",
            ):
                row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()  # table names are constants
                counts[table] = int(row[0]) if row else 0
            row = cur.execute("SELECT count(*) FROM cases WHERE is_phantom").fetchone()
            return StoreStats(phantoms=int(row[0]) if row else 0, **counts)

        return self._read(read)


# Each column list is in the order its ``_..._from_row`` reads it.
_CASE_COLUMNS = (
    "case_id, image_id, image_path, width, height, source, view, is_phantom, metadata, created_at, updated_at"
)
_DRAFT_COLUMNS = (
    "draft_id, case_id, text, kind, author, corruption, corruption_label, expected_flags, metadata, "
    "created_at"
)
_DECISION_COLUMNS = "decision_id, flag_id, run_id, case_id, reviewer, decision, reason_code, note, decided_at"


def _load_pixels(path: str) -> np.ndarray:
    from data.images import load_image

    return load_image(path).pixels


def _as_reference(finding: ReferenceFinding | ImageFinding) -> ReferenceFinding:
    if isinstance(finding, ReferenceFinding):
        return finding
    return ReferenceFinding.from_image_finding(finding)


def _require_case(cur: duckdb.DuckDBPyConnection, case_id: str) -> None:
    if cur.execute("SELECT 1 FROM cases WHERE case_id = ?", [case_id]).fetchone() is None:
        raise UnknownCaseError(case_id)


def _case_from_row(row: tuple[Any, ...]) -> CaseRecord:
    return CaseRecord(
        case_id=row[0],
        image_id=row[1],
        image_path=row[2],
        width=row[3],
        height=row[4],
        source=row[5],
        view=row[6],
        is_phantom=row[7],
        metadata=_unjson(row[8]) or {},
        created_at=row[9],
        updated_at=row[10],
    )


def _draft_from_row(row: tuple[Any, ...]) -> DraftRecord:
    expected = _unjson(row[7])
    return DraftRecord(
        draft_id=row[0],
        case_id=row[1],
        text=row[2],
        kind=row[3],
        author=row[4],
        corruption=row[5],
        corruption_label=row[6],
        expected_flags=None if expected is None else tuple(ExpectedFlag.model_validate(e) for e in expected),
        metadata=_unjson(row[8]) or {},
        created_at=row[9],
    )


def _decision_from_row(row: tuple[Any, ...]) -> DecisionRecord:
    return DecisionRecord(
        decision_id=row[0],
        flag_id=row[1],
        run_id=row[2],
        case_id=row[3],
        reviewer=row[4],
        decision=row[5],
        reason_code=row[6],
        note=row[7],
        decided_at=row[8],
    )


__all__ = [
    "ENV_DB",
    "MEMORY",
    "Store",
    "refresh_all_summaries",
    "resolve_db_path",
    "user_data_dir",
]
