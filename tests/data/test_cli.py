"""``cxr-audit import``, ``demo`` and ``export``: output, exit codes, one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.connection import ENV_DB
from data.records import WorklistQuery
from data.store import Store
from data.worklist import worklist_page
from tests.data.conftest import write_png
from workstation.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_demo_seeds_once_and_if_empty_leaves_it_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "audit.duckdb")
    code, out, _ = run(capsys, "demo", "--db", db, "--cases", "20")
    assert code == 0 and "11 NIH radiographs and 20 synthetic phantoms" in out
    code, out, _ = run(capsys, "demo", "--if-empty", "--db", db)
    assert code == 0 and "already has 31 cases" in out
    assert (tmp_path / "phantoms" / "phantom-001.png").is_file()


def test_demo_audits_its_cases_so_the_worklist_shows_flags_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "audit.duckdb")
    code, out, _ = run(capsys, "demo", "--db", db, "--cases", "20")
    assert code == 0 and "audited 31 case(s) with the reference grounder and the rules parser" in out
    with Store.open(db) as store:
        page = worklist_page(store, WorklistQuery(status="not_audited"))
        assert page.total == 0
        assert worklist_page(store).total == 31  # 11 radiographs and 20 phantoms


def test_demo_can_leave_its_cases_not_audited(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "audit.duckdb")
    code, out, _ = run(capsys, "demo", "--db", db, "--cases", "20", "--no-audit")
    assert code == 0 and "audited" not in out
    with Store.open(db) as store:
        assert worklist_page(store, WorklistQuery(status="not_audited")).total == 31


def test_the_database_can_come_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_DB, str(tmp_path / "env.duckdb"))
    Store.open(tmp_path / "env.duckdb").close()
    code, out, _ = run(capsys, "export", "--format", "jsonl", "--out", str(tmp_path / "x.jsonl"))
    assert code == 0 and "0 rows" in out


def test_export_reads_without_creating_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.duckdb"
    code, out, err = run(
        capsys, "export", "--format", "csv", "--out", str(tmp_path / "x.csv"), "--db", str(missing)
    )
    assert (code, out) == (2, "")
    assert err.startswith(f"cxr-audit export: there is no audit database at {missing}; ")
    assert err.count("\n") == 1
    assert not missing.exists()


def test_import_nih_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = tmp_path / "images"
    write_png(images / "00000001_000.png", np.zeros((64, 64), dtype=np.uint8))
    boxes = tmp_path / "boxes.csv"
    boxes.write_text("Image Index,Finding Label,Bbox [x,y,w,h],,,\n00000001_000.png,Mass,10,10,100,100\n")
    db = str(tmp_path / "audit.duckdb")
    code, out, _ = run(capsys, "import", "nih", "--images", str(images), "--boxes", str(boxes), "--db", db)
    assert code == 0
    assert "1 imported" in out and "reference findings: 1" in out


def test_export_writes_a_file_that_reads_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "audit.duckdb"
    run(capsys, "demo", "--db", str(db), "--cases", "20")
    out_file = tmp_path / "out" / "decisions.parquet"
    code, _, _ = run(capsys, "export", "--format", "parquet", "--out", str(out_file), "--db", str(db))
    assert code == 0 and out_file.is_file()
    assert len(pd.read_parquet(out_file)) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["import", "folder", "--images", "{tmp}/boxes.csv"], "is not a folder"),
        (["import", "nih", "--images", "{tmp}", "--boxes", "{tmp}/boxes.csv"], "not a known box file"),
        (["import", "folder", "--images", "{tmp}", "--label-source", "klingon"], "unknown --label-source"),
        (["demo", "--cases", "5"], "--cases must be between 20 and 40"),
        (["export", "--format", "csv", "--out", "{tmp}/x.csv", "--db", "{tmp}/boxes.csv"], "cannot open"),
    ],
    ids=[
        "images-not-a-folder",
        "unknown-box-file",
        "unknown-label-source",
        "too-few-demo-cases",
        "not-a-database",
    ],
)
def test_bad_input_is_one_line_on_stderr_and_a_non_zero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    (tmp_path / "boxes.csv").write_text("a,b\n1,2\n" * 200)
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--db" not in args:
        args += ["--db", str(tmp_path / "audit.duckdb")]
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own usage errors
        code = int(exit_.code or 0)
    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert "Traceback" not in err
    assert Store  # the CLI never leaves a half-written database behind: nothing to check beyond the exit
