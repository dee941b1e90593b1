"""``cxr-audit import reports``: a report generator's output as ``generated`` drafts.

Each valid row (see :mod:`data.importers.report_rows`) names a stored case by ``case_id``
or by ``image`` (the case's image id), a generator and its text. The text is read as a
generation (:func:`audit.recover.read_report`): a report becomes a ``generated`` draft whose
author is the generator; an empty or unreadable one is stored as a failed generation, raw
text kept, counted and named by its row. Importing the same file again changes nothing: a
row whose generator's latest report for that case has the same raw text is counted
unchanged. A row with a new text for a (case, generator) that has a report replaces it as
the current one (the earlier draft, with any decisions on it, stays). Rows that cannot be
used are listed with their number and the reason, never dropped in silence.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from audit.recover import read_report
from data.connection import Database
from data.generations import NewGeneration, storable
from data.importers.common import BATCH_SIZE
from data.importers.report_rows import RejectedRow, ReportRow, read_report_rows
from data.sql import fetch_rows
from data.store import Store

BACKEND = "import"
FAILURES_SHOWN = 10


class ReportImportSummary(BaseModel):
    """What one import did, row by row: every row is stored, unchanged, or rejected with its reason."""

    model_config = ConfigDict(extra="forbid")

    path: str
    rows: int = 0
    added: int = Field(default=0, description="reports for a (case, generator) without one before")
    replaced: int = Field(default=0, description="new reports replacing a generator's earlier one")
    unchanged: int = 0
    failures: list[RejectedRow] = Field(
        default_factory=list, description="rows stored as failed generations (an empty or unreadable text)"
    )
    rejected: list[RejectedRow] = Field(default_factory=list)
    generators: dict[str, int] = Field(default_factory=dict)  # rows stored per generator
    seconds: float = 0.0

    @property
    def stored(self) -> int:
        return self.added + self.replaced

    def lines(self) -> list[str]:
        """The human summary the CLI prints: the counts, then every rejected row."""
        out = [
            f"reports: {self.rows:,} row(s) in {self.path}: {self.stored:,} stored ({self.added:,} new, "
            f"{self.replaced:,} replacing an earlier report), {self.unchanged:,} unchanged, "
            f"{len(self.rejected):,} rejected ({self.seconds:.1f} s)",
        ]
        if self.failures:
            out.append(f"  {len(self.failures):,} stored as failed generations, counted as failures:")
            out.extend(f"    row {item.row}: {item.reason}" for item in self.failures[:FAILURES_SHOWN])
            if len(self.failures) > FAILURES_SHOWN:
                out.append(f"    ... and {len(self.failures) - FAILURES_SHOWN:,} more")
        for name, count in sorted(self.generators.items()):
            out.append(f"  generator {name}: {count:,} stored")
        out.extend(f"  rejected row {item.row}: {item.reason}" for item in self.rejected)
        return out


def _cases_by_image(db: Database, images: Sequence[str]) -> dict[str, list[str]]:
    rows = db.read(
        lambda cur: fetch_rows(
            cur,
            "SELECT image_id, case_id FROM cases WHERE list_contains(?, image_id) ORDER BY case_id",
            [list(images)],
        )
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["image_id"], []).append(row["case_id"])
    return found


def _resolve(store: Store, rows: Sequence[ReportRow]) -> list[tuple[ReportRow, str] | RejectedRow]:
    """Each row's stored case id, or its rejection (unknown case, ambiguous image, a repeat)."""
    known = store.cases.existing_ids([row.case_id for row in rows if row.case_id])
    by_image = _cases_by_image(store, sorted({row.image for row in rows if row.image and not row.case_id}))
    seen: dict[tuple[str, str], int] = {}
    out: list[tuple[ReportRow, str] | RejectedRow] = []
    for row in rows:
        if row.case_id is not None:
            if row.case_id not in known:
                out.append(RejectedRow(row=row.row, reason=f"no case {row.case_id!r} in the database"))
                continue
            case_id = row.case_id
        else:
            matches = by_image.get(row.image or "", [])
            if len(matches) != 1:
                reason = (
                    f"no case with image {row.image!r} in the database"
                    if not matches
                    else f"image {row.image!r} belongs to {len(matches)} cases; give its case_id"
                )
                out.append(RejectedRow(row=row.row, reason=reason))
                continue
            case_id = matches[0]
        first = seen.setdefault((case_id, row.generator), row.row)
        if first != row.row:
            out.append(
                RejectedRow(
                    row=row.row,
                    reason=f"a second report for case {case_id!r} by {row.generator!r} (row {first} has one)",
                )
            )
            continue
        out.append((row, case_id))
    return out


def import_reports(store: Store, path: Path) -> ReportImportSummary:
    """Store every valid row of ``path`` as a generation (and draft); see the module docstring."""
    started = time.perf_counter()
    rows, rejected = read_report_rows(path)
    summary = ReportImportSummary(path=str(path), rows=len(rows) + len(rejected), rejected=list(rejected))
    resolved = _resolve(store, rows)
    usable = [item for item in resolved if not isinstance(item, RejectedRow)]
    summary.rejected.extend(item for item in resolved if isinstance(item, RejectedRow))
    summary.rejected.sort(key=lambda item: item.row)
    generators = sorted({row.generator for row, _ in usable})
    current = {
        (record.case_id, record.generator): record.raw_text
        for record in store.generations.latest(generators, sorted({case_id for _, case_id in usable}))
    }
    pending: list[NewGeneration] = []
    for row, case_id in usable:
        key = (case_id, row.generator)
        if key in current and current[key] == storable(row.text):
            summary.unchanged += 1
            continue
        reading = read_report(row.text)
        pending.append(
            NewGeneration(
                case_id=case_id, generator=row.generator, reading=reading, raw_text=row.text, backend=BACKEND
            )
        )
        if key in current:
            summary.replaced += 1
        else:
            summary.added += 1
        if reading.failed:
            summary.failures.append(RejectedRow(row=row.row, reason=reading.outcome.error or "failed"))
        summary.generators[row.generator] = summary.generators.get(row.generator, 0) + 1
    for offset in range(0, len(pending), BATCH_SIZE):
        store.generations.add(pending[offset : offset + BATCH_SIZE])
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary
