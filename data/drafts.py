"""Draft impressions (``store.drafts``): human, synthetic (with the flags they should cause), student."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb

from audit.schema import ExpectedFlag
from data.errors import UnknownRecordError
from data.records import DraftKind, DraftRecord, checked_draft
from data.sql import Family, fetch_record, fetch_records, insert_returning, now, require_case, to_json

_COLUMNS = (
    "draft_id, case_id, text, kind, author, corruption, corruption_label, expected_flags, "
    "coalesce(metadata, '{}') AS metadata, created_at"
)


class Drafts(Family):
    def add(
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
        """Store a draft impression for a case; returns its id (DraftRefusedError for one the
        auditor cannot read)."""
        record = DraftRecord(
            draft_id=0,
            case_id=case_id,
            text=checked_draft(case_id, text),
            kind=kind,
            author=author,
            corruption=corruption,
            corruption_label=corruption_label,  # type: ignore[arg-type]
            expected_flags=tuple(expected_flags) if expected_flags is not None else None,
            metadata=metadata or {},
            created_at=now(),
        )
        expected = (
            None
            if record.expected_flags is None
            else json.dumps([f.model_dump(exclude_none=True) for f in record.expected_flags])
        )
        row = {
            **record.model_dump(
                include={"case_id", "text", "kind", "author", "corruption", "corruption_label"}
            ),
            "expected_flags": expected,
            "metadata": to_json(record.metadata),
            "created_at": record.created_at,
        }

        def write(cur: duckdb.DuckDBPyConnection) -> int:
            require_case(cur, case_id)
            return insert_returning(cur, "drafts", row, "draft_id")

        return self.db.transaction("save a draft", write)

    def for_case(
        self, case_id: str, *, kind: DraftKind | None = None, author: str | None = None
    ) -> list[DraftRecord]:
        """The case's drafts, oldest first, optionally only of one kind or author."""
        sql = f"SELECT {_COLUMNS} FROM drafts WHERE case_id = ?"
        params: list[Any] = [case_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if author is not None:
            sql += " AND author = ?"
            params.append(author)
        return self.db.read(lambda cur: fetch_records(cur, sql + " ORDER BY draft_id", params, DraftRecord))

    def get(self, draft_id: int) -> DraftRecord:
        found = self.db.read(
            lambda cur: fetch_record(
                cur, f"SELECT {_COLUMNS} FROM drafts WHERE draft_id = ?", [draft_id], DraftRecord
            )
        )
        if found is None:
            raise UnknownRecordError("draft", draft_id)
        return found

    def default(self, case_id: str) -> DraftRecord | None:
        """The draft a case is audited against by default: its latest human draft, else its first draft.

        A student's draft is never the default.
        """
        drafts = [d for d in self.for_case(case_id) if d.kind != "student"]
        human = [d for d in drafts if d.kind == "human"]
        if human:
            return human[-1]
        return drafts[0] if drafts else None
