"""Report generations (``store.generations``): every report a generator wrote for a case.

Each generation is stored with the raw text that came back and its outcome, the failed ones
too; one that did not fail also becomes a draft of kind ``generated`` whose author is the
generator, in the same transaction, so a generation and its draft never part. A
generator's current report for a case is its latest generation there: a failed rerun
replaces an earlier report as the current one rather than hiding behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import field_validator

from audit.recover import ReportReading
from audit.report_eval import GeneratedReport
from audit.schema import Frozen
from data.errors import UnknownCaseError
from data.records import GenerationRecord, GeneratorSummary
from data.sql import Family, fetch_records, now, to_json


def _select(where: str, *, latest: bool) -> str:
    """Generations with their draft's text: each generator's current one per case (the
    ``current_generations`` view) when ``latest``, else every one, oldest first."""
    table = "current_generations" if latest else "generations"
    return f"""
        SELECT g.generation_id, g.case_id, g.generator, g.backend, g.model, g.profile, g.outcome,
               g.raw_text, g.error, coalesce(g.repairs, '[]') AS repairs, g.draft_id, d.text, g.run,
               g.seconds, g.created_at
        FROM {table} g LEFT JOIN drafts d ON d.draft_id = g.draft_id
        WHERE {where}
        ORDER BY {"g.generator, g.case_id" if latest else "g.generation_id"}
    """


def storable(raw: str) -> str:
    """``raw`` as it is stored: lone surrogates (undecodable bytes) cannot be stored as text, so
    they are kept as ``\\udcff`` escapes."""
    return raw.encode("utf-8", "backslashreplace").decode("utf-8")


class NewGeneration(Frozen):
    """One generation to store: the case, the generator, what came back and how it was read."""

    case_id: str
    generator: str
    reading: ReportReading
    raw_text: str | None  # exactly what the generator returned; None when nothing came back
    backend: str  # "import", "medgemma", "openai"
    model: str | None = None
    profile: str | None = None
    run: dict[str, Any] | None = None  # every attempt of a model backend (its RunRecord)
    seconds: float | None = None

    @field_validator("raw_text")
    @classmethod
    def _storable(cls, raw: str | None) -> str | None:
        return None if raw is None else storable(raw)


def _ids(cur: duckdb.DuckDBPyConnection, sequence: str, n: int) -> list[int]:
    rows = cur.execute(f"SELECT nextval('{sequence}') FROM range(?)", [n]).fetchall()  # a constant name
    return [int(row[0]) for row in rows]


def _insert(cur: duckdb.DuckDBPyConnection, items: Sequence[NewGeneration], created: datetime) -> list[int]:
    """Every generation, and a draft for each that did not fail, as two bulk inserts."""
    cases = sorted({item.case_id for item in items})
    cur.register("wanted", pa.table({"case_id": pa.array(cases, pa.string())}))
    stored = {
        row[0] for row in cur.execute("SELECT case_id FROM cases JOIN wanted USING (case_id)").fetchall()
    }
    cur.unregister("wanted")
    missing = [case_id for case_id in cases if case_id not in stored]
    if missing:
        raise UnknownCaseError(missing[0])
    drafted = [item for item in items if not item.reading.failed]
    draft_ids = iter(_ids(cur, "draft_id_seq", len(drafted)))
    links = [next(draft_ids) if not item.reading.failed else None for item in items]
    generation_ids = _ids(cur, "generation_id_seq", len(items))
    drafts = pa.table(
        {
            "draft_id": pa.array([d for d in links if d is not None], pa.int64()),
            "case_id": pa.array([item.case_id for item in drafted], pa.string()),
            "text": pa.array([item.reading.text for item in drafted], pa.string()),
            "author": pa.array([item.generator for item in drafted], pa.string()),
            "metadata": pa.array(
                [to_json({"backend": i.backend, "model": i.model, "profile": i.profile}) for i in drafted],
                pa.string(),
            ),
        }
    )
    generations = pa.table(
        {
            "generation_id": pa.array(generation_ids, pa.int64()),
            "case_id": pa.array([item.case_id for item in items], pa.string()),
            "generator": pa.array([item.generator for item in items], pa.string()),
            "backend": pa.array([item.backend for item in items], pa.string()),
            "model": pa.array([item.model for item in items], pa.string()),
            "profile": pa.array([item.profile for item in items], pa.string()),
            "outcome": pa.array([item.reading.outcome.status for item in items], pa.string()),
            "raw_text": pa.array([item.raw_text for item in items], pa.string()),
            "error": pa.array([item.reading.outcome.error for item in items], pa.string()),
            "repairs": pa.array([to_json(list(item.reading.outcome.repairs)) for item in items], pa.string()),
            "draft_id": pa.array(links, pa.int64()),
            "run": pa.array([to_json(item.run) for item in items], pa.string()),
            "seconds": pa.array([item.seconds for item in items], pa.float64()),
        }
    )
    cur.register("incoming_drafts", drafts)
    cur.register("incoming_generations", generations)
    cur.execute(
        "INSERT INTO drafts (draft_id, case_id, text, kind, author, metadata, created_at) "
        "SELECT draft_id, case_id, text, 'generated', author, metadata::JSON, $now FROM incoming_drafts",
        {"now": created},
    )
    cur.execute(
        "INSERT INTO generations (generation_id, case_id, generator, backend, model, profile, outcome, "
        "raw_text, error, repairs, draft_id, run, seconds, created_at) "
        "SELECT generation_id, case_id, generator, backend, model, profile, outcome, raw_text, error, "
        "repairs::JSON, draft_id, run::JSON, seconds, $now FROM incoming_generations",
        {"now": created},
    )
    cur.unregister("incoming_drafts")
    cur.unregister("incoming_generations")
    return generation_ids


class Generations(Family):
    def add(self, items: Sequence[NewGeneration]) -> list[int]:
        """Store generations (and the ``generated`` draft of each that did not fail) in one
        transaction; returns their ids, in order."""
        if not items:
            return []
        created = now()
        return self.db.transaction("save report generations", lambda cur: _insert(cur, items, created))

    def latest(
        self, generators: Sequence[str] | None = None, case_ids: Sequence[str] | None = None
    ) -> list[GenerationRecord]:
        """Each generator's latest generation per case (optionally only these generators or cases)."""
        where, params = ["true"], []
        if generators is not None:
            where.append("list_contains(?, g.generator)")
            params.append(list(generators))
        if case_ids is not None:
            where.append("list_contains(?, g.case_id)")
            params.append(list(case_ids))
        sql = _select(" AND ".join(where), latest=True)
        return self.db.read(lambda cur: fetch_records(cur, sql, params, GenerationRecord))

    def for_case(self, case_id: str) -> list[GenerationRecord]:
        """Every generation for a case, oldest first (a reviewer sees failures beside the drafts)."""
        sql = _select("g.case_id = ?", latest=False)
        return self.db.read(lambda cur: fetch_records(cur, sql, [case_id], GenerationRecord))

    def reports(
        self, generators: Sequence[str] | None = None, case_ids: Sequence[str] | None = None
    ) -> dict[str, dict[str, GeneratedReport]]:
        """Each generator's current report per case, as the evaluation reads them."""
        out: dict[str, dict[str, GeneratedReport]] = {name: {} for name in generators or ()}
        for record in self.latest(generators, case_ids):
            out.setdefault(record.generator, {})[record.case_id] = GeneratedReport(
                case_id=record.case_id,
                generator=record.generator,
                outcome=record.outcome,
                text=record.text or "",
                error=record.error,
                draft_id=record.draft_id,
            )
        return out

    def summaries(self) -> list[GeneratorSummary]:
        """Every generator with reports stored: cases, and how its latest reports ended."""
        sql = f"""
            SELECT generator, count(*) AS cases,
                   count(*) FILTER (WHERE outcome = 'ok') AS ok,
                   count(*) FILTER (WHERE outcome = 'recovered') AS recovered,
                   count(*) FILTER (WHERE outcome = 'failed') AS failed,
                   max(created_at) AS last_at
            FROM ({_select("true", latest=True)}) GROUP BY generator ORDER BY generator
        """
        return self.db.read(lambda cur: fetch_records(cur, sql, [], GeneratorSummary))
