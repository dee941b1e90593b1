"""Export choices (``workstation.exports``): safe file names and the summary line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workstation import exports
from workstation.worklist_filters import ANY


@pytest.mark.parametrize(
    ("reviewer", "source", "expected"),
    [
        (ANY, ANY, "cxr-audit-decisions-20261125-0231.csv"),
        ("Ana Lima", "nih/chest", "cxr-audit-decisions-Ana_Lima-nih_chest-20261125-0231.csv"),
    ],
    ids=["everything", "scoped"],
)
def test_export_file_names_are_safe(reviewer: str, source: str, expected: str) -> None:
    scope = exports.Scope.from_choices(reviewer=reviewer, source=source)

    assert exports.file_name("csv", scope, datetime(2026, 11, 25, 2, 31, tzinfo=UTC)) == expected


def test_export_summary_line() -> None:
    line = exports.summary_line(3, 1, exports.Scope(reviewer="ana"))

    assert line == "3 decision row(s) and 1 reviewer box(es) for reviewer ana, all sources."
