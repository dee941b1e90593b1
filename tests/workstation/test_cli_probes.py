"""Probes from outside: the installed ``cxr-audit`` over what a careless user or an attacker hands it.

Every bad input gives a non-zero exit, exactly one line on stderr saying what is wrong
(checked by a fragment of it), nothing on stdout and no traceback. Odd but usable input is
accepted, with nothing on stderr, and says what was done to it. Each case runs the real
console script in a fresh process, so nothing here can be caught by the test itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from data.store import Store
from tests.data.conftest import gradient, write_png
from tests.data.image_files import (
    twelve_bit_pixels,
    write_16bit_png,
    write_dicom_without_pixels,
    write_huge_png,
    write_jpeg_extended_12bit,
    write_multiframe_dicom,
    write_truncated_jpeg_extended,
    write_truncated_png,
)

SCRIPT = shutil.which("cxr-audit", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(
    SCRIPT is None, reason="cxr-audit is not installed here (./run.sh installs it)"
)

DRAFT = "Left pneumothorax."
LONG_DRAFT = ("No pneumothorax. " * 5_931).strip()  # 100,826 characters: over the draft limit
STRICT_UTF8 = {"PYTHONIOENCODING": "utf-8:strict"}
C_UTF8 = {"LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"}


@dataclass(frozen=True)
class Workspace:
    """Where a probe stages its files; ``read_only`` makes one unwritable (even for root)."""

    dir: Path
    read_only: Callable[[Path], Path]

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path


def _nothing(_: Workspace) -> None:
    return None


@dataclass(frozen=True)
class Probe:
    """One run of ``cxr-audit``: ``argv`` (``{d}`` is the workspace), what ``make`` stages
    first, what goes to stdin and extra environment; ``says`` is a fragment of the one
    stderr line (bad input) or of stdout (accepted input)."""

    argv: tuple[str | bytes, ...]
    says: str
    make: Callable[[Workspace], object] = _nothing
    stdin: bytes = b""
    env: Mapping[str, str] = field(default_factory=dict)


def run_probe(probe: Probe, workspace: Workspace) -> subprocess.CompletedProcess[bytes]:
    assert SCRIPT is not None
    probe.make(workspace)
    env = {key: value for key, value in os.environ.items() if not key.startswith("CXR_AUDIT_")}
    env.update(XDG_DATA_HOME=str(workspace.dir / "xdg"), CXR_AUDIT_DB=str(workspace.dir / "default.duckdb"))
    env.update(probe.env)
    argv = [arg.format(d=workspace.dir) if isinstance(arg, str) else arg for arg in probe.argv]
    return subprocess.run(
        [SCRIPT, *argv], input=probe.stdin, capture_output=True, env=env, cwd=workspace.dir, check=False
    )


@pytest.fixture
def workspace(tmp_path: Path, read_only: Callable[[Path], Path]) -> Workspace:
    return Workspace(tmp_path, read_only)


# -- staging ------------------------------------------------------------------------------


def _image(name: str, maker: Callable[[Path], object]) -> Callable[[Workspace], object]:
    return lambda w: maker(w.dir / name)


def _text(name: str, content: str | bytes) -> Callable[[Workspace], object]:
    return lambda w: w.file(name, content)


def _self_link(name: str) -> Callable[[Workspace], object]:
    return lambda w: (w.dir / name).symlink_to(w.dir / name)


def _link_loop_in_images(w: Workspace) -> None:
    """``images/loop.a`` → ``loop.b`` → ``loop.a``."""
    (w.dir / "images").mkdir(exist_ok=True)
    (w.dir / "images" / "loop.a").symlink_to(w.dir / "images" / "loop.b")
    (w.dir / "images" / "loop.b").symlink_to(w.dir / "images" / "loop.a")


def _images_folder(*names_and_makers: tuple[str, Callable[[Path], object]]) -> Callable[[Workspace], None]:
    def make(w: Workspace) -> None:
        (w.dir / "images").mkdir(exist_ok=True)
        for name, maker in names_and_makers:
            maker(w.dir / "images" / name)

    return make


def _ok_png(path: Path) -> Path:
    return write_png(path, gradient())


def _with(*steps: Callable[[Workspace], object]) -> Callable[[Workspace], None]:
    def make(w: Workspace) -> None:
        for step in steps:
            step(w)

    return make


def _database(name: str = "audit.duckdb") -> Callable[[Workspace], Path]:
    def make(w: Workspace) -> Path:
        with Store.open(w.dir / name):
            pass
        return w.dir / name

    return make


def _newer_schema(w: Workspace) -> None:
    path = _database()(w)
    with duckdb.connect(str(path)) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', now())")


def _read_only_database(w: Workspace) -> None:
    w.read_only(_database()(w))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _findings(name: str) -> tuple[str, ...]:
    return ("audit", "--findings", f"{{d}}/{name}", "--draft", DRAFT)


def _audit_image(name: str) -> tuple[str, ...]:
    return ("audit", "--image", f"{{d}}/{name}", "--draft", DRAFT)


def _import(*extra: str, db: str = "{d}/audit.duckdb") -> tuple[str, ...]:
    return ("import", "folder", "--images", "{d}/images", *extra, "--db", db)


def _export(db: str) -> tuple[str, ...]:
    return ("export", "--format", "csv", "--out", "{d}/out.csv", "--db", db)


def findings_probe(name: str, content: str | bytes, says: str) -> Probe:
    return Probe(_findings(name), says, _text(name, content))


ptx = '{{"label": "pneumothorax", "box_2d": {}}}'

# -- bad input: non-zero exit, one line on stderr ----------------------------------------------

BAD: dict[str, Probe] = {
    # image files
    "image: truncated PNG": Probe(
        _audit_image("scan.png"), "truncated", _image("scan.png", write_truncated_png)
    ),
    "image: zero bytes": Probe(_audit_image("scan.png"), "file is empty (0 bytes)", _text("scan.png", b"")),
    "image: text named .png": Probe(
        _audit_image("scan.png"), "not a PNG, JPEG or DICOM image", _text("scan.png", "Left pneumothorax.\n")
    ),
    "image: text named .dcm": Probe(
        _audit_image("scan.dcm"), ": not a DICOM file", _text("scan.dcm", "Left pneumothorax.\n")
    ),
    "image: huge dimensions": Probe(
        _audit_image("huge.png"), "over the 64,000,000-pixel limit", _image("huge.png", write_huge_png)
    ),
    "image: DICOM without pixel data": Probe(
        _audit_image("empty.dcm"), "holds no pixel data", _image("empty.dcm", write_dicom_without_pixels)
    ),
    "image: truncated 12-bit JPEG Extended DICOM": Probe(
        _audit_image("cut.dcm"),
        "cannot decode the JPEG Extended (Process 2 and 4) pixel data",
        _image("cut.dcm", write_truncated_jpeg_extended),
    ),
    "image: missing": Probe(_audit_image("none.png"), "file not found"),
    "image: a directory": Probe(
        _audit_image("folder.png"), "not a regular file", lambda w: (w.dir / "folder.png").mkdir()
    ),
    "image: symlink loop": Probe(_audit_image("loop.png"), "symbolic link", _self_link("loop.png")),
    # drafts
    "draft: empty (parse --text)": Probe(("parse", "--text", ""), "the draft is empty"),
    "draft: blank (audit --draft)": Probe(
        ("audit", "--findings", "{d}/f.json", "--draft", " \t "), "the draft is empty", _text("f.json", "[]")
    ),
    "draft: 100 kB (parse --text)": Probe(("parse", "--text", LONG_DRAFT), "at most 20,000"),
    "draft: 100 kB (audit --draft)": Probe(
        ("audit", "--findings", "{d}/f.json", "--draft", LONG_DRAFT), "at most 20,000", _text("f.json", "[]")
    ),
    "draft: invalid UTF-8 (parse --text)": Probe(
        ("parse", "--text", b"Left pneu\xffmothorax."), "the draft is not valid UTF-8"
    ),
    "draft: invalid UTF-8 (audit --draft)": Probe(
        ("audit", "--findings", "{d}/f.json", "--draft", b"Left \xc3pneumothorax."),
        "the draft is not valid UTF-8",
        _text("f.json", "[]"),
    ),
    "draft: invalid UTF-8 on stdin": Probe(
        ("parse",), "stdin line 2 is not valid UTF-8", stdin=b"Cardiomegaly.\nLeft \xffpneumothorax.\n"
    ),
    "draft: invalid UTF-8 on stdin, strict UTF-8 I/O": Probe(
        ("parse",),
        "stdin line 2 is not valid UTF-8",
        stdin=b"Cardiomegaly.\nLeft \xffpneumothorax.\n",
        env=STRICT_UTF8,
    ),
    "draft: invalid UTF-8 on stdin, LC_ALL=C.UTF-8": Probe(
        ("parse",), "stdin line 1 is not valid UTF-8", stdin=b"\xfe\xff\n", env=C_UTF8
    ),
    "draft CSV: invalid UTF-8": Probe(
        _import("--drafts", "{d}/drafts.csv"),
        "is not a readable CSV",
        _with(_images_folder(("scan.png", _ok_png)), _text("drafts.csv", b"image,text\nscan.png,\xff\xfe\n")),
    ),
    # findings files
    "findings: not JSON": findings_probe("f.json", "[{not json", "is not readable JSON"),
    "findings: empty file": findings_probe("f.json", "", "is empty"),
    "findings: nested 100,000 deep": findings_probe("f.json", _nested(100_000), "nested too deeply"),
    "findings: 5,000-digit number": findings_probe(
        "f.json", ptx.format("[" + "9" * 5_000 + ", 0, 1, 1]"), "a number more than 4,300 digits long"
    ),
    "findings: a string": findings_probe("f.json", '"pneumothorax"', "holds no usable findings"),
    "findings: a number": findings_probe("f.json", "42", "holds no usable findings"),
    "findings: NaN": findings_probe("f.json", "NaN", "holds no usable findings"),
    "findings: Infinity": findings_probe("f.json", "-Infinity", "holds no usable findings"),
    "findings: list of numbers": findings_probe("f.json", "[1, 2, 3]", "holds no usable findings"),
    "findings: findings is a string": findings_probe(
        "f.json", '{"findings": "x"}', "holds no usable findings"
    ),
    "findings: label is a number": findings_probe("f.json", '[{"label": 5}]', "holds no usable findings"),
    "findings: invalid UTF-8": findings_probe("f.json", b'[{"label": "\xff"}]', "is not valid UTF-8"),
    "findings: over 5 MB": findings_probe(
        "f.json", "[" + " " * 5_000_001 + "]", "larger than 5,000,000 bytes"
    ),
    "findings: a directory": Probe(
        _findings("dir.json"), "is a folder", lambda w: (w.dir / "dir.json").mkdir()
    ),
    "findings: missing": Probe(_findings("none.json"), "does not exist"),
    # paths
    "path: images folder missing": Probe(
        ("import", "folder", "--images", "{d}/nowhere", "--db", "{d}/audit.duckdb"), "is not a folder"
    ),
    "path: images folder is a file": Probe(
        ("import", "folder", "--images", "{d}/f.txt", "--db", "{d}/audit.duckdb"),
        "is not a folder",
        _text("f.txt", "x"),
    ),
    "path: annotations is a directory": Probe(
        _import("--annotations", "{d}/images"), "is not a file", _images_folder(("scan.png", _ok_png))
    ),
    "path: draft outside the folder": Probe(
        _import("--drafts", "{d}/drafts.csv"),
        "resolves outside",
        _with(_images_folder(("scan.png", _ok_png)), _text("drafts.csv", "image,text\n../secret.png,hi\n")),
    ),
    "path: annotation absolute": Probe(
        _import("--annotations", "{d}/boxes.json"),
        "resolves outside",
        _with(
            _images_folder(("scan.png", _ok_png)),
            _text("boxes.json", json.dumps([{"image": "/etc/passwd", "label": "nodule"}])),
        ),
    ),
    "path: draft names a symlink loop": Probe(
        _import("--drafts", "{d}/drafts.csv"),
        "symbolic link loop",
        _with(_link_loop_in_images, _text("drafts.csv", "image,text\nloop.a/x.png,Left pneumothorax.\n")),
    ),
    "path: annotation names a symlink loop": Probe(
        _import("--annotations", "{d}/boxes.csv"),
        "symbolic link loop",
        _with(_link_loop_in_images, _text("boxes.csv", "image,label\nloop.b,nodule\n")),
    ),
    # --db
    "db: under a regular file (import)": Probe(
        _import(db="{d}/notes.txt/audit.duckdb"),
        "is a file, not a folder",
        _with(_images_folder(("scan.png", _ok_png)), _text("notes.txt", "x")),
    ),
    "db: under a regular file (export)": Probe(
        _export("{d}/notes.txt/audit.duckdb"), "no audit database at", _text("notes.txt", "x")
    ),
    "db: a directory": Probe(_export("{d}/images"), "it is a folder", _images_folder()),
    "db: a CSV": Probe(
        _export("{d}/cases.csv"), "not a DuckDB database", _text("cases.csv", "image,label\n")
    ),
    "db: a newer schema": Probe(_export("{d}/audit.duckdb"), "newer than this version", _newer_schema),
    "db: read-only, written to": Probe(
        _import(), "is read-only", _with(_images_folder(("scan.png", _ok_png)), _read_only_database)
    ),
    "db: missing, read from": Probe(_export("{d}/none.duckdb"), "no audit database at"),
    # the command line itself
    "argv: unknown command": Probe(("frobnicate",), "invalid choice: 'frobnicate'"),
    "argv: missing --draft": Probe(("audit", "--findings", "{d}/f.json"), "--draft", _text("f.json", "[]")),
}


@pytest.mark.parametrize("probe", BAD.values(), ids=BAD.keys())
def test_bad_input_gives_one_line_on_stderr_and_a_nonzero_exit(probe: Probe, workspace: Workspace) -> None:
    done = run_probe(probe, workspace)
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode != 0, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("cxr-audit") and probe.says in err, err
    assert done.stdout == b""
    assert "unexpected error" not in err  # bad input is not a bug


# -- odd but usable input: exit 0, nothing on stderr -------------------------------------

ACCEPTED: dict[str, Probe] = {
    "image: 16-bit PNG": Probe(_import(), "1 imported", _images_folder(("deep.png", write_16bit_png))),
    "image: multi-frame DICOM": Probe(
        _import(), "1 imported", _images_folder(("frames.dcm", write_multiframe_dicom))
    ),
    "image: 12-bit JPEG Extended DICOM": Probe(
        _import(),
        "1 imported",
        _images_folder(("jpeg12.dcm", lambda p: write_jpeg_extended_12bit(p, twelve_bit_pixels()))),
    ),
    "image: unreadable scan.dcm beside scan.png": Probe(
        _import(),
        "unreadable image (not a DICOM file",
        _images_folder(("scan.dcm", lambda p: p.write_text("not DICOM")), ("scan.png", _ok_png)),
    ),
    "draft CSV: 100 kB draft": Probe(
        _import("--drafts", "{d}/drafts.csv"),
        "draft over the 20,000-character limit the auditor reads (e.g. scan (100,826 characters))",
        _with(
            _images_folder(("scan.png", _ok_png)), _text("drafts.csv", f"image,text\nscan.png,{LONG_DRAFT}\n")
        ),
    ),
    "draft: control characters": Probe(("parse", "--text", "Left\x1b[2J pneumo\x07thorax\x08."), '"outcome"'),
    "findings: NaN box": findings_probe("f.json", f"[{ptx.format('[NaN, 0, 1, 1]')}]", '"URGENT"'),
    "findings: Infinity box": findings_probe("f.json", f"[{ptx.format('[0, 0, Infinity, 1]')}]", '"URGENT"'),
    "findings: 1e999 box": findings_probe("f.json", f"[{ptx.format('[1e999, 0, 1, 1]')}]", '"URGENT"'),
    "db: read-only, read from": Probe(_export("{d}/audit.duckdb"), "written to", _read_only_database),
}


@pytest.mark.parametrize("probe", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_odd_but_usable_input_is_accepted_and_says_what_was_done(probe: Probe, workspace: Workspace) -> None:
    done = run_probe(probe, workspace)
    out = done.stdout.decode("utf-8")
    assert (done.returncode, done.stderr.decode("utf-8", "replace")) == (0, "")
    assert probe.says in out, out
    assert "\x1b" not in out and "\x07" not in out  # user text reaches the terminal escaped


def test_a_good_image_is_imported_beside_an_unreadable_one_of_the_same_name(workspace: Workspace) -> None:
    probe = ACCEPTED["image: unreadable scan.dcm beside scan.png"]
    out = run_probe(probe, workspace).stdout.decode()
    assert "1 imported" in out and "scan.dcm" in out
    with Store.open(workspace.dir / "audit.duckdb") as store:
        assert [case.image_id for case in store.cases.where()] == ["scan.png"]


LINES = {
    "form feed": b"Left pneumo\x0cthorax.\nCardiomegaly.\n",
    "file separator": b"Cardio\x1cmegaly.\nNo effusion.\n",
    "line separator U+2028": "Left effusion.\u2028Right effusion.\nNo pneumothorax.\n".encode(),
    "paragraph separator U+2029": "One.\u2029Two.\nThree.\n".encode(),
    "next line U+0085": "Small\x85effusion.\nClear lungs.\n".encode(),
    "CRLF endings": b"Cardiomegaly.\r\nNo pneumothorax.\r\n",
    "no final newline": b"Cardiomegaly.\nNo pneumothorax.",
    "blank line kept": b"Cardiomegaly.\n\nNo pneumothorax.\n",
}


@pytest.mark.parametrize(
    ("stdin", "env"),
    [(s, e) for s in LINES.values() for e in ({}, C_UTF8)],
    ids=[f"{name}, {where}" for name in LINES for where in ("default locale", "LC_ALL=C.UTF-8")],
)
def test_parse_gives_one_output_per_input_line(
    stdin: bytes, env: dict[str, str], workspace: Workspace
) -> None:
    done = run_probe(Probe(("parse",), "", stdin=stdin, env=env), workspace)
    assert (done.returncode, done.stderr) == (0, b"")
    outputs = [json.loads(line) for line in done.stdout.decode("utf-8").split("\n") if line]
    assert len(outputs) == len(stdin.rstrip(b"\n").split(b"\n"))
