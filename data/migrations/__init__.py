"""Ordered, named schema migrations for the audit database.

Each migration runs once, in its own transaction, and is recorded in
``schema_migrations``. Add new migrations at the end; never edit one that has shipped.

Design notes:
- No FOREIGN KEY constraints: DuckDB refuses to update or upsert a parent row that child
  rows reference, which would forbid re-importing a case. Referential checks live in
  the record families (``data.sql.require_case``) instead.
- Boxes are stored as four normalized floats ``x0, y0, x1, y1`` (``audit.schema.Box``);
  all four are NULL for a finding without a box.
- ``case_summary`` is a denormalized row per case, kept up to date inside the same
  transaction as every audit run and decision, so the worklist never aggregates flags
  (``data.summary`` keeps it; ``data.worklist`` reads it).
- ``current_decisions`` is the one definition of the decision that counts: the latest per
  flag and reviewer. Everything that means "the current decision" reads this view.
- Timestamps are UTC (``TIMESTAMPTZ``).
"""

from __future__ import annotations

from data.migrations.additions import ADDITIONS
from data.migrations.audit_schema import AUDIT_SCHEMA
from data.migrations.step import Migration

MIGRATIONS: tuple[Migration, ...] = AUDIT_SCHEMA + ADDITIONS

LATEST_VERSION: int = MIGRATIONS[-1].version

__all__ = ["LATEST_VERSION", "MIGRATIONS", "Migration"]
