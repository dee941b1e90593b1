"""The worklist query: filters, a stable sort, pagination, flag counts and progress.

It reads only ``case_summary`` (one row per case with everything the list shows, kept
current by every write), so a page costs two scans of one table, never a join with flags.

Sorts are stable under review: deciding a flag never moves a case, so Previous/Next walk
the same order the reviewer saw.
"""

from __future__ import annotations

from typing import Any

import duckdb

from audit.schema import FLAG_TYPES, FlagType
from data.records import CaseStatus, Progress, WorklistPage, WorklistQuery, WorklistRow, WorklistSort

_FLAG_COLUMNS: dict[FlagType, str] = {
    "URGENT": "n_urgent",
    "MISSING": "n_missing",
    "LATERALITY": "n_laterality",
    "UNSUPPORTED": "n_unsupported",
}

# Sort keys, as (expression, direction); the last key is unique, so the order is total.
_SORT_KEYS: dict[WorklistSort, tuple[tuple[str, str], ...]] = {
    "urgent": (("n_urgent > 0", "DESC"), ("n_flags > 0", "DESC"), ("case_id", "ASC")),
    "case_id": (("case_id", "ASC"),),
    "recent": (("audited_at", "DESC NULLS LAST"), ("case_id", "ASC")),
}


def _order(sort: WorklistSort, *, aliased: bool) -> str:
    """ORDER BY over case_summary's columns, or over the ``k0, k1, …`` aliases a page carries."""
    keys = _SORT_KEYS[sort]
    return ", ".join(
        f"{f'k{i}' if aliased else expr} {direction}" for i, (expr, direction) in enumerate(keys)
    )


def _keys(sort: WorklistSort) -> str:
    return ", ".join(f"{expr} AS k{i}" for i, (expr, _) in enumerate(_SORT_KEYS[sort]))


_COLUMNS = (
    "s.case_id, s.image_id, s.source, s.view, s.is_phantom, s.status, s.latest_run_id, s.audited_at, "
    "s.n_flags, s.n_urgent, s.n_missing, s.n_laterality, s.n_unsupported, s.n_decided, s.labels, "
    "s.reviewers, s.last_decision_at"
)


def _filters(query: WorklistQuery, *, with_status: bool) -> tuple[str, list[Any]]:
    clauses: list[str] = ["true"]
    params: list[Any] = []
    if with_status and query.status is not None:
        clauses.append("status = ?")
        params.append(query.status)
    if query.label is not None:
        clauses.append("list_contains(labels, ?)")
        params.append(query.label)
    if query.flag_type is not None:
        clauses.append(f"{_FLAG_COLUMNS[query.flag_type]} > 0")  # column name from a constant table
    if query.source is not None:
        clauses.append("source = ?")
        params.append(query.source)
    if query.reviewer is not None:
        clauses.append("list_contains(reviewers, ?)")
        params.append(query.reviewer)
    if query.phantoms is not None:
        clauses.append("is_phantom = ?")
        params.append(query.phantoms)
    if query.search is not None and query.search.strip():
        clauses.append("contains(search_key, ?)")
        params.append(query.search.strip().lower())
    return " AND ".join(clauses), params


def run_worklist_query(cur: duckdb.DuckDBPyConnection, query: WorklistQuery) -> WorklistPage:
    where, params = _filters(query, with_status=True)
    # Sort only the keys, then fetch the page's 50 rows whole (late materialization).
    rows = cur.execute(
        f"""
        WITH page AS (
            SELECT case_id, {_keys(query.sort)} FROM case_summary WHERE {where}
            ORDER BY {_order(query.sort, aliased=False)} LIMIT ? OFFSET ?
        )
        SELECT {_COLUMNS} FROM page JOIN case_summary s USING (case_id)
        ORDER BY {_order(query.sort, aliased=True)}
        """,
        [*params, query.page_size, query.page * query.page_size],
    ).fetchall()

    base_where, base_params = _filters(query, with_status=False)
    status_cond = "true" if query.status is None else "status = ?"
    status_params: list[Any] = [] if query.status is None else [query.status]
    sums = ", ".join(
        f"coalesce(sum({column}) FILTER (WHERE {status_cond}), 0)" for column in _FLAG_COLUMNS.values()
    )
    aggregate = cur.execute(
        f"""
        SELECT count(*),
               count(*) FILTER (WHERE status = 'not_audited'),
               count(*) FILTER (WHERE status = 'audited'),
               count(*) FILTER (WHERE status = 'reviewed'),
               count(*) FILTER (WHERE {status_cond}),
               {sums}
        FROM case_summary WHERE {base_where}
        """,
        [*status_params, *([*status_params] * len(_FLAG_COLUMNS)), *base_params],
    ).fetchone()
    assert aggregate is not None  # an aggregate without GROUP BY always returns one row
    progress = Progress(
        total=int(aggregate[0]),
        not_audited=int(aggregate[1]),
        audited=int(aggregate[2]),
        reviewed=int(aggregate[3]),
    )
    flag_counts = {flag_type: int(aggregate[5 + i]) for i, flag_type in enumerate(FLAG_TYPES)}
    return WorklistPage(
        rows=tuple(_row(r) for r in rows),
        total=int(aggregate[4]),
        page=query.page,
        page_size=query.page_size,
        flag_counts=flag_counts,
        progress=progress,
    )


def _row(r: tuple[Any, ...]) -> WorklistRow:
    status: CaseStatus = r[5]
    return WorklistRow(
        case_id=r[0],
        image_id=r[1],
        source=r[2],
        view=r[3],
        is_phantom=r[4],
        status=status,
        latest_run_id=r[6],
        audited_at=r[7],
        n_flags=r[8],
        flag_counts={"URGENT": r[9], "MISSING": r[10], "LATERALITY": r[11], "UNSUPPORTED": r[12]},
        n_decided=r[13],
        labels=tuple(r[14] or ()),
        reviewers=tuple(r[15] or ()),
        last_decision_at=r[16],
    )


def neighbour(cur: duckdb.DuckDBPyConnection, query: WorklistQuery, case_id: str, step: int) -> str | None:
    """The case ``step`` places from ``case_id`` in the filtered, sorted worklist (None past either end)."""
    where, params = _filters(query, with_status=True)
    row = cur.execute(
        f"""
        WITH ordered AS (
            SELECT case_id, row_number() OVER (ORDER BY {_order(query.sort, aliased=False)}) AS position
            FROM case_summary WHERE {where}
        )
        SELECT case_id FROM ordered
        WHERE position = (SELECT position FROM ordered WHERE case_id = ?) + ?
        """,
        [*params, case_id, step],
    ).fetchone()
    return None if row is None else str(row[0])
