"""The ``cxr-audit`` contract (ARCHITECTURE.md, Command line): exact JSON shapes, clean errors."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audit.labels import DEFAULT_URGENT, FINDING_LABELS
from tests.audit.factories import INVALID_BOX_2D
from workstation.cli.main import main
from workstation.cli.parse_cmd import stdin_drafts

PARSE_KEYS = {"parser", "outcome", "labels", "notes"}
LABEL_KEYS = {"label", "status", "span", "start", "end"}
AUDIT_KEYS = {"flags", "image_findings", "draft_labels", "notes"}
FLAG_KEYS = {"type", "label", "box", "phrase", "reason"}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def ptx_findings(tmp_path: Path) -> Path:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps([{"label": "pneumothorax", "box_2d": [0.08, 0.55, 0.40, 0.90]}]))
    return path


def test_audit_of_a_denied_pneumothorax_prints_missing_and_urgent_with_box_and_phrase(
    capsys: pytest.CaptureFixture[str], ptx_findings: Path
) -> None:
    code, out, err = run_cli(capsys, "audit", "--findings", str(ptx_findings), "--draft", "No pneumothorax.")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert set(result) == AUDIT_KEYS
    assert [(f["type"], f["label"]) for f in result["flags"]] == [
        ("URGENT", "pneumothorax"),
        ("MISSING", "pneumothorax"),
    ]
    for flag in result["flags"]:
        assert set(flag) >= FLAG_KEYS
        assert flag["box"] == [0.55, 0.08, 0.9, 0.4]
    assert result["flags"][1]["phrase"] == "No pneumothorax"
    assert result["image_findings"][0]["label"] == "pneumothorax"
    assert result["draft_labels"][0]["status"] == "absent"


def test_findings_may_come_wrapped_in_an_object_in_per_mille(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"findings": [{"label": "cardiomegaly", "box_2d": [400, 300, 800, 700]}]}))
    code, out, _ = run_cli(capsys, "audit", "--findings", str(path), "--draft", "Lungs are clear.")
    result = json.loads(out)
    assert code == 0
    assert [(f["type"], f["label"], f["box"]) for f in result["flags"]] == [
        ("MISSING", "cardiomegaly", [0.3, 0.4, 0.7, 0.8])
    ]


def test_parse_prints_labels_with_exact_spans(capsys: pytest.CaptureFixture[str]) -> None:
    text = "There is no cardiomegaly, but a small right effusion."
    code, out, _ = run_cli(capsys, "parse", "--text", text)
    result = json.loads(out)
    assert code == 0
    assert set(result) == PARSE_KEYS
    assert result["parser"] == "rules"
    assert result["outcome"] == "ok"
    by_label = {item["label"]: item for item in result["labels"]}
    assert by_label["cardiomegaly"]["status"] == "absent"
    assert by_label["pleural_effusion"]["status"] == "present"
    assert by_label["pleural_effusion"]["laterality"] == "right"
    for item in result["labels"]:
        assert set(item) >= LABEL_KEYS
        assert text[item["start"] : item["end"]] == item["span"]


def stdin_of(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_parse_reads_one_draft_per_stdin_line_and_reports_blank_ones(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_of(monkeypatch, b"Cardiomegaly.\n\nNo pneumothorax.\n")
    code, out, _ = run_cli(capsys, "parse")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [line["outcome"] for line in lines] == ["ok", "failed", "ok"]
    assert lines[1]["notes"] == ["draft parse failed: the draft is empty"]


@pytest.mark.parametrize(
    ("data", "drafts"),
    [
        (b"a\x0cb\nc\x1cd\n", ["a\x0cb", "c\x1cd"]),
        ("one\u2028two\u2029three\x85four\nfive\n".encode(), ["one\u2028two\u2029three\x85four", "five"]),
        (b"a\x0bb\x1dc\x1ed\n", ["a\x0bb\x1dc\x1ed"]),
        (b"crlf\r\nends\r\n", ["crlf", "ends"]),
        (b"last line has no newline", ["last line has no newline"]),
        (b"\xef\xbb\xbfBOM first\n", ["BOM first"]),
        (b"\n\n", ["", ""]),
        (b"", []),
    ],
    ids=["ff-and-fs", "unicode-separators", "vt-gs-rs", "crlf", "no-final-newline", "bom", "blank", "empty"],
)
def test_stdin_lines_end_at_newline_only(data: bytes, drafts: list[str]) -> None:
    assert stdin_drafts(data) == drafts


def test_parse_gives_one_output_per_stdin_line_whatever_the_line_holds(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_of(monkeypatch, "Left pneumo\x0cthorax.\nCardio\x1cmegaly.\u2028No effusion.\n".encode())
    code, out, err = run_cli(capsys, "parse")
    assert (code, err) == (0, "")
    assert len(out.split("\n")) == 3 and out.endswith("\n")  # two JSON lines


def test_invalid_utf8_on_stdin_names_the_line_and_prints_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_of(monkeypatch, b"Cardiomegaly.\nLeft \xffpneumothorax.\n")
    code, out, err = run_cli(capsys, "parse")
    assert (code, out) == (2, "")
    assert err == (
        "cxr-audit parse: stdin line 2 is not valid UTF-8 (byte 0xff at column 6); nothing was parsed\n"
    )


@pytest.mark.parametrize(
    "argv",
    [["frobnicate"], ["audit", "--findings", "f.json"], ["import", "folder", "--images", "/nowhere"]],
    ids=["unknown-command", "missing-flag", "bad-folder"],
)
def test_a_usage_error_is_one_line_pointing_at_help(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert len(err.splitlines()) == 1 and err.startswith("cxr-audit") and "--help)" in err


BAD_INPUT = {
    "missing findings file": (
        ["audit", "--findings", "/nonexistent/f.json", "--draft", "x"],
        "does not exist",
    ),
    "empty draft to audit": (["audit", "--findings", "{findings}", "--draft", "  "], "the draft is empty"),
    "empty draft to parse": (["parse", "--text", ""], "the draft is empty"),
    "unknown parser": (["parse", "--parser", "gpt9", "--text", "x"], "unknown parser 'gpt9'; choose one of:"),
    "unreadable findings JSON": (["audit", "--findings", "{broken}", "--draft", "x"], "is not readable JSON"),
    "unknown urgent label": (
        ["audit", "--findings", "{findings}", "--draft", "x", "--urgent", "fracture"],
        "unknown urgent label(s) fracture",
    ),
    "reference grounder on a bare image": (
        ["audit", "--image", "{findings}", "--grounder", "reference", "--draft", "x"],
        "a bare --image has none",
    ),
    "draft not valid UTF-8": (
        ["parse", "--text", "Left pneu\udcffmothorax."],
        "the draft is not valid UTF-8 text (byte 0xff at character 10)",
    ),
    "nested findings": (
        ["audit", "--findings", "{nested}", "--draft", "x"],
        "it is nested too deeply to read",
    ),
    "findings with a 5,000-digit number": (
        ["audit", "--findings", "{digits}", "--draft", "x"],
        "it holds a number more than 4,300 digits long",
    ),
    "findings that hold no findings": (
        ["audit", "--findings", "{wrong}", "--draft", "x"],
        "holds no usable findings: expected a list or an object with one of",
    ),
    "findings folder": (["audit", "--findings", "{folder}", "--draft", "x"], "is a folder, not a JSON file"),
    "malformed image size": (
        ["audit", "--findings", "{findings}", "--draft", "x", "--image-size", "big"],
        "--image-size must look like 1024x1024",
    ),
}


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_gives_one_line_on_stderr_and_a_nonzero_exit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ptx_findings: Path, argv: list[str], message: str
) -> None:
    files = {
        "broken": "[{not json",
        "nested": "[" * 100_000 + "]" * 100_000,
        "digits": "[" + "9" * 5_000 + "]",
        "wrong": '{"findings": "pneumothorax"}',
    }
    for name, text in files.items():
        (tmp_path / f"{name}.json").write_text(text)
    (tmp_path / "folder").mkdir()
    paths = {name: tmp_path / f"{name}.json" for name in files}
    argv = [arg.format(findings=ptx_findings, folder=tmp_path / "folder", **paths) for arg in argv]
    code, out, err = run_cli(capsys, *argv)
    assert code != 0
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_the_installed_console_script_runs_without_a_traceback(tmp_path: Path) -> None:
    script = shutil.which("cxr-audit", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("cxr-audit is not installed in this environment (./run.sh installs it)")
    result = subprocess.run(
        [script, "audit", "--findings", str(tmp_path / "none.json"), "--draft", "x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("cxr-audit audit: findings file")
    assert "Traceback" not in result.stderr


def test_the_urgent_list_comes_from_the_settings_unless_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps([{"label": "pleural_effusion", "box_2d": [0.6, 0.1, 0.9, 0.4]}]))
    monkeypatch.setenv("CXR_AUDIT_URGENT_LABELS", "pleural_effusion")
    _, out, _ = run_cli(capsys, "audit", "--findings", str(path), "--draft", "Right pleural effusion.")
    assert [(f["type"], f["label"]) for f in json.loads(out)["flags"]] == [("URGENT", "pleural_effusion")]
    _, out, _ = run_cli(
        capsys, "audit", "--findings", str(path), "--draft", "Right effusion.", "--urgent", ""
    )
    assert json.loads(out)["flags"] == []


def test_a_broken_settings_file_is_one_line_on_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ptx_findings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXR_AUDIT_CONFIG", str(tmp_path / "missing.toml"))
    code, out, err = run_cli(capsys, "audit", "--findings", str(ptx_findings), "--draft", "No pneumothorax.")
    assert (code, out) == (2, "")
    assert "CXR_AUDIT_CONFIG names" in err and len(err.strip().splitlines()) == 1


def test_a_typed_error_from_below_reaches_main_as_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    image = tmp_path / "scan.png"
    image.write_bytes(b"not a png")
    code, out, err = run_cli(capsys, "audit", "--image", str(image), "--draft", "x")
    assert (code, out) == (2, "")
    assert err.startswith(f"cxr-audit audit: cannot load image {image}")
    assert err.count("\n") == 1 and "Traceback" not in err


def _boom(*_: object, **__: object) -> None:
    raise TypeError("unsupported operand")


def test_an_unexpected_error_is_one_line_asking_for_a_bug_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workstation.cli import parse_cmd

    monkeypatch.delenv("CXR_AUDIT_DEBUG", raising=False)
    monkeypatch.setattr(parse_cmd, "parse", _boom)
    code, out, err = run_cli(capsys, "parse", "--text", "No pneumothorax.")
    assert (code, out) == (1, "")
    assert err.startswith("cxr-audit parse: unexpected error TypeError: unsupported operand.")
    assert "please report it" in err and "--debug" in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_adds_the_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    from workstation.cli import parse_cmd

    monkeypatch.setattr(parse_cmd, "parse", _boom)
    argv = ["parse", "--text", "x"]
    if how == "flag":
        argv.insert(0, "--debug")
    else:
        monkeypatch.setenv("CXR_AUDIT_DEBUG", "1")
    code, _, err = run_cli(capsys, *argv)
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("cxr-audit parse: unexpected error TypeError")


@pytest.mark.parametrize("label", FINDING_LABELS)
@pytest.mark.parametrize("box_2d", [box for box, _ in INVALID_BOX_2D.values()], ids=INVALID_BOX_2D.keys())
def test_an_invalid_box_never_hides_a_finding_from_the_audit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, label: str, box_2d: str
) -> None:
    path = tmp_path / "findings.json"
    path.write_text(f'[{{"label": "{label}", "box_2d": {box_2d}}}]')
    code, out, err = run_cli(capsys, "audit", "--findings", str(path), "--draft", "Lungs are clear.")
    assert (code, err) == (0, "")
    result = json.loads(out)
    urgent = [("URGENT", label, None)] if label in DEFAULT_URGENT else []
    assert [(f["type"], f["label"], f["box"]) for f in result["flags"]] == [*urgent, ("MISSING", label, None)]
    assert [(f["label"], f["box"]) for f in result["image_findings"]] == [(label, None)]
    assert any(note.startswith(f"grounding: item 0 ({label}): box rejected (") for note in result["notes"])
