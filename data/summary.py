"""``case_summary``: one row per case with what the worklist shows, kept current inside every write.

Three ways to keep it current, all giving the same row (a test checks they agree):
- :func:`refresh_summaries`: set-based, for many cases at once (imports, bulk loads);
- :func:`refresh_case`: one case by a few filtered queries (an audit run, a case review):
  the set-based statement's joins cost ~130 ms at 100k cases, this ~10 ms;
- :func:`note_decision`: one decision, by one point read and one in-place update
  (recording a decision ≤ 20 ms p95).

Status: ``not_audited`` without an audit run; ``reviewed`` when every flag of the latest run
has a decision, or a reviewer marked the latest run reviewed; else ``audited``.

Two columns are encoded for speed: ``label_mask`` holds one bit per label
(:data:`LABEL_BITS`) so the label filter is an integer test, and ``reviewer_key`` holds the
sorted reviewer names each between two ``\x1f`` (:func:`reviewer_key`) so a decision updates
the row in place (a LIST column is rewritten as a delete plus an insert).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb

from audit.labels import Label
from audit.schema import FlagType

FLAG_COLUMNS: dict[FlagType, str] = {
    "URGENT": "n_urgent",
    "MISSING": "n_missing",
    "LATERALITY": "n_laterality",
    "UNSUPPORTED": "n_unsupported",
}

# A label's bit in ``case_summary.label_mask``. Stored data depends on it: never change or
# reuse a bit; a new label takes the next one (and a migration sets it for stored cases).
LABEL_BITS: Mapping[Label, int] = {
    "pleural_effusion": 1,
    "pneumothorax": 2,
    "lung_opacity": 4,
    "nodule_mass": 8,
    "cardiomegaly": 16,
    "no_finding": 32,
}

REVIEWER_SEPARATOR = "\x1f"  # the ASCII unit separator; reviewer names cannot contain it


def label_mask(labels: Iterable[str]) -> int:
    return sum(LABEL_BITS.get(label, 0) for label in set(labels))  # type: ignore[call-overload]


def reviewer_token(name: str) -> str:
    """The name as it appears inside ``reviewer_key`` (what the worklist's reviewer filter looks for)."""
    return f"{REVIEWER_SEPARATOR}{name}{REVIEWER_SEPARATOR}"


def reviewer_key(names: Iterable[str]) -> str:
    """``\x1famy\x1fbob\x1f`` for {"bob", "amy"}; the empty string for nobody."""
    ordered = sorted(set(names))
    return REVIEWER_SEPARATOR.join(["", *ordered, ""]) if ordered else ""


def reviewers_in(key: str) -> list[str]:
    return [name for name in key.split(REVIEWER_SEPARATOR) if name]


def _mask_sql(labels: str) -> str:
    """SQL for the label mask of a list expression (labels and bits are constants)."""
    return " + ".join(
        f"CASE WHEN list_contains({labels}, '{label}') THEN {bit} ELSE 0 END"
        for label, bit in LABEL_BITS.items()
    )


def _key_sql(names: str) -> str:
    """SQL for :func:`reviewer_key` of a sorted list expression."""
    return (
        f"CASE WHEN coalesce(len({names}), 0) = 0 THEN '' "
        f"ELSE chr(31) || array_to_string({names}, chr(31)) || chr(31) END"
    )


def refresh_summaries(cur: duckdb.DuckDBPyConnection, target_sql: str, params: Sequence[Any] = ()) -> None:
    """Recompute ``case_summary`` for the cases ``target_sql`` selects (a query yielding ``case_id``)."""
    counts = ", ".join(
        f"count(*) FILTER (WHERE f.type = '{flag_type}') AS {column}"
        for flag_type, column in FLAG_COLUMNS.items()
    )
    cur.execute(
        f"""
        INSERT OR REPLACE INTO case_summary
            (case_id, latest_run_id, audited_at, n_flags, n_urgent, n_missing, n_laterality, n_unsupported,
             n_decided, status, labels, label_mask, reviewer_key, last_decision_at, image_id, source, view,
             is_phantom, search_key)
        WITH target AS (SELECT DISTINCT case_id FROM ({target_sql}) AS t),
        latest AS (
            SELECT r.case_id, max(r.run_id) AS run_id FROM audit_runs r JOIN target USING (case_id)
            WHERE r.purpose = 'audit'
            GROUP BY r.case_id
        ),
        runinfo AS (
            SELECT l.case_id, l.run_id, r.created_at FROM latest l JOIN audit_runs r ON r.run_id = l.run_id
        ),
        fl AS (
            SELECT f.case_id, count(*) AS n, {counts}, list(DISTINCT f.label) AS labels
            FROM flags f JOIN latest l ON f.run_id = l.run_id GROUP BY f.case_id
        ),
        dec AS (
            SELECT d.case_id, count(DISTINCT d.flag_id) AS n_decided FROM decisions d
            JOIN latest l ON d.run_id = l.run_id GROUP BY d.case_id
        ),
        anydec AS (
            SELECT d.case_id, max(d.decided_at) AS last_at FROM decisions d JOIN target USING (case_id)
            GROUP BY d.case_id
        ),
        rev AS (
            SELECT case_id, list(DISTINCT reviewer ORDER BY reviewer) AS reviewers FROM (
                SELECT d.case_id, d.reviewer FROM decisions d JOIN target USING (case_id)
                UNION ALL
                SELECT c.case_id, c.reviewer FROM case_reviews c JOIN target USING (case_id)
            ) GROUP BY case_id
        ),
        marked AS (
            SELECT DISTINCT c.case_id FROM case_reviews c
            JOIN latest l ON c.case_id = l.case_id AND c.run_id = l.run_id
        ),
        ref AS (
            SELECT r.case_id, list(DISTINCT r.label) AS labels
            FROM reference_findings r JOIN target USING (case_id)
            GROUP BY r.case_id
        )
        SELECT t.case_id, ri.run_id, ri.created_at, coalesce(fl.n, 0), coalesce(fl.n_urgent, 0),
               coalesce(fl.n_missing, 0), coalesce(fl.n_laterality, 0), coalesce(fl.n_unsupported, 0),
               coalesce(dec.n_decided, 0),
               CASE WHEN ri.run_id IS NULL THEN 'not_audited'
                    WHEN m.case_id IS NOT NULL
                        OR (coalesce(fl.n, 0) > 0 AND coalesce(dec.n_decided, 0) >= fl.n)
                        THEN 'reviewed'
                    ELSE 'audited' END,
               list_sort(list_distinct(list_concat(coalesce(fl.labels, []), coalesce(ref.labels, [])))),
               {_mask_sql("list_concat(coalesce(fl.labels, []), coalesce(ref.labels, []))")},
               {_key_sql("rev.reviewers")},
               anydec.last_at,
               c.image_id, c.source, c.view, c.is_phantom, lower(c.case_id || ' ' || c.image_id)
        FROM target t
        JOIN cases c ON c.case_id = t.case_id
        LEFT JOIN runinfo ri ON ri.case_id = t.case_id
        LEFT JOIN fl ON fl.case_id = t.case_id
        LEFT JOIN dec ON dec.case_id = t.case_id
        LEFT JOIN anydec ON anydec.case_id = t.case_id
        LEFT JOIN rev ON rev.case_id = t.case_id
        LEFT JOIN marked m ON m.case_id = t.case_id
        LEFT JOIN ref ON ref.case_id = t.case_id
        """,
        list(params),
    )


def refresh_case(cur: duckdb.DuckDBPyConnection, case_id: str) -> None:
    """Recompute one case's summary row with queries filtered on that case (see the module notes)."""
    case = cur.execute(
        "SELECT image_id, source, view, is_phantom FROM cases WHERE case_id = ?", [case_id]
    ).fetchone()
    if case is None:
        return
    run = cur.execute(
        "SELECT run_id, created_at FROM audit_runs WHERE case_id = ? AND purpose = 'audit' "
        "ORDER BY run_id DESC LIMIT 1",
        [case_id],
    ).fetchone()
    run_id, audited_at = (run[0], run[1]) if run else (None, None)
    counts = dict.fromkeys(FLAG_COLUMNS.values(), 0)
    n_flags, n_decided, marked = 0, 0, False
    flag_labels: list[str] = []
    if run_id is not None:
        columns = ", ".join(f"count(*) FILTER (WHERE type = '{t}')" for t in FLAG_COLUMNS)
        row = cur.execute(
            f"SELECT count(*), {columns}, list(DISTINCT label) FROM flags WHERE run_id = ?", [run_id]
        ).fetchone()
        if row is not None:
            n_flags = int(row[0])
            counts = {column: int(row[1 + i]) for i, column in enumerate(FLAG_COLUMNS.values())}
            flag_labels = list(row[-1] or [])
        decided = cur.execute(
            "SELECT count(DISTINCT flag_id) FROM decisions WHERE run_id = ?", [run_id]
        ).fetchone()
        n_decided = int(decided[0]) if decided else 0
        marked = (
            cur.execute(
                "SELECT 1 FROM case_reviews WHERE case_id = ? AND run_id = ? LIMIT 1", [case_id, run_id]
            ).fetchone()
            is not None
        )
    people = cur.execute(
        "SELECT list(DISTINCT reviewer ORDER BY reviewer), max(decided_at) FROM ("
        "SELECT reviewer, decided_at FROM decisions WHERE case_id = ? "
        "UNION ALL SELECT reviewer, NULL FROM case_reviews WHERE case_id = ?)",
        [case_id, case_id],
    ).fetchone()
    reviewers, last_at = (list(people[0] or []), people[1]) if people else ([], None)
    ref = cur.execute(
        "SELECT list(DISTINCT label) FROM reference_findings WHERE case_id = ?", [case_id]
    ).fetchone()
    labels = sorted(set(flag_labels) | set(ref[0] or [] if ref else []))
    if run_id is None:
        status = "not_audited"
    elif marked or (n_flags > 0 and n_decided >= n_flags):
        status = "reviewed"
    else:
        status = "audited"
    values = {
        "latest_run_id": run_id,
        "audited_at": audited_at,
        "n_flags": n_flags,
        **counts,
        "n_decided": n_decided,
        "status": status,
        "labels": labels,
        "label_mask": label_mask(labels),
        "reviewer_key": reviewer_key(reviewers),
        "last_decision_at": last_at,
        "image_id": case[0],
        "source": case[1],
        "view": case[2],
        "is_phantom": case[3],
        "search_key": f"{case_id} {case[0]}".lower(),
    }
    # UPDATE in place (2 ms) where the row exists; INSERT OR REPLACE rewrites it (6–12 ms).
    assignments = ", ".join(f"{column} = ${column}" for column in values)  # column names are constants
    updated = cur.execute(
        f"UPDATE case_summary SET {assignments} WHERE case_id = $case_id", {**values, "case_id": case_id}
    ).fetchone()
    if not updated or int(updated[0]) == 0:
        columns = ", ".join(values)
        placeholders = ", ".join(f"${column}" for column in values)
        cur.execute(
            f"INSERT INTO case_summary (case_id, {columns}) VALUES ($case_id, {placeholders})",
            {**values, "case_id": case_id},
        )


def note_decision(
    cur: duckdb.DuckDBPyConnection,
    case_id: str,
    run_id: int,
    newly_decided: bool,
    reviewer: str,
    decided_at: datetime,
) -> None:
    """Update one case's summary after a decision: one point read, one in-place update.

    Decisions only add, so ``n_decided`` of the latest run grows by one when a flag of that run
    gets its first decision, and a reviewed case stays reviewed. The new values are worked out
    here rather than in SQL: planning is most of a point statement's cost, and the CASE
    expressions doubled it. A concurrent write to the same row makes the transaction conflict
    and retry, so the read cannot go stale.
    """
    row = cur.execute(
        "SELECT latest_run_id, n_flags, n_decided, status, reviewer_key, last_decision_at "
        "FROM case_summary WHERE case_id = ?",
        [case_id],
    ).fetchone()
    if row is None:
        return
    latest_run_id, n_flags, n_decided, status, key, last_at = row
    if newly_decided and latest_run_id == run_id:
        n_decided += 1
    if status == "audited" and n_flags > 0 and n_decided >= n_flags:
        status = "reviewed"
    cur.execute(
        "UPDATE case_summary SET n_decided = ?, status = ?, reviewer_key = ?, last_decision_at = ? "
        "WHERE case_id = ?",
        [
            n_decided,
            status,
            reviewer_key([*reviewers_in(key or ""), reviewer]),
            decided_at if last_at is None else max(last_at, decided_at),
            case_id,
        ],
    )


def refresh_all_summaries(cur: duckdb.DuckDBPyConnection) -> None:
    """Recompute every case's summary row (after a bulk load that bypassed the store's writes)."""
    refresh_summaries(cur, "SELECT case_id FROM cases")
