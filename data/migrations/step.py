"""One schema migration: a numbered, named list of statements run in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

# Boxes are four normalized floats (``audit.schema.Box``); all four are NULL for a finding without a box.
BOX_COLUMNS = "x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
