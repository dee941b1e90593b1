"""Existing database files migrate in order, each step once, and read back as if written today."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from data.errors import SchemaHistoryError
from data.migrations import LATEST_VERSION, MIGRATIONS
from data.records import WorklistQuery
from data.store import Store
from data.summary import refresh_all_summaries
from data.worklist import worklist_page

T0 = "TIMESTAMPTZ '2024-01-02 03:04:05+00'"
CURRENT_DECISIONS = next(m.version for m in MIGRATIONS if m.name.startswith("current_decisions view"))


def at_schema(path: Path, version: int) -> duckdb.DuckDBPyConnection:
    """A database file as a release at ``version`` left it (its migrations only)."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)"
    )
    for migration in MIGRATIONS[:version]:
        for statement in migration.statements:
            con.execute(statement)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [migration.version, migration.name])
    return con


def test_an_older_file_is_migrated_when_opened(db_path: Path) -> None:
    """A file written at schema 1 gains the worklist columns of schema 2, filled from its cases."""
    con = at_schema(db_path, 1)
    con.execute(
        "INSERT INTO cases (case_id, image_id, source, created_at, updated_at) "
        "VALUES ('old', 'old.png', 'nih', now(), now())"
    )
    con.execute("INSERT INTO case_summary (case_id) VALUES ('old')")
    con.close()
    with Store.open(db_path) as store:
        assert store.schema_version() == LATEST_VERSION
        (row,) = worklist_page(store).rows
        assert (row.case_id, row.image_id, row.source) == ("old", "old.png", "nih")


def test_a_file_from_before_the_view_gains_current_decisions_the_label_mask_and_the_reviewer_key(
    db_path: Path,
) -> None:
    """Its summaries migrate to exactly what today's refresh computes, and its filters work."""
    con = at_schema(db_path, CURRENT_DECISIONS - 1)
    con.execute(
        f"INSERT INTO cases (case_id, image_id, source, view, is_phantom, created_at, updated_at) VALUES "
        f"('old-ptx', 'a.png', 'nih', 'PA', false, {T0}, {T0}), "
        f"('old-new', 'b.png', 'nih', NULL, false, {T0}, {T0})"
    )
    con.execute(
        f"INSERT INTO reference_findings (case_id, label, source, created_at) VALUES "
        f"('old-ptx', 'pneumothorax', 'reference:NIH', {T0})"
    )
    con.execute(
        "INSERT INTO audit_runs (run_id, case_id, mode, report, created_at) "
        f"VALUES (1, 'old-ptx', 'full', '{{}}', {T0})"
    )
    con.execute(
        "INSERT INTO flags (flag_id, run_id, case_id, position, type, label, reason) VALUES "
        "(1, 1, 'old-ptx', 0, 'MISSING', 'nodule_mass', 'missed')"
    )
    con.execute(
        "INSERT INTO decisions (decision_id, flag_id, run_id, case_id, reviewer, decision, decided_at) "
        f"VALUES (1, 1, 1, 'old-ptx', 'bob', 'accept', {T0}), (2, 1, 1, 'old-ptx', 'amy', 'accept', {T0}), "
        f"(3, 1, 1, 'old-ptx', 'amy', 'dismiss', {T0} + INTERVAL 1 HOUR)"
    )
    # The rows the refresh of that release wrote: labels and reviewers as lists.
    con.execute(
        "INSERT INTO case_summary (case_id, latest_run_id, audited_at, n_flags, n_missing, n_decided, "
        "status, labels, reviewers, last_decision_at, image_id, source, view, is_phantom, search_key) VALUES "
        f"('old-ptx', 1, {T0}, 1, 1, 1, 'reviewed', ['nodule_mass', 'pneumothorax'], ['amy', 'bob'], "
        f"{T0} + INTERVAL 1 HOUR, 'a.png', 'nih', 'PA', false, 'old-ptx a.png'), "
        "('old-new', NULL, NULL, 0, 0, 0, 'not_audited', [], [], NULL, 'b.png', 'nih', NULL, false, "
        "'old-new b.png')"
    )
    con.close()

    with Store.open(db_path) as store:
        assert store.schema_version() == LATEST_VERSION
        query = "SELECT * FROM case_summary ORDER BY case_id"
        migrated = store.read(lambda cur: cur.execute(query).fetchall())
        store.transaction("refresh", refresh_all_summaries)
        assert store.read(lambda cur: cur.execute(query).fetchall()) == migrated

        for filters in ({"label": "nodule_mass"}, {"label": "pneumothorax"}, {"reviewer": "bob"}):
            page = worklist_page(store, WorklistQuery(**filters))  # type: ignore[arg-type]
            assert [row.case_id for row in page.rows] == ["old-ptx"]
        assert worklist_page(store, WorklistQuery(label="cardiomegaly")).rows == ()
        (row,) = worklist_page(store, WorklistQuery(reviewer="amy")).rows
        assert row.reviewers == ("amy", "bob")
        current = store.decisions.current(case_id="old-ptx")
        assert {key: d.decision for key, d in current.items()} == {
            (1, "amy"): "dismiss",
            (1, "bob"): "accept",
        }


def test_the_steps_are_numbered_one_after_another_and_named_once() -> None:
    """Two branches that each add "the next" migration collide here, not in a user's file."""
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len({m.name for m in MIGRATIONS}) == len(MIGRATIONS)


@pytest.mark.parametrize("read_only", [False, True], ids=["writing", "read-only"])
def test_a_file_whose_step_was_another_builds_is_refused_and_left_as_it_was(
    db_path: Path, read_only: bool
) -> None:
    """A step skipped because its number was taken would leave its tables missing for good."""
    con = at_schema(db_path, LATEST_VERSION)
    con.execute("UPDATE schema_migrations SET name = 'another branch''s step' WHERE version = 2")
    con.close()
    with pytest.raises(SchemaHistoryError, match='step 2 as "another branch\'s step"'):
        Store.open(db_path, read_only=read_only)
    con = duckdb.connect(str(db_path))
    assert con.execute("SELECT name FROM schema_migrations WHERE version = 2").fetchone() == (
        "another branch's step",
    )
    con.close()
