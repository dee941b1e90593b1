"""``cxr-audit import reports``, ``generate`` and ``eval-reports`` from the outside: files in,
drafts and generations stored, ``report_eval.json`` out, errors in one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audit.schema import Box, ImageFinding
from bench.fake_endpoint import FakeEndpoint, Reply, serve
from data.records import MAX_NOTE_CHARS, CaseRecord
from data.store import Store
from models.registry import MEDGEMMA_BASE_ID
from workstation.cli.main import main

RIGHT_LOWER = Box(x0=0.10, y0=0.60, x1=0.40, y1=0.90)  # the patient's right
LEFT_APEX = Box(x0=0.60, y0=0.05, x1=0.85, y1=0.25)
CASES: dict[str, tuple[ImageFinding, ...]] = {
    "case-a": (ImageFinding(label="pleural_effusion", box=RIGHT_LOWER, source="reference:NIH"),),
    "case-b": (ImageFinding(label="pneumothorax", box=LEFT_APEX, source="reference:NIH"),),
    "case-c": (),
}
FAITHFUL = {
    "case-a": "Small right pleural effusion.",
    "case-b": "Left apical pneumothorax.",
    "case-c": "No acute cardiopulmonary abnormality.",
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "audit.duckdb"
    with Store.open(path) as store:
        for index, (case_id, findings) in enumerate(CASES.items()):
            image = tmp_path / f"{case_id}.png"
            Image.fromarray(np.full((64, 64), 40 * (index + 1), dtype=np.uint8)).save(image)
            record = CaseRecord(
                case_id=case_id,
                image_id=image.name,
                image_path=str(image),
                width=64,
                height=64,
                source="nih",
            )
            store.cases.upsert(record, findings)
    return path


@pytest.fixture
def endpoint() -> Iterator[FakeEndpoint]:
    with serve(FakeEndpoint(served=(MEDGEMMA_BASE_ID,))) as running:
        yield running


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def reports_csv(tmp_path: Path, generator: str, texts: dict[str, str]) -> Path:
    path = tmp_path / f"{generator}.csv"
    lines = ["case_id,generator,text", *(f'{case},{generator},"{text}"' for case, text in texts.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class TestImportReports:
    def test_a_file_is_stored_once_with_its_counts_and_rejections(
        self, capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
    ) -> None:
        path = reports_csv(tmp_path, "faithful", {**FAITHFUL, "case-z": "x"})
        code, out, err = run_cli(capsys, "import", "reports", "--reports", str(path), "--db", str(db))
        assert (code, err) == (0, "")
        assert "3 stored (3 new, 0 replacing an earlier report), 0 unchanged, 1 rejected" in out
        assert "rejected row 5: no case 'case-z' in the database" in out
        code, out, _ = run_cli(capsys, "import", "reports", "--reports", str(path), "--db", str(db))
        assert code == 0 and "0 stored (0 new, 0 replacing an earlier report), 3 unchanged" in out

    def test_a_file_without_the_columns_is_one_line_on_stderr(
        self, capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
    ) -> None:
        path = tmp_path / "bad.csv"
        path.write_text("case,report\ncase-a,x\n", encoding="utf-8")
        code, out, err = run_cli(capsys, "import", "reports", "--reports", str(path), "--db", str(db))
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and "lacks the column(s) generator, text" in err


class TestGenerate:
    def test_the_openai_generator_stores_one_generated_draft_per_case_and_counts_failures(
        self, capsys: pytest.CaptureFixture[str], db: Path, endpoint: FakeEndpoint
    ) -> None:
        # case-b gets nothing back, on the first try and on both retries
        endpoint.replies = [Reply(content="Small right pleural effusion."), *[Reply(content="")] * 3]
        endpoint.default = lambda request: Reply(content="No acute cardiopulmonary abnormality.")
        args = ("generate", "--generator", "openai", "--endpoint", endpoint.url, "--db", str(db))
        code, out, err = run_cli(capsys, *args, "--concurrency", "1", "--no-progress")
        assert code == 0, err
        name = f"openai:{MEDGEMMA_BASE_ID}"
        assert f"3 report(s) by {name} (openai, profile medgemma-report): 2 ok, 0 recovered, 1 failed" in out
        assert "failed case-b: all 3 attempts failed; last: the generator returned no report text" in out
        with Store.open(db) as store:
            reports = store.generations.reports()[name]
            assert sorted(reports) == ["case-a", "case-b", "case-c"]
            assert reports["case-b"].failed and reports["case-a"].text == "Small right pleural effusion."
            drafts = [d for c in CASES for d in store.drafts.for_case(c, kind="generated")]
            assert sorted(d.case_id for d in drafts) == ["case-a", "case-c"]
            assert {d.author for d in drafts} == {name}
            (failed,) = [g for g in store.generations.for_case("case-b")]
            assert failed.raw_text == "" and failed.run is not None and len(failed.run["attempts"]) == 3

        code, out, _ = run_cli(capsys, *args, "--no-progress")
        assert code == 0 and "1 report(s)" in out and "2 case(s) skipped" in out  # the failed one again

    def test_the_generators_name_is_checked_and_unknown_cases_named(
        self, capsys: pytest.CaptureFixture[str], db: Path, endpoint: FakeEndpoint, tmp_path: Path
    ) -> None:
        args = ("generate", "--generator", "openai", "--endpoint", endpoint.url, "--db", str(db))
        code, _, err = run_cli(capsys, *args, "--name", "has spaces")
        assert code == 2 and "is not a usable name" in err and "--name" in err
        cases = tmp_path / "cases.txt"
        cases.write_text("case-a\nnope\n", encoding="utf-8")
        code, _, err = run_cli(capsys, *args, "--cases", str(cases))
        assert code == 2 and "1 case id(s)" in err and "nope" in err

    def test_an_endpoint_that_is_down_is_one_line(self, capsys: pytest.CaptureFixture[str], db: Path) -> None:
        code, out, err = run_cli(
            capsys,
            "generate",
            "--generator",
            "openai",
            "--endpoint",
            "http://127.0.0.1:9/v1",
            "--db",
            str(db),
        )
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert "cannot reach the OpenAI-compatible endpoint" in err


class TestEvalReports:
    def test_generators_are_scored_side_by_side_and_the_evaluation_stored(
        self, capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
    ) -> None:
        silent = dict.fromkeys(CASES, "No acute cardiopulmonary abnormality.")
        for name, texts in (("faithful", FAITHFUL), ("silent", silent)):
            run_cli(
                capsys,
                "import",
                "reports",
                "--reports",
                str(reports_csv(tmp_path, name, texts)),
                "--db",
                str(db),
            )
        out_dir = tmp_path / "eval"
        code, out, err = run_cli(
            capsys,
            "eval-reports",
            "--db",
            str(db),
            "--out",
            str(out_dir),
            "--bootstrap",
            "50",
            "--no-progress",
        )
        assert code == 0, err
        document = json.loads((out_dir / "report_eval.json").read_text(encoding="utf-8"))
        faithful, silent_scores = document["generators"]["faithful"], document["generators"]["silent"]
        assert (faithful["cases"], faithful["failed"], faithful["macro_f1"]) == (3, 0, 1.0)
        assert faithful["flag_rates"]["MISSING"] == 0.0 and faithful["flag_rates"]["UNSUPPORTED"] == 0.0
        assert silent_scores["pathology"]["pneumothorax"]["recall"] == 0.0
        assert silent_scores["pathology"]["pneumothorax"]["n_positive"] == 1
        assert silent_scores["flag_rates"]["MISSING"] == pytest.approx(2 / 3)
        assert any(d["figure"] == "macro_f1" and d["cases"] == 3 for d in document["differences"])
        assert (
            "# Report generators against the expert boxes" in out and "Stored as report evaluation 1" in out
        )
        with Store.open(db) as store:
            (stored,) = store.report_evaluations.newest_first()
            assert stored.generators == ("faithful", "silent") and stored.n_cases == 3
            assert stored.evaluation == document

    def test_a_generator_without_reports_is_one_line(
        self, capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
    ) -> None:
        args = ("eval-reports", "--db", str(db), "--out", str(tmp_path / "eval"))
        code, _, err = run_cli(capsys, *args)
        assert code == 2 and "the database has no generated reports" in err
        run_cli(
            capsys,
            "import",
            "reports",
            "--reports",
            str(reports_csv(tmp_path, "g", FAITHFUL)),
            "--db",
            str(db),
        )
        code, _, err = run_cli(capsys, *args, "--generator", "other")
        assert code == 2 and "no reports by other in the database; it has: g" in err

    def test_a_note_over_the_limit_is_refused_before_anything_is_scored(
        self, capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
    ) -> None:
        path = reports_csv(tmp_path, "g", FAITHFUL)
        run_cli(capsys, "import", "reports", "--reports", str(path), "--db", str(db))
        out_dir = tmp_path / "eval"
        args = ("eval-reports", "--db", str(db), "--out", str(out_dir), "--no-progress")
        code, out, err = run_cli(capsys, *args, "--note", "x" * (MAX_NOTE_CHARS + 1))
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert f"{MAX_NOTE_CHARS:,}" in err and not out_dir.exists()
        with Store.open(db) as store:
            assert store.report_evaluations.newest_first() == []
