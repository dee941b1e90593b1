"""The Models page's facts: which backends can run here, what each still needs, and a smoke test.

Listing backends never imports torch (packages are looked up with ``find_spec``); only
the explicit GPU check and a backend's own test import what that backend needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from audit.protocols import AuditCase, DraftParser, Grounder
from models.availability import BackendStatus, GpuStatus, status_of
from models.registry import REGISTRY
from models.settings import load_settings

SMOKE_DRAFT = "Small right pleural effusion. No pneumothorax."


def statuses(gpu: GpuStatus | None = None) -> list[BackendStatus]:
    """Every registered backend's status under the user's settings (``gpu`` None: not checked yet)."""
    return [status_of(spec, load_settings(backend=spec.settings_sections), gpu) for spec in REGISTRY.values()]


def needs_lines(found: list[BackendStatus]) -> list[str]:
    """One Markdown line per backend that cannot run yet (what it needs) or runs with a caveat."""
    lines = []
    for item in found:
        if item.needs:
            lines.append(f"**{item.name}** ({item.kind}) needs: " + "; ".join(item.needs))
        if item.notes:
            lines.append(f"**{item.name}** ({item.kind}): " + "; ".join(item.notes))
    return lines


def status_rows(found: list[BackendStatus]) -> list[dict[str, Any]]:
    rows = []
    for item in found:
        weights = "" if item.weights_found is None else ("found" if item.weights_found else "not found")
        rows.append(
            {
                "kind": item.kind,
                "backend": item.name,
                "ready": "yes" if item.ready else "no",
                "runs on": item.runs_on,
                "packages": ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in item.packages.items())
                or "none",
                "model": item.model_id or "",
                "profile": item.profile or "",
                "endpoint": item.endpoint or "",
                "weights": weights,
            }
        )
    return rows


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    summary: str
    seconds: float


def smoke_parser(parser: DraftParser) -> SmokeResult:
    started = time.perf_counter()
    reading = parser.parse(SMOKE_DRAFT)
    seconds = time.perf_counter() - started
    labels = ", ".join(f"{item.label} {item.status}" for item in reading.labels) or "no labels"
    ok = reading.outcome.status != "failed"
    detail = labels if ok else f"parse failed: {reading.outcome.error}"
    return SmokeResult(ok, f"“{SMOKE_DRAFT}” → {detail} ({reading.outcome.status})", seconds)


def smoke_grounder(grounder: Grounder, case: AuditCase) -> SmokeResult:
    started = time.perf_counter()
    reading = grounder.ground(case)
    seconds = time.perf_counter() - started
    ok = reading.outcome.status != "failed"
    detail = (
        f"{len(reading.findings)} finding(s): {', '.join(f.label for f in reading.findings) or 'none'}"
        if ok
        else f"grounding failed: {reading.outcome.error}"
    )
    return SmokeResult(ok, f"case {case.case_id} → {detail} ({reading.outcome.status})", seconds)
