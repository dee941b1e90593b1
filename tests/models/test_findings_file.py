"""The findings-file grounder: one findings JSON (or one per case); every unreadable file is named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from audit.protocols import AuditCase
from models.errors import FindingsFileError
from models.findings_file import (
    MAX_FINDINGS_BYTES,
    FindingsFileGrounder,
    check_findings_json,
    read_findings_text,
)


def _write(content: str | bytes) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return make


UNREADABLE: dict[str, tuple[Callable[[Path], object], str]] = {
    "missing": (lambda p: None, "does not exist"),
    "a folder": (lambda p: p.mkdir(), "is a folder, not a JSON file"),
    "empty": (_write(""), "is empty"),
    "only whitespace": (_write(" \n\t"), "is empty"),
    "not UTF-8": (_write(b'[{"label": "\xff"}]'), "is not valid UTF-8 (byte 0xff at offset 12)"),
    "too large": (_write(" " * (MAX_FINDINGS_BYTES + 1)), f"is larger than {MAX_FINDINGS_BYTES:,} bytes"),
}


@pytest.mark.parametrize(("make", "reason"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_findings_file_is_named_with_the_reason(
    tmp_path: Path, make: Callable, reason: str
) -> None:
    path = tmp_path / "f.json"
    make(path)
    with pytest.raises(FindingsFileError) as caught:
        read_findings_text(path)
    assert str(caught.value).startswith(f"findings file {path} ")
    assert reason in str(caught.value)


NOT_JSON = {
    "bad syntax": ("[{not json", "is not readable JSON: Expecting property name"),
    "nested 100,000 deep": (
        "[" * 100_000 + "]" * 100_000,
        "is not readable JSON: it is nested too deeply to read",
    ),
    "a 5,000-digit integer": (
        "[" + "1" * 5_000 + "]",
        "is not readable JSON: it holds a number more than 4,300 digits long",
    ),
    "two documents": ("[] []", "is not readable JSON: Extra data"),
}


@pytest.mark.parametrize(("text", "reason"), NOT_JSON.values(), ids=NOT_JSON.keys())
def test_a_findings_file_given_by_hand_must_be_json(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "f.json"
    path.write_text(text)
    with pytest.raises(FindingsFileError) as caught:
        check_findings_json(path)
    assert str(caught.value).startswith(f"findings file {path} {reason}")


@pytest.mark.parametrize(("make", "reason"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_the_grounder_turns_an_unreadable_file_into_a_failed_reading(
    tmp_path: Path, make: Callable, reason: str
) -> None:
    folder = tmp_path / "findings"
    folder.mkdir()
    make(folder / "case-1.json")
    reading = FindingsFileGrounder(folder).ground(AuditCase(case_id="case-1", draft="x"))
    assert reading.failed
    assert reading.outcome.error is not None and reason in reading.outcome.error


def test_the_grounder_reads_a_deep_file_as_a_failed_reading_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    reading = FindingsFileGrounder(path).ground(AuditCase(case_id="any", draft="x"))
    assert (
        reading.failed and reading.outcome.error == "the JSON cannot be read: it is nested too deeply to read"
    )
