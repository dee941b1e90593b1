"""The Export page's choices: scope, file name and the summary line (the export itself is ``data.export``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from workstation.worklist_filters import ANY


@dataclass(frozen=True)
class Scope:
    reviewer: str | None = None
    source: str | None = None

    @classmethod
    def from_choices(cls, *, reviewer: str, source: str) -> Scope:
        return cls(reviewer=None if reviewer == ANY else reviewer, source=None if source == ANY else source)

    def describe(self) -> str:
        parts = [f"reviewer {self.reviewer}" if self.reviewer else "all reviewers"]
        parts.append(f"source {self.source}" if self.source else "all sources")
        return ", ".join(parts)


def file_name(fmt: str, scope: Scope, now: datetime | None = None) -> str:
    """'cxr-audit-decisions-ana-20261125-0231.csv': safe characters only."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M")
    parts = ["cxr-audit-decisions"]
    for value in (scope.reviewer, scope.source):
        if value:
            parts.append(re.sub(r"[^A-Za-z0-9_.-]+", "_", value).strip("_") or "x")
    parts.append(stamp)
    return "-".join(parts) + f".{fmt}"


def summary_line(decisions: int, reviewer_findings: int, scope: Scope) -> str:
    return f"{decisions:,} decision row(s) and {reviewer_findings:,} reviewer box(es) for {scope.describe()}."
