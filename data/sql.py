"""What every record family shares: rows mapped to records by column name, box and JSON columns.

A query names its columns after the record's fields (aliasing where a column differs) and
:func:`fetch_records` hands each row to the model as a mapping built from
``cursor.description``, so a column added, removed or reordered can never shift a value
into the wrong field. ``JSON`` columns arrive decoded; a box is selected as one struct
column (:func:`box_sql`), ``NULL`` when the finding has none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import duckdb
from pydantic import BaseModel

from audit.schema import Box
from data.connection import Database
from data.errors import UnknownCaseError

M = TypeVar("M", bound=BaseModel)

Params = Sequence[Any] | Mapping[str, Any]


def fetch_rows(cur: duckdb.DuckDBPyConnection, sql: str, params: Params = ()) -> list[dict[str, Any]]:
    """Every row of ``sql`` as a mapping from column name to value, ``JSON`` columns decoded."""
    result = cur.execute(sql, params if isinstance(params, Mapping) else list(params))
    names = [column[0] for column in result.description or ()]
    json_columns = {i for i, column in enumerate(result.description or ()) if str(column[1]) == "JSON"}
    return [
        {
            name: (json.loads(value) if i in json_columns and value is not None else value)
            for i, (name, value) in enumerate(zip(names, row, strict=True))
        }
        for row in result.fetchall()
    ]


def fetch_records(cur: duckdb.DuckDBPyConnection, sql: str, params: Params, model: type[M]) -> list[M]:
    """Every row of ``sql`` validated as ``model``, matched to its fields by column name."""
    return [model.model_validate(row) for row in fetch_rows(cur, sql, params)]


def fetch_record(cur: duckdb.DuckDBPyConnection, sql: str, params: Params, model: type[M]) -> M | None:
    """The first row of ``sql`` as ``model``, or None when there is none."""
    records = fetch_records(cur, sql, params, model)
    return records[0] if records else None


def insert_returning(cur: duckdb.DuckDBPyConnection, table: str, values: Mapping[str, Any], key: str) -> int:
    """Insert one row, each value beside its column's name; returns the new row's ``key``.

    ``table``, ``key`` and the column names come from the code, never from input.
    """
    columns = ", ".join(values)
    placeholders = ", ".join("?" for _ in values)
    row = cur.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING {key}", list(values.values())
    ).fetchone()
    return int(row[0]) if row else 0


def box_sql(table: str | None = None) -> str:
    """A select expression giving the four box columns as one ``box`` struct (NULL without a box)."""
    prefix = f"{table}." if table else ""
    x0, y0, x1, y1 = (f"{prefix}{name}" for name in ("x0", "y0", "x1", "y1"))
    return (
        f"CASE WHEN {x0} IS NULL THEN NULL ELSE {{'x0': {x0}, 'y0': {y0}, 'x1': {x1}, 'y1': {y1}}} END AS box"
    )


def box_values(box: Box | None) -> tuple[float | None, float | None, float | None, float | None]:
    """The four box columns of an insert (all NULL for a finding without a box)."""
    if box is None:
        return (None, None, None, None)
    return (box.x0, box.y0, box.x1, box.y1)


def box_columns(box: Box | None) -> dict[str, float | None]:
    """The four box columns by name, for :func:`insert_returning`."""
    return dict(zip(("x0", "y0", "x1", "y1"), box_values(box), strict=True))


def to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def now() -> datetime:
    return datetime.now(UTC)


def require_case(cur: duckdb.DuckDBPyConnection, case_id: str) -> None:
    """Refuse a write that refers to a case that is not stored (there are no foreign keys)."""
    if cur.execute("SELECT 1 FROM cases WHERE case_id = ?", [case_id]).fetchone() is None:
        raise UnknownCaseError(case_id)


class Family:
    """One record family's operations over the shared database (``store.cases``, ``store.decisions``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.db!r})"
