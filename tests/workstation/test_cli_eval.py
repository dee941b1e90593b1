"""``cxr-audit eval``: a worklist in, per-sample JSONL + summary out, the run stored, errors in one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.evaluate import MARKDOWN_FILE, SAMPLES_FILE, SUMMARY_FILE
from audit.schema import Box, ImageFinding
from data.errors import DatabaseLockedError
from data.records import MAX_NOTE_CHARS, CaseRecord
from data.store import Store
from workstation.cli.main import main

RIGHT_LOWER = Box(x0=0.10, y0=0.60, x1=0.40, y1=0.90)  # the patient's right
LEFT_APEX = Box(x0=0.60, y0=0.05, x1=0.85, y1=0.25)  # the patient's left
HEART = Box(x0=0.35, y0=0.45, x1=0.75, y1=0.80)

WORKLIST: dict[str, tuple[ImageFinding, ...]] = {
    "case-a": (ImageFinding(label="pleural_effusion", box=RIGHT_LOWER, source="reference:NIH"),),
    "case-b": (
        ImageFinding(label="pneumothorax", box=LEFT_APEX, source="reference:NIH"),
        ImageFinding(label="cardiomegaly", box=HEART, source="reference:NIH"),
    ),
    "case-c": (),
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "audit.duckdb"
    with Store.open(path) as store:
        for case_id, findings in WORKLIST.items():
            record = CaseRecord(
                case_id=case_id, image_id=f"{case_id}.png", width=512, height=512, source="test"
            )
            store.cases.upsert(record, findings)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_eval_writes_samples_summary_and_markdown_and_stores_the_run(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = run_cli(capsys, "eval", "--db", str(db), "--out", str(out), "--bootstrap", "50")
    assert (code, stderr) == (0, "")
    lines = (out / SAMPLES_FILE).read_text().splitlines()
    assert len(lines) == 3 * 4  # three cases, four corruption kinds
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert (summary["n_input"], summary["n_scored"] + summary["n_failed"]) == (12, 12)
    assert "scored 12 of 12; 0 failed" in stdout
    assert stdout.startswith((out / MARKDOWN_FILE).read_text())
    with Store.open(db) as store:
        runs = store.eval_runs.newest_first()
    assert [(r.grounder, r.parser, r.n_items, r.n_failed) for r in runs] == [("reference", "rules", 12, 0)]
    assert runs[0].out_dir == str(out.resolve())


def test_eval_resumes_into_the_same_folder(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    run_cli(capsys, "eval", "--db", str(db), "--out", str(out), "--limit", "1", "--no-store")
    assert len((out / SAMPLES_FILE).read_text().splitlines()) == 4
    code, _, _ = run_cli(capsys, "eval", "--db", str(db), "--out", str(out), "--no-store")
    assert code == 0
    assert len((out / SAMPLES_FILE).read_text().splitlines()) == 12


def test_eval_with_one_corruption_and_simulated_noise(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    argv = [
        "eval",
        "--db",
        str(db),
        "--out",
        str(out),
        "--corruptions",
        "drop",
        "--noise",
        "high",
        "--no-store",
    ]
    code, _, stderr = run_cli(capsys, *argv)
    assert (code, stderr) == (0, "")
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["config"]["corruptions"] == ["drop"]
    assert summary["config"]["grounder"] == "simulated-high(reference)"


def test_eval_reads_predictions_from_a_findings_dir(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    # case-a: the effusion found; case-b: output cut off mid-list; case-c: nothing found
    (predictions / "case-a.json").write_text(
        json.dumps([{"label": "pleural_effusion", "box_2d": [0.6, 0.1, 0.9, 0.4]}])
    )
    (predictions / "case-b.json").write_text(
        '[{"label": "pneumothorax", "box_2d": [0.05, 0.6, 0.25, 0.85]}, {"lab'
    )
    (predictions / "case-c.json").write_text("[]")
    out = tmp_path / "run"
    code, _, _ = run_cli(
        capsys, "eval", "--db", str(db), "--out", str(out), "--findings-dir", str(predictions)
    )
    assert code == 0
    records = [json.loads(line) for line in (out / SAMPLES_FILE).read_text().splitlines()]
    assert len(records) == 12
    by_case = {r["case_id"]: r for r in records}
    # the truncated generation is recovered and scored, not dropped: the heart it lost lowers recall
    assert by_case["case-b"]["ground_outcome"] == "recovered"
    assert not any(r["failed"] for r in records)
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["n_scored"] == 12
    cardiomegaly = summary["grounding"]["presence"]["cardiomegaly"]["recall"]
    assert (cardiomegaly["numerator"], cardiomegaly["denominator"]) == (0, 1)  # 0 of 1 heart found


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--corruptions", "drop,swap"], "unknown corruption(s) swap"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["--parser", "nope"], "unknown parser 'nope'"),
        (["--grounder", "nope"], "unknown grounder 'nope'"),
        (["--findings-dir", "/nonexistent/predictions"], "is not a folder"),
        (["--source", "vindr"], "the worklist has no cases from source 'vindr'"),
        (["--urgent", "fracture"], "unknown urgent label(s) fracture"),
    ],
    ids=[
        "bad-corruption",
        "zero-limit",
        "unknown-parser",
        "unknown-grounder",
        "missing-dir",
        "empty-source",
        "bad-urgent",
    ],
)
def test_bad_input_is_one_line_on_stderr(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    code, stdout, stderr = run_cli(capsys, "eval", "--db", str(db), "--out", str(tmp_path / "run"), *extra)
    assert code != 0 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("cxr-audit eval: ")
    assert message in stderr


def test_resuming_with_another_seed_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    run_cli(capsys, "eval", "--db", str(db), "--out", str(out), "--no-store")
    code, _, stderr = run_cli(capsys, "eval", "--db", str(db), "--out", str(out), "--seed", "9", "--no-store")
    assert code != 0
    assert stderr.count("\n") == 1 and "other settings" in stderr


def test_a_run_that_cannot_be_stored_says_its_files_are_safe(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = Store.open

    def open_once(*args: Any, **kwargs: Any) -> Store:
        # The cases are read through the first open; storing the run finds the file locked.
        monkeypatch.setattr(Store, "open", _locked)
        return opened(*args, **kwargs)

    monkeypatch.setattr(Store, "open", open_once)
    out = tmp_path / "run"
    code, stdout, stderr = run_cli(capsys, "eval", "--db", str(db), "--out", str(out), "--bootstrap", "0")
    assert code != 0 and (out / SUMMARY_FILE).is_file() and "scored 12 of 12" in stdout
    assert stderr.startswith(
        f"cxr-audit eval: the evaluation finished and its files are in {out}, but storing the run "
        f"failed: the audit database {db} is in use by process 4242"
    )
    assert stderr.count("\n") == 1


def test_eval_reads_a_read_only_database_and_says_only_storing_the_run_failed(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path, read_only: Callable[[Path], Path]
) -> None:
    read_only(db)
    out = tmp_path / "run"
    code, stdout, stderr = run_cli(capsys, "eval", "--db", str(db), "--out", str(out), "--bootstrap", "0")
    assert code != 0 and "scored 12 of 12" in stdout and (out / SUMMARY_FILE).is_file()
    assert stderr.startswith(
        f"cxr-audit eval: the evaluation finished and its files are in {out}, but storing the run "
        f"failed: the audit database {db} is read-only"
    )
    assert stderr.count("\n") == 1


def test_a_note_over_the_limit_is_refused_before_the_evaluation_runs(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = run_cli(capsys, "eval", "--db", str(db), "--out", str(out), "--note", "n" * 5_000)
    assert (code, stdout) == (2, "") and not out.exists()
    assert stderr == (
        f"cxr-audit eval: the note is 5,000 characters long; a note holds at most {MAX_NOTE_CHARS:,} "
        "(nothing was saved)\n"
    )


def _locked(path: Any, *_: Any, **__: Any) -> Store:
    raise DatabaseLockedError(path, 4242)


def test_a_file_that_is_not_a_database_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bogus = tmp_path / "not.duckdb"
    bogus.write_text("hello")
    code, _, stderr = run_cli(capsys, "eval", "--db", str(bogus), "--out", str(tmp_path / "run"))
    assert code != 0 and stderr.count("\n") == 1


@pytest.mark.slow
@pytest.mark.requires_shared_data
def test_eval_runs_on_the_imported_nih_worklist(
    capsys: pytest.CaptureFixture[str], shared_data: Path, tmp_path: Path
) -> None:
    from data.importers.nih import import_nih

    db = tmp_path / "nih.duckdb"
    with Store.open(db) as store:
        import_nih(store, shared_data / "images", boxes=shared_data / "boxes.csv", verify=False)
    out = tmp_path / "run"
    argv = [
        "eval",
        "--db",
        str(db),
        "--out",
        str(out),
        "--source",
        "nih",
        "--reference-source",
        "reference:NIH",
    ]
    code, stdout, stderr = run_cli(capsys, *argv, "--limit", "40", "--bootstrap", "100")
    assert (code, stderr) == (0, "")
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert (summary["n_cases"], summary["n_input"]) == (40, 160)
    assert summary["n_scored"] + summary["n_failed"] == 160
    assert "Stored as eval run 1" in stdout
