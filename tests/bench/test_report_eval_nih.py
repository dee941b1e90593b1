"""Issue 17's done-when on the shared data: on the NIH cases boxed by NIH readers alone, a
faithful generator scores macro-F1 ≥ 0.99 with no MISSING or UNSUPPORTED flag, and a silent
one has no recall and is flagged MISSING wherever a finding is boxed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.report_eval_nih import boxed_by_nih_alone, cli, with_nih_findings, write_reports


@pytest.mark.slow
@pytest.mark.requires_shared_data
def test_faithful_and_silent_generators_on_the_nih_boxed_cases(shared_data: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "audit.duckdb")
    code, _ = cli(
        "import", "nih", "--images", str(shared_data / "images"), "--boxes", str(shared_data / "boxes.csv"),
        "--no-verify", "--db", db,
    )  # fmt: skip
    assert code == 0
    case_ids = boxed_by_nih_alone(shared_data)
    assert len(case_ids) == 880 - 72  # every NIH-boxed image, less the 72 ChestX-Det also read
    cases = tmp_path / "cases.txt"
    cases.write_text("\n".join(case_ids) + "\n", encoding="utf-8")
    files = write_reports(tmp_path, Path(db), case_ids)
    for name in ("faithful", "silent"):
        code, printed = cli("import", "reports", "--reports", str(files[name]), "--db", db)
        assert code == 0 and f"{len(case_ids)} stored" in printed and "0 rejected" in printed
    out = tmp_path / "eval"
    code, _ = cli(
        "eval-reports", "--cases", str(cases), "--generator", "faithful", "--generator", "silent",
        "--reference-source", "NIH", "--bootstrap", "0", "--out", str(out), "--no-progress", "--db", db,
    )  # fmt: skip
    assert code == 0
    generators = json.loads((out / "report_eval.json").read_text(encoding="utf-8"))["generators"]
    faithful, silent = generators["faithful"], generators["silent"]
    assert (faithful["cases"], faithful["failed"]) == (len(case_ids), 0)
    assert faithful["macro_f1"] >= 0.99
    assert faithful["flag_rates"]["MISSING"] == 0.0 and faithful["flag_rates"]["UNSUPPORTED"] == 0.0
    assert all(row["recall"] == 0.0 and row["n_positive"] > 0 for row in silent["pathology"].values())
    missing = silent["flag_counts"]["MISSING"]
    assert (missing["cases"], missing["of"]) == (with_nih_findings(Path(db), case_ids), len(case_ids))
    assert silent["flag_rates"]["UNSUPPORTED"] == 0.0
