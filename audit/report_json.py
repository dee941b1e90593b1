"""The JSON shapes of the ``cxr-audit`` contract (ARCHITECTURE.md, command line).

One place for them, so the CLI, exports and tests agree on every key.
"""

from __future__ import annotations

from typing import Any

from audit.schema import AuditReport, DraftLabel, DraftReading, Flag, ImageFinding, ParseOutcome


def outcome_notes(kind: str, outcome: ParseOutcome) -> list[str]:
    """Human lines describing an outcome: the error, each repair, the dropped count."""
    notes: list[str] = []
    if outcome.status == "failed":
        notes.append(f"{kind} failed: {outcome.error}")
    notes.extend(f"{kind}: {repair}" for repair in outcome.repairs)
    if outcome.dropped_items:
        notes.append(f"{kind}: {outcome.dropped_items} item(s) dropped (reasons above)")
    return notes


def draft_label_json(item: DraftLabel) -> dict[str, Any]:
    return {
        "label": item.label,
        "status": item.status,
        "span": item.span,
        "start": item.start,
        "end": item.end,
        "laterality": item.side,
        "rule": item.rule_id,
        "verified": item.verified,
    }


def finding_json(item: ImageFinding) -> dict[str, Any]:
    return {
        "label": item.label,
        "box": item.box.as_list() if item.box else None,
        "score": item.score,
        "source": item.source,
    }


def flag_json(flag: Flag) -> dict[str, Any]:
    return {
        "type": flag.type,
        "label": flag.label,
        "box": flag.box.as_list() if flag.box else None,
        "phrase": flag.phrase,
        "reason": flag.reason,
    }


def parse_json(reading: DraftReading) -> dict[str, Any]:
    """``cxr-audit parse``: {"parser", "outcome", "labels", "notes"}."""
    return {
        "parser": reading.backend,
        "outcome": reading.outcome.status,
        "labels": [draft_label_json(item) for item in reading.labels],
        "notes": outcome_notes("draft parse", reading.outcome),
    }


def audit_json(report: AuditReport) -> dict[str, Any]:
    """``cxr-audit audit``: {"flags", "image_findings", "draft_labels", "notes"}."""
    notes = [f"audit mode: {report.mode}"]
    notes.extend(report.warnings)
    if report.image is not None:
        notes.extend(outcome_notes("grounding", report.image.outcome))
    if report.draft is not None:
        notes.extend(outcome_notes("draft parse", report.draft.outcome))
    return {
        "flags": [flag_json(flag) for flag in report.flags],
        "image_findings": [finding_json(f) for f in report.image.findings] if report.image else [],
        "draft_labels": [draft_label_json(d) for d in report.draft.labels] if report.draft else [],
        "notes": notes,
    }
