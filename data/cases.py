"""Cases and their reference findings (``store.cases``), and the case as the pipeline sees it.

Importing the same files twice stores everything once: an upsert replaces a case's row and,
with its findings given, exactly its reference findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from audit.protocols import AuditCase
from audit.schema import ImageFinding
from data.drafts import Drafts
from data.errors import StoreError, UnknownCaseError
from data.records import CaseImport, CaseRecord, DraftRecord, ReferenceFinding
from data.sql import Family, box_sql, box_values, fetch_record, fetch_records, now, to_json
from data.summary import refresh_summaries

_CASE_COLUMNS = (
    "case_id, image_id, image_path, width, height, source, view, is_phantom, "
    "coalesce(metadata, '{}') AS metadata, created_at, updated_at"
)


class Cases(Family):
    def upsert(
        self, case: CaseRecord, findings: Sequence[ReferenceFinding | ImageFinding] | None = None
    ) -> None:
        """Add or update one case; when ``findings`` is given they replace the case's reference findings."""
        refs = None if findings is None else tuple(_as_reference(f) for f in findings)
        self.upsert_many([CaseImport(case=case, findings=refs or ())], replace_findings=findings is not None)

    def upsert_many(self, items: Sequence[CaseImport], *, replace_findings: bool = True) -> int:
        """Add or update many cases in one transaction (bulk, Arrow-backed); returns how many.

        With ``replace_findings`` each case's reference findings become exactly the given ones.
        """
        if not items:
            return 0
        cases = _cases_table(items)
        if len(set(cases.column("case_id").to_pylist())) != len(items):
            raise StoreError("upsert_many was given the same case id twice")
        findings = _findings_table(items)
        stamp = now()

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
                {"now": stamp},
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
                {"now": stamp},
            )
            refresh_summaries(cur, "SELECT case_id FROM incoming_cases")
            cur.unregister("incoming_cases")
            cur.unregister("incoming_findings")
            return len(items)

        return self.db.transaction("save cases", write)

    def existing_ids(self, case_ids: Sequence[str] | None = None) -> set[str]:
        """Which of ``case_ids`` (or all, when None) are stored."""

        def read(cur: duckdb.DuckDBPyConnection) -> set[str]:
            if case_ids is None:
                return {r[0] for r in cur.execute("SELECT case_id FROM cases").fetchall()}
            return {
                r[0] for r in _wanted(cur, case_ids, "SELECT case_id FROM cases JOIN wanted USING (case_id)")
            }

        return self.db.read(read)

    def sources_of(self, case_ids: Sequence[str]) -> dict[str, str]:
        """The source dataset of each of ``case_ids`` that is stored."""
        sql = "SELECT case_id, source FROM cases JOIN wanted USING (case_id)"
        return {r[0]: r[1] for r in self.db.read(lambda cur: _wanted(cur, case_ids, sql))}

    def count(self, *, phantoms: bool | None = None) -> int:
        sql = "SELECT count(*) FROM cases"
        params: list[Any] = []
        if phantoms is not None:
            sql += " WHERE is_phantom = ?"
            params.append(phantoms)
        row = self.db.read(lambda cur: cur.execute(sql, params).fetchone())
        return int(row[0]) if row else 0

    def get(self, case_id: str) -> CaseRecord:
        found = self.db.read(
            lambda cur: fetch_record(
                cur, f"SELECT {_CASE_COLUMNS} FROM cases WHERE case_id = ?", [case_id], CaseRecord
            )
        )
        if found is None:
            raise UnknownCaseError(case_id)
        return found

    def where(self, *, source: str | None = None, phantoms: bool | None = None) -> list[CaseRecord]:
        """Every stored case (optionally of one source, or only phantoms / only real images), by id."""
        where: list[str] = ["true"]
        params: list[Any] = []
        if source is not None:
            where.append("source = ?")
            params.append(source)
        if phantoms is not None:
            where.append("is_phantom = ?")
            params.append(phantoms)
        sql = f"SELECT {_CASE_COLUMNS} FROM cases WHERE {' AND '.join(where)} ORDER BY case_id"
        return self.db.read(lambda cur: fetch_records(cur, sql, params, CaseRecord))

    def sources(self) -> list[str]:
        rows = self.db.read(
            lambda cur: cur.execute("SELECT DISTINCT source FROM cases ORDER BY source").fetchall()
        )
        return [r[0] for r in rows]

    def reference_findings(self, case_id: str) -> list[ReferenceFinding]:
        """The case's expert findings, in the order they were stored."""
        sql = (
            f"SELECT finding_id, label, {box_sql()}, source, reader, source_label "
            "FROM reference_findings WHERE case_id = ? ORDER BY finding_id"
        )
        return self.db.read(lambda cur: fetch_records(cur, sql, [case_id], ReferenceFinding))

    def audit_case(self, case_id: str, draft_id: int | None = None) -> AuditCase:
        """The case as the pipeline sees it: draft text, image size, reference findings, lazy image loader.

        ``draft_id`` None means the default draft (``Drafts.default``); a case with no draft gets
        an empty draft.
        """
        case = self.get(case_id)
        drafts = Drafts(self.db)
        draft: DraftRecord | None
        if draft_id is not None:
            draft = drafts.get(draft_id)
            if draft.case_id != case_id:
                raise StoreError(f"draft {draft_id} belongs to case {draft.case_id!r}, not {case_id!r}")
        else:
            draft = drafts.default(case_id)
        reference = tuple(f.to_image_finding() for f in self.reference_findings(case_id))
        return AuditCase(
            case_id=case_id,
            draft=draft.text if draft is not None else "",
            image_size=case.image_size,
            reference=reference,
            load_image=None if case.image_path is None else partial(_load_pixels, case.image_path),
            image_path=case.image_path,
        )


def _wanted(cur: duckdb.DuckDBPyConnection, case_ids: Sequence[str], sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql``, which joins the ``wanted`` table of ``case_ids``."""
    cur.register("wanted", pa.table({"case_id": pa.array(list(case_ids), pa.string())}))
    rows = cur.execute(sql).fetchall()
    cur.unregister("wanted")
    return rows


def _cases_table(items: Sequence[CaseImport]) -> pa.Table:
    return pa.table(
        {
            "case_id": [i.case.case_id for i in items],
            "image_id": [i.case.image_id for i in items],
            "image_path": [i.case.image_path for i in items],
            "width": pa.array([i.case.width for i in items], pa.int32()),
            "height": pa.array([i.case.height for i in items], pa.int32()),
            "source": [i.case.source for i in items],
            "view": pa.array([i.case.view for i in items], pa.string()),
            "is_phantom": [i.case.is_phantom for i in items],
            "metadata": [to_json(i.case.metadata) for i in items],
        }
    )


def _findings_table(items: Sequence[CaseImport]) -> pa.Table:
    columns: dict[str, list[Any]] = {
        k: [] for k in ("case_id", "label", "x0", "y0", "x1", "y1", "source", "reader", "source_label")
    }
    for item in items:
        for finding in item.findings:
            values = (
                item.case.case_id,
                finding.label,
                *box_values(finding.box),
                finding.source,
                finding.reader,
                finding.source_label,
            )
            for key, value in zip(columns, values, strict=True):
                columns[key].append(value)
    strings = ("case_id", "label", "source", "reader", "source_label")
    return pa.table(
        {
            **{k: pa.array(columns[k], pa.string()) for k in strings[:2]},
            **{k: pa.array(columns[k], pa.float64()) for k in ("x0", "y0", "x1", "y1")},
            **{k: pa.array(columns[k], pa.string()) for k in strings[2:]},
        }
    )


def _load_pixels(path: str) -> np.ndarray:
    from data.images import load_image

    return load_image(path).pixels


def _as_reference(finding: ReferenceFinding | ImageFinding) -> ReferenceFinding:
    if isinstance(finding, ReferenceFinding):
        return finding
    return ReferenceFinding.from_image_finding(finding)
