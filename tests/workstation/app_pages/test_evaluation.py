"""The Evaluation page under AppTest: stored grounder comparisons are shown with their counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

from audit.protocols import AuditCase
from audit.schema import Box, ImageFinding
from data.store import Store
from finetune.comparison import compare
from finetune.grounding import GroundingRun, ground_cases
from models.findings_file import FindingsFileGrounder
from models.reference import ReferenceGrounder
from tests.workstation.conftest import no_exceptions


def stored_comparison(store: Store, tmp_path: Path) -> int:
    """A comparison of the reference grounder with an empty run on two cases, stored in ``store``."""
    box = Box(x0=0.6, y0=0.1, x1=0.9, y1=0.4)
    cases = [
        AuditCase(case_id=f"c{i}", draft="", reference=(ImageFinding(label="pneumothorax", box=box),))
        for i in range(2)
    ]
    empty = tmp_path / "empty.json"
    empty.write_text("[]", encoding="utf-8")
    for name, grounder in (("ref", ReferenceGrounder()), ("empty", FindingsFileGrounder(empty))):
        ground_cases(
            cases,
            grounder,
            tmp_path / name,
            GroundingRun(grounder=name, model=None, cases_file="-", n_cases=2),
        )
    comparison = compare(
        cases, {"ref": tmp_path / "ref", "empty": tmp_path / "empty"}, urgent=["pneumothorax"], reps=20
    )
    return store.comparisons.save(
        runs=["ref", "empty"],
        n_cases=2,
        comparison=json.loads(comparison.model_dump_json()),
        out_dir=None,
        note=None,
    )


def test_the_evaluation_page_shows_stored_grounder_comparisons(
    app: Callable[..., AppTest], app_db: Store, tmp_path: Path
) -> None:
    comparison_id = stored_comparison(app_db, tmp_path)
    at = app("evaluation")

    no_exceptions(at)
    assert "Stored grounder comparisons" in [header.value for header in at.subheader]
    assert any(f"Comparison {comparison_id}: ref vs empty on 2 cases" in e.label for e in at.expander)
    frames = [frame.value for frame in at.dataframe]
    table = next(frame for frame in frames if "run" in frame.columns)
    assert list(table["run"]) == ["ref", "empty"]
    assert list(table["box hit @0.5"]) == ["1.000 (2/2) †", "0.000 (0/2) †"]  # 2 boxes: directional
    assert list(table["urgent recall · pneumothorax"]) == ["1.000 (2/2) †", "0.000 (0/2) †"]
    differences = next(frame for frame in frames if "95% interval" in frame.columns)
    assert "-1.000 †" in list(differences["difference"])


def test_the_evaluation_tables_speak_words_not_snake_case(app: Callable[..., AppTest], app_db: Store) -> None:
    from workstation import services

    for case_id, decision in (("case-ptx", "accept"), ("case-phantom", "dismiss")):
        stored, _ = services.ensure_audited(app_db, case_id)
        for reviewer in ("ana", "bo"):
            services.decide(app_db, stored.flag_ids[0], reviewer, decision)  # type: ignore[arg-type]

    at = app("evaluation")

    no_exceptions(at)
    frames = [frame.value for frame in at.dataframe]
    assert len(frames) >= 5
    for frame in frames:
        assert not [column for column in frame.columns if "_" in str(column)], list(frame.columns)
    by_label = next(frame for frame in frames if "Label" in frame.columns and "Acceptance" in frame.columns)
    assert "nodule / mass" in by_label["Label"].tolist()
