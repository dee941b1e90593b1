"""Rows become records by column name: order, JSON columns and boxes."""

from __future__ import annotations

import duckdb
import pytest
from pydantic import ValidationError

from audit.schema import Box
from data.records import ReferenceFinding, ReviewerFinding
from data.sql import box_sql, fetch_record, fetch_records, fetch_rows


@pytest.fixture
def cur() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (finding_id BIGINT, label VARCHAR, x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE, "
        "source VARCHAR, meta JSON)"
    )
    con.execute(
        "INSERT INTO t VALUES (1, 'pneumothorax', 0.1, 0.2, 0.3, 0.4, 'reference:NIH', '{\"k\": [1, 2]}'), "
        "(2, 'cardiomegaly', NULL, NULL, NULL, NULL, 'reference:NIH', NULL)"
    )
    return con


def test_columns_are_matched_to_fields_by_name_in_any_order(cur: duckdb.DuckDBPyConnection) -> None:
    forwards = fetch_records(
        cur, f"SELECT finding_id, label, {box_sql()}, source FROM t ORDER BY finding_id", [], ReferenceFinding
    )
    backwards = fetch_records(
        cur, f"SELECT source, {box_sql()}, label, finding_id FROM t ORDER BY finding_id", [], ReferenceFinding
    )
    assert forwards == backwards
    assert forwards[0] == ReferenceFinding(
        finding_id=1, label="pneumothorax", box=Box(x0=0.1, y0=0.2, x1=0.3, y1=0.4), source="reference:NIH"
    )


def test_a_finding_without_a_box_reads_as_none(cur: duckdb.DuckDBPyConnection) -> None:
    found = fetch_record(
        cur,
        f"SELECT finding_id, label, {box_sql('t')}, source FROM t WHERE finding_id = ?",
        [2],
        ReferenceFinding,
    )
    assert found is not None and found.box is None


def test_json_columns_arrive_decoded_and_null_stays_none(cur: duckdb.DuckDBPyConnection) -> None:
    rows = fetch_rows(cur, "SELECT finding_id, meta FROM t ORDER BY finding_id")
    assert rows == [{"finding_id": 1, "meta": {"k": [1, 2]}}, {"finding_id": 2, "meta": None}]


def test_named_parameters_are_passed_through(cur: duckdb.DuckDBPyConnection) -> None:
    assert fetch_rows(cur, "SELECT label FROM t WHERE finding_id = $id", {"id": 2}) == [
        {"label": "cardiomegaly"}
    ]


def test_a_column_the_record_does_not_have_is_refused(cur: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValidationError, match="meta"):
        fetch_records(
            cur, f"SELECT finding_id, label, {box_sql()}, source, meta FROM t", [], ReferenceFinding
        )


def test_a_missing_column_is_refused(cur: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValidationError, match="reviewer"):
        fetch_records(
            cur, f"SELECT finding_id, label, {box_sql()} FROM t WHERE x0 IS NOT NULL", [], ReviewerFinding
        )


def test_no_row_is_none(cur: duckdb.DuckDBPyConnection) -> None:
    assert fetch_record(cur, "SELECT label FROM t WHERE false", [], ReferenceFinding) is None
