"""The Models page's facts: which backends can run here, what each still needs, and a smoke test.

Listing backends never imports torch (packages are looked up with ``find_spec``); only
the explicit GPU check and a backend's own test import what that backend needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.protocols import AuditCase, DraftParser, Grounder
from models.availability import BackendStatus, GpuStatus, status_of
from models.checkpoints import names as profile_names
from models.registry import REGISTRY, Kind, spec_for
from models.settings import load_settings, update_config_file, writable_config_path

SMOKE_DRAFT = "Small right pleural effusion. No pneumothorax."
AUTOMATIC = "automatic (the model's own, else the default)"
# The backends that load weights on this machine: (kind, name).
LOCAL_BACKENDS: tuple[tuple[Kind, str], ...] = (("grounder", "medgemma"), ("parser", "nemotron"))


@dataclass(frozen=True)
class LocalWeights:
    """What the settings say a model backend loads: its model id or folder, and profile."""

    kind: Kind
    name: str
    model_id: str  # what it loads now: a folder, or the hub id
    folder: str  # the local folder set, or "" when it loads from the hub
    profile: str | None
    profiles: tuple[str, ...]  # the profiles this backend may call a folder with


def is_local_folder(model_id: str) -> bool:
    """Whether a model id names a folder on this machine rather than a hub model."""
    return model_id.startswith(("/", "~", ".")) or Path(model_id).expanduser().is_dir()


def local_weights() -> list[LocalWeights]:
    found = []
    for kind, name in LOCAL_BACKENDS:
        spec = spec_for(kind, name)
        settings = load_settings(backend=spec.settings_sections)
        task = "grounding" if kind == "grounder" else "parsing"
        model_id = spec.model_id(settings) or ""
        local = is_local_folder(model_id)
        found.append(
            LocalWeights(
                kind, name, model_id, model_id if local else "", settings.profile, tuple(profile_names(task))
            )
        )
    return found


def save_local_weights(kind: Kind, name: str, folder: str, profile: str | None) -> str:
    """Store a backend's local weights folder and profile in the user's settings file.

    An empty folder goes back to the default model id. Raises ValueError when the folder
    holds no model (no config.json), and SettingsError when the result is not valid settings.
    """
    spec = spec_for(kind, name)
    model_id: str | None = None
    if folder.strip():
        path = Path(folder.strip()).expanduser()
        if not (path / "config.json").is_file():
            raise ValueError(f"{path} holds no config.json: give the folder the weights were downloaded to")
        model_id = str(path)
    target = writable_config_path()
    update_config_file(target, spec.settings_sections[-1], {"model_id": model_id, "profile": profile})
    what = model_id or f"the default {spec.default_model_id}"
    return f"{name} now loads {what} (profile: {profile or 'automatic'}); saved in {target}"


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


def status_rows(found: list[BackendStatus], *, show_paths: bool = True) -> list[dict[str, Any]]:
    """The status table; without ``show_paths`` a model loaded from a folder reads "a local folder"."""
    rows = []
    for item in found:
        model = item.model_id or ""
        if not show_paths and is_local_folder(model):
            model = "a local folder"
        weights = "" if item.weights_found is None else ("found" if item.weights_found else "not found")
        rows.append(
            {
                "kind": item.kind,
                "backend": item.name,
                "ready": "yes" if item.ready else "no",
                "runs on": item.runs_on,
                "packages": ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in item.packages.items())
                or "none",
                "model": model,
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
