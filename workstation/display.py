"""Tables as a person reads them: column headers and label values in words, never snake_case.

The evaluation queries name their columns for code (``acceptance_rate``, ``latest_flags``,
``nodule_mass``); the pages show them through ``for_display``. One table of header names is
here so the Evaluation page, its charts' tooltips and the column formats agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.labels import DISPLAY_NAMES

if TYPE_CHECKING:
    import pandas as pd

HEADERS: dict[str, str] = {
    "flag_type": "Flag type",
    "label": "Label",
    "latest_flags": "Flags in latest audits",
    "decisions": "Decisions",
    "accepted": "Accepted",
    "dismissed": "Dismissed",
    "acceptance_rate": "Acceptance",
    "reason": "Reason",
    "dismissals": "Dismissals",
    "reviewer_a": "Reviewer A",
    "reviewer_b": "Reviewer B",
    "shared_flags": "Flags both decided",
    "agreed": "Agreed",
    "agreement": "Agreement",
    "kappa": "Cohen's kappa",
    "grounder": "Grounder",
    "parser": "Parser",
    "runs": "Runs",
    "full_audits": "Full audits",
    "image_only": "Image only",
    "draft_only": "Draft only",
    "failed_parses": "Failed parses",
    "recovered_parses": "Recovered parses",
    "failed_groundings": "Failed groundings",
    "recovered_groundings": "Recovered groundings",
    "flags": "Flags",
}


def header(column: str) -> str:
    """A column's header in words: from ``HEADERS``, else the name with spaces, capitalised."""
    return HEADERS.get(column) or column.replace("_", " ").capitalize()


def labels_in_words(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose ``label`` column holds display names (``nodule / mass``)."""
    shown = frame.copy()
    if "label" in shown.columns:
        shown["label"] = [DISPLAY_NAMES.get(value, value) for value in shown["label"]]  # type: ignore[call-overload]
    return shown


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with headers in words and canonical labels by their display names."""
    shown = labels_in_words(frame)
    return shown.rename(columns={column: header(str(column)) for column in shown.columns})
