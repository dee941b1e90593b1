"""Export reviewer feedback: one row per decision, plus one row per reviewer-drawn box.

The same table backs ``cxr-audit export`` and the app's Export page (:func:`export_bytes`).
Decisions are append-only, so every decision is exported; ``is_current`` marks the one
that counts (the ``current_decisions`` view: the latest per flag and reviewer). A database
with no decisions exports a valid, empty file (CSV: the header; Parquet: the schema; JSONL:
no lines).

Columns (``EXPORT_COLUMNS``): ``row_kind`` ("decision" or "reviewer_finding"), the case
and image, the flag (type, label, box, draft phrase, reason), the decision (decision,
reason code, note, reviewer, time), the backends and versions that produced the flag, and
the audited draft (its id, kind, ``generator``: the report generator that wrote it, author and
whole text). A reviewer box row has its current corners, ``box_status`` "drawn", "moved" or
"deleted" and when that last changed; a deleted box is exported with ``is_current`` false,
never left out.
Boxes are normalized ``[x0, y0, x1, y1]`` (image coordinates, 0–1), both as a JSON text
column ``box`` and as four numeric columns. In CSV, a text cell a spreadsheet would run as
a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) gets a leading apostrophe
(``data.spreadsheet``).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any, Literal, get_args

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from data.connection import Database
from data.errors import ExportError
from data.spreadsheet import neutralize

log = logging.getLogger(__name__)

ExportFormat = Literal["csv", "parquet", "jsonl"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
MEDIA_TYPES: dict[ExportFormat, str] = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/x-ndjson",
}

EXPORT_COLUMNS: tuple[str, ...] = (
    "row_kind",
    "decision_id",
    "case_id",
    "image_id",
    "source",
    "is_phantom",
    "run_id",
    "flag_id",
    "flag_type",
    "label",
    "box",
    "box_x0",
    "box_y0",
    "box_x1",
    "box_y1",
    "phrase",
    "flag_reason",
    "decision",
    "reason_code",
    "note",
    "reviewer",
    "decided_at",
    "is_current",
    "grounder",
    "grounder_version",
    "parser",
    "parser_version",
    "audited_at",
    "draft_id",
    "draft_kind",
    "generator",
    "draft_author",
    "draft_text",
    "box_status",
    "box_changed_at",
)


class ExportSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str | None
    format: ExportFormat
    rows: int
    decisions: int
    reviewer_findings: int


def _box_json(prefix: str) -> str:
    return (
        f"CASE WHEN {prefix}.x0 IS NULL THEN NULL ELSE to_json(["
        f"round({prefix}.x0, 4), round({prefix}.y0, 4), round({prefix}.x1, 4), round({prefix}.y1, 4)"
        "])::VARCHAR END"
    )


# The report generator that wrote the audited draft, when a generator wrote it.
_GENERATOR = "CASE WHEN dr.kind = 'generated' THEN dr.author END"


def _export_sql(reviewer: str | None, source: str | None) -> tuple[str, list[Any]]:
    """The export's rows as one query (decisions, then reviewer-drawn boxes), without an order."""
    where_d, where_r, params_d, params_r = ["true"], ["true"], [], []
    if reviewer is not None:
        where_d.append("d.reviewer = ?")
        where_r.append("rf.reviewer = ?")
        params_d.append(reviewer)
        params_r.append(reviewer)
    if source is not None:
        where_d.append("c.source = ?")
        where_r.append("c.source = ?")
        params_d.append(source)
        params_r.append(source)
    sql = f"""
        SELECT 'decision' AS row_kind, d.decision_id, d.case_id, c.image_id, c.source, c.is_phantom, d.run_id,
               d.flag_id, f.type AS flag_type, f.label, {_box_json("f")} AS box,
               f.x0 AS box_x0, f.y0 AS box_y0, f.x1 AS box_x1, f.y1 AS box_y1,
               f.phrase, f.reason AS flag_reason,
               d.decision, d.reason_code, d.note, d.reviewer, d.decided_at,
               cd.decision_id IS NOT NULL AS is_current,
               r.grounder, r.grounder_version, r.parser, r.parser_version, r.created_at AS audited_at,
               r.draft_id, dr.kind AS draft_kind, {_GENERATOR} AS generator,
               dr.author AS draft_author, dr.text AS draft_text,
               NULL AS box_status, NULL::TIMESTAMPTZ AS box_changed_at
        FROM decisions d
        LEFT JOIN current_decisions cd ON cd.decision_id = d.decision_id
        JOIN flags f ON f.flag_id = d.flag_id
        JOIN audit_runs r ON r.run_id = d.run_id
        LEFT JOIN drafts dr ON dr.draft_id = r.draft_id
        JOIN cases c ON c.case_id = d.case_id
        WHERE {" AND ".join(where_d)}
        UNION ALL
        SELECT 'reviewer_finding', NULL, rf.case_id, c.image_id, c.source, c.is_phantom, rf.run_id,
               NULL, NULL, rf.label, {_box_json("cur")}, cur.x0, cur.y0, cur.x1, cur.y1, NULL, NULL,
               NULL, NULL, rf.note, rf.reviewer, rf.created_at, gone.finding_id IS NULL,
               r.grounder, r.grounder_version, r.parser, r.parser_version, r.created_at,
               r.draft_id, dr.kind, {_GENERATOR}, dr.author, dr.text,
               CASE WHEN gone.finding_id IS NOT NULL THEN 'deleted'
                    WHEN moved.finding_id IS NOT NULL THEN 'moved' ELSE 'drawn' END,
               coalesce(gone.created_at, moved.created_at)
        FROM reviewer_findings rf
        JOIN cases c ON c.case_id = rf.case_id
        LEFT JOIN audit_runs r ON r.run_id = rf.run_id
        LEFT JOIN drafts dr ON dr.draft_id = r.draft_id
        LEFT JOIN (
            SELECT finding_id, arg_max(x0, event_id) AS x0, arg_max(y0, event_id) AS y0,
                   arg_max(x1, event_id) AS x1, arg_max(y1, event_id) AS y1, max(created_at) AS created_at
            FROM reviewer_finding_events WHERE action = 'moved' GROUP BY finding_id
        ) moved ON moved.finding_id = rf.finding_id
        LEFT JOIN (
            SELECT finding_id, min(created_at) AS created_at
            FROM reviewer_finding_events WHERE action = 'deleted' GROUP BY finding_id
        ) gone ON gone.finding_id = rf.finding_id
        CROSS JOIN LATERAL (
            SELECT coalesce(moved.x0, rf.x0) AS x0, coalesce(moved.y0, rf.y0) AS y0,
                   coalesce(moved.x1, rf.x1) AS x1, coalesce(moved.y1, rf.y1) AS y1
        ) cur
        WHERE {" AND ".join(where_r)}
    """
    return sql, [*params_d, *params_r]


_ORDER = "ORDER BY e.row_kind, e.case_id, e.decided_at, e.decision_id"
_ISO = "'%Y-%m-%dT%H:%M:%S.%fZ'"
_TIME_COLUMNS = frozenset({"decided_at", "audited_at", "box_changed_at"})


def _table(cur: duckdb.DuckDBPyConnection, reviewer: str | None, source: str | None) -> pa.Table:
    """The export as an Arrow table (columns ``EXPORT_COLUMNS``, in that order)."""
    sql, params = _export_sql(reviewer, source)
    table = cur.sql(f"SELECT * FROM ({sql}) e {_ORDER}", params=params).to_arrow_table()
    return table.select(list(EXPORT_COLUMNS))


def _jsonl_rows(
    cur: duckdb.DuckDBPyConnection, reviewer: str | None, source: str | None
) -> list[tuple[str, str]]:
    """(row kind, JSON line) per row, rendered by DuckDB; times as ISO 8601 UTC strings."""
    sql, params = _export_sql(reviewer, source)
    fields = ", ".join(
        f"{name} := strftime(e.{name} AT TIME ZONE 'UTC', {_ISO})"
        if name in _TIME_COLUMNS
        else f"{name} := e.{name}"
        for name in EXPORT_COLUMNS
    )
    query = f"SELECT e.row_kind, to_json(struct_pack({fields}))::VARCHAR FROM ({sql}) e {_ORDER}"
    return [(kind, line) for kind, line in cur.execute(query, params).fetchall()]


def export_frame(db: Database, *, reviewer: str | None = None, source: str | None = None) -> Any:
    """The export as a pandas DataFrame (columns ``EXPORT_COLUMNS``)."""
    return db.read(lambda cur: _table(cur, reviewer, source)).to_pandas()


def _render(
    cur: duckdb.DuckDBPyConnection, fmt: ExportFormat, reviewer: str | None, source: str | None
) -> tuple[bytes, ExportSummary]:
    """The export in one format, as bytes, with its counts."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    if fmt == "jsonl":
        rows = _jsonl_rows(cur, reviewer, source)
        kinds = [kind for kind, _ in rows]
        data = "".join(line + "\n" for _, line in rows).encode("utf-8")
    else:
        table = _table(cur, reviewer, source)
        kinds = table.column("row_kind").to_pylist()
        buffer = io.BytesIO()
        if fmt == "csv":
            pa_csv.write_csv(neutralize(table), buffer)
        else:
            pq.write_table(table, buffer)
        data = buffer.getvalue()
    summary = ExportSummary(
        path=None,
        format=fmt,
        rows=len(kinds),
        decisions=sum(1 for kind in kinds if kind == "decision"),
        reviewer_findings=sum(1 for kind in kinds if kind == "reviewer_finding"),
    )
    return data, summary


def write_export(
    db: Database,
    fmt: ExportFormat,
    out: str | Path,
    *,
    reviewer: str | None = None,
    source: str | None = None,
) -> ExportSummary:
    """Write the export to ``out`` (parent folders are created; a partial file never replaces it)."""
    path = Path(out)
    data, summary = db.read(lambda cur: _render(cur, fmt, reviewer, source))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from error
    log.info("exported %d rows to %s", summary.rows, path)
    return summary.model_copy(update={"path": str(path)})


def export_bytes(
    db: Database, fmt: ExportFormat, *, reviewer: str | None = None, source: str | None = None
) -> tuple[bytes, ExportSummary]:
    """The export as bytes (for the app's download button) and its summary."""
    return db.read(lambda cur: _render(cur, fmt, reviewer, source))
