"""Ground once, compare many, through the CLI: reference run = 1.0, empty run = 0 recall, failures kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finetune.comparison_report import JSON_FILE, MARKDOWN_FILE
from finetune.grounding import RUN_FILE, read_case_ids
from workstation.cli.main import main

CASES = ["a", "b", "c", "e", "f", "g"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def db(annotated_folder: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    images, annotations = annotated_folder
    path = tmp_path_factory.mktemp("db") / "audit.duckdb"
    assert (
        main(
            [
                "import",
                "folder",
                "--db",
                str(path),
                "--images",
                str(images),
                "--annotations",
                str(annotations),
            ]
        )
        == 0
    )
    return path


@pytest.fixture
def cases_file(tmp_path: Path) -> Path:
    path = tmp_path / "cases.txt"
    path.write_text("# held-out cases\n" + "\n".join(CASES) + "\n", encoding="utf-8")
    return path


def ground(capsys: pytest.CaptureFixture[str], db: Path, cases: Path, out: Path, *extra: str) -> str:
    code, stdout, stderr = run_cli(
        capsys, "ground", "--db", str(db), "--cases", str(cases), "--out", str(out), "--no-progress", *extra
    )
    assert code == 0, stderr
    return stdout


def test_a_run_identical_to_the_reference_scores_1_and_an_empty_run_0_recall(
    capsys: pytest.CaptureFixture[str], db: Path, cases_file: Path, tmp_path: Path
) -> None:
    ground(capsys, db, cases_file, tmp_path / "ref", "--grounder", "reference")
    empty = tmp_path / "empty.json"
    empty.write_text("[]", encoding="utf-8")
    ground(capsys, db, cases_file, tmp_path / "none", "--grounder", "findings-file", "--findings", str(empty))
    out = tmp_path / "cmp"
    code, stdout, stderr = run_cli(
        capsys,
        "compare-grounders",
        "--db",
        str(db),
        "--cases",
        str(cases_file),
        "--run",
        f"reference={tmp_path / 'ref'}",
        "--run",
        f"empty={tmp_path / 'none'}",
        "--out",
        str(out),
        "--bootstrap",
        "100",
    )
    assert (code, stderr) == (0, "")
    data = json.loads((out / JSON_FILE).read_text())
    ref, none = data["runs"]["reference"], data["runs"]["empty"]
    assert (ref["scored"], ref["failed"]) == (6, 0)
    assert ref["presence_macro_f1"]["value"] == 1.0
    assert {k: v["value"] for k, v in ref["box_hit_rate"].items()} == {"0.3": 1.0, "0.5": 1.0}
    assert {k: v["value"] for k, v in ref["box_precision"].items()} == {"0.3": 1.0, "0.5": 1.0}
    assert ref["mean_iou"]["value"] == 1.0
    assert {k: v["value"] for k, v in ref["urgent_recall"].items()} == {
        "pneumothorax": 1.0,
        "nodule_mass": 1.0,
    }
    assert {k: v["value"] for k, v in none["urgent_recall"].items()} == {
        "pneumothorax": 0.0,
        "nodule_mass": 0.0,
    }
    assert {k: v["value"] for k, v in none["box_hit_rate"].items()} == {"0.3": 0.0, "0.5": 0.0}
    assert all(v["value"] in (0.0, None) for v in none["presence_recall"].values())
    assert (
        ref["urgent_recall"]["pneumothorax"]["n"] == 1 and ref["urgent_recall"]["pneumothorax"]["directional"]
    )
    hit = next(d for d in data["differences"] if d["figure"] == "box_hit_rate.0.5")
    assert (hit["earlier"], hit["later"], hit["difference"]) == ("reference", "empty", -1.0)
    assert hit["ci_low"] == hit["ci_high"] == -1.0 and hit["directional"]
    assert "| box hit rate @ IoU 0.5 | 1.000" in (out / MARKDOWN_FILE).read_text()
    assert "Research and education only" in stdout
    assert "Stored as comparison 1" in stdout  # for the Evaluation page


def test_failed_and_missing_cases_are_counted_listed_and_scored_as_silence(
    capsys: pytest.CaptureFixture[str], db: Path, cases_file: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "findings"
    folder.mkdir()
    (folder / "c.json").write_text('[{"label": "pneumothorax", "box_2d": [0.0625, 0.625, 0.375, 0.9375]}]')
    (folder / "b.json").write_text("I cannot see a nodule here.")
    partial = tmp_path / "partial-cases.txt"
    partial.write_text("b\nc\n", encoding="utf-8")
    stdout = ground(
        capsys, db, partial, tmp_path / "run", "--grounder", "findings-file", "--findings", str(folder)
    )
    assert "1 failed" in stdout and "failed b:" in stdout
    run = json.loads((tmp_path / "run" / RUN_FILE).read_text())
    assert [f["case_id"] for f in run["failures"]] == ["b"]
    again = ground(
        capsys, db, partial, tmp_path / "run", "--grounder", "findings-file", "--findings", str(folder)
    )
    assert "Grounded 2 of 2" in again  # resumed: nothing grounded twice
    out = tmp_path / "cmp"
    code, _, stderr = run_cli(
        capsys,
        "compare-grounders",
        "--db",
        str(db),
        "--cases",
        str(cases_file),
        "--run",
        f"model={tmp_path / 'run'}",
        "--out",
        str(out),
        "--bootstrap",
        "0",
    )
    assert (code, stderr) == (0, "")
    model = json.loads((out / JSON_FILE).read_text())["runs"]["model"]
    assert (model["scored"], model["failed"], model["parse_failures"], model["not_grounded"]) == (1, 5, 1, 4)
    assert {f["case_id"] for f in model["failures"]} == {"a", "b", "e", "f", "g"}
    assert model["urgent_recall"]["pneumothorax"]["value"] == 1.0
    assert model["urgent_recall"]["nodule_mass"]["value"] == 0.0  # b's unreadable answer counted as silence


@pytest.mark.requires_torch
def test_a_model_grounder_s_garbage_is_a_listed_failure_with_every_raw_attempt(
    capsys: pytest.CaptureFixture[str],
    db: Path,
    tiny_base: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXR_AUDIT_MAX_NEW_TOKENS", "16")  # random weights never stop on their own
    cases = tmp_path / "cases.csv"
    cases.write_text("case_id\nc\n", encoding="utf-8")
    ground(
        capsys,
        db,
        cases,
        tmp_path / "tiny",
        "--grounder",
        "medgemma",
        "--model",
        str(tiny_base),
        "--device",
        "cpu",
        "--quantization",
        "fp32",
    )
    grounded = json.loads((tmp_path / "tiny" / "c.json").read_text())
    assert grounded["reading"]["outcome"]["status"] == "failed"
    raw = json.loads((tmp_path / "tiny" / "raw" / "c.json").read_text())
    assert len(raw["attempts"]) == 3 and all(a["raw"] is not None for a in raw["attempts"])


def test_unknown_case_ids_are_named_in_one_line(
    capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path
) -> None:
    cases = tmp_path / "cases.txt"
    cases.write_text("a\nnot-a-case\n", encoding="utf-8")
    code, _, stderr = run_cli(
        capsys,
        "ground",
        "--db",
        str(db),
        "--grounder",
        "reference",
        "--cases",
        str(cases),
        "--out",
        str(tmp_path / "x"),
    )
    assert code == 2 and "1 of 2 case id(s) are not in the database: not-a-case" in stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("ids.txt", "a\n# comment\nb  # trailing\na\n", ["a", "b"]),
        ("ids.csv", "case_id,image\na,x.png\nb,y.png\n", ["a", "b"]),
        ("ids.jsonl", '{"case_id": "a"}\n\n{"case_id": "b"}\n', ["a", "b"]),
    ],
    ids=["text", "csv", "jsonl"],
)
def test_a_cases_file_may_be_text_csv_or_jsonl(
    tmp_path: Path, name: str, text: str, expected: list[str]
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert read_case_ids(path) == expected
