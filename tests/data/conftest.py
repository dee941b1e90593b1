"""Fixtures for the data layer: stores (in memory and on disk), audited cases, image files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audit.compare import compare
from audit.schema import AuditReport, Box, DraftLabel, DraftReading, ImageFinding, ImageReading
from data.records import CaseRecord, ReferenceFinding
from data.store import Store

PTX_BOX = Box(x0=0.1, y0=0.1, x1=0.3, y1=0.4)  # on the patient's right
EFFUSION_BOX = Box(x0=0.6, y0=0.6, x1=0.9, y1=0.85)  # on the patient's left


def draft_reading(text: str, *labels: tuple[str, str, str]) -> DraftReading:
    """A parsed draft built by hand: each label is (label, status, phrase found in ``text``)."""
    items = []
    for label, status, phrase in labels:
        start = text.index(phrase)
        items.append(
            DraftLabel(
                label=label, status=status, span=phrase, start=start, end=start + len(phrase), backend="test"
            )
        )
    return DraftReading(backend="test-parser", text=text, labels=tuple(items))


def make_report(findings: tuple[ImageFinding, ...], draft: DraftReading | None) -> AuditReport:
    image = ImageReading(backend="reference", findings=findings)
    result = compare(image, draft)
    return AuditReport(
        mode="full" if draft is not None else "image_only",
        flags=result.flags,
        image=image,
        draft=draft,
        warnings=result.warnings,
        timings={"ground_s": 0.001, "parse_s": 0.002},
    )


def ptx_report() -> AuditReport:
    """A right pneumothorax the draft denies: URGENT and MISSING."""
    finding = ImageFinding(label="pneumothorax", box=PTX_BOX, source="reference:NIH")
    return make_report(
        (finding,), draft_reading("No pneumothorax.", ("pneumothorax", "absent", "No pneumothorax"))
    )


def add_case(
    store: Store, case_id: str, *, source: str = "nih", findings: tuple[ReferenceFinding, ...] = ()
) -> None:
    store.cases.upsert(
        CaseRecord(case_id=case_id, image_id=f"{case_id}.png", source=source, width=512, height=512), findings
    )


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as opened:
        yield opened


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.duckdb"


@pytest.fixture
def file_store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as opened:
        yield opened


@pytest.fixture
def audited(store: Store) -> tuple[Store, tuple[int, ...]]:
    """A store with case "ptx" audited once: flags (URGENT, MISSING); returns the flag ids."""
    add_case(
        store,
        "ptx",
        findings=(ReferenceFinding(label="pneumothorax", box=PTX_BOX, source="reference:NIH"),),
    )
    saved = store.audits.save("ptx", ptx_report(), grounder_version="1", parser_version="2")
    return store, saved.flag_ids


def write_png(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def gradient(width: int = 64, height: int = 48) -> np.ndarray:
    return np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
