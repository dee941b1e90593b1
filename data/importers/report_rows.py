"""Read a report generator's output file: one report per row, each valid or rejected with its reason.

Formats (chosen by the suffix; ``.gz`` allowed):

- CSV (``.csv``) with a header naming ``generator``, ``text`` and ``case_id`` or ``image``;
- JSON Lines (``.jsonl``, ``.ndjson``): one object per line with the same keys.

``case_id`` wins over ``image`` (an image file name, matched against the cases' image ids).
Other columns are ignored. A row's number is its line in the file, as an editor or a
spreadsheet shows it (the header is line 1; a CSV cell spanning lines: the line it ends on).

An empty ``text`` is kept, not rejected: it is the generator's own empty answer, stored as
a failed generation and counted; so is a text with bytes that are not UTF-8. A row is
rejected (and named, with its number and the reason) when it cannot be read, has no case
key, no generator, a generator name that cannot be shown safely, or a text that is not a
string. Whether each case exists, and whether two
rows give one generator's report for one case twice, the importer checks against the
database.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from audit.schema import Frozen
from data.errors import ImportFormatError

# A generator's name is an author name shown on every page and in file names' reports:
# letters, digits and a few separators, as model ids use them ("medgemma:google/medgemma-4b-it").
GENERATOR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+@-]{0,127}")
CSV_SUFFIXES = (".csv",)
_JSON_KINDS: dict[type, str] = {
    int: "a number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}
JSONL_SUFFIXES = (".jsonl", ".ndjson")


class ReportRow(Frozen):
    """One valid row: the case it names (by id or by image), the generator and its text."""

    row: int = Field(ge=1)
    case_id: str | None = None
    image: str | None = None
    generator: str
    text: str


class RejectedRow(Frozen):
    row: int = Field(ge=1)
    reason: str


def generator_problem(name: str) -> str | None:
    """Why ``name`` cannot be a generator's name, or None when it can."""
    if not name:
        return "no generator"
    if not GENERATOR_NAME.fullmatch(name):
        return (
            f"generator {name[:60]!r} is not a usable name (letters, digits and . _ : / + @ -, "
            "starting with a letter or digit, at most 128 characters)"
        )
    return None


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _open(path: Path) -> io.TextIOWrapper:
    # Undecodable bytes become lone surrogates, so that they cost their own row (a generator
    # name or case id no longer matches; a text is read as failed), not the whole file.
    try:
        if path.suffix.lower() == ".gz":
            return io.TextIOWrapper(
                gzip.open(path, "rb"), encoding="utf-8-sig", errors="surrogateescape", newline=""
            )
        return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as error:
        raise ImportFormatError(f"cannot read {path}: {error.strerror or error}") from error


def _csv_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with _open(path) as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or ()]
        if not header:
            raise ImportFormatError(f"{path} is empty")
        missing = [name for name in ("generator", "text") if name not in header]
        if "case_id" not in header and "image" not in header:
            missing.append("case_id or image")
        if missing:
            raise ImportFormatError(
                f"{path} lacks the column(s) {', '.join(missing)}; "
                f"it has: {', '.join(h for h in header if h)}"
            )
        reader.fieldnames = header
        for record in reader:
            number = reader.line_num
            if None in record:
                yield number, f"{len(record[None])} more cell(s) than the header has columns"  # type: ignore[index]
                continue
            if all(not (value or "").strip() for value in record.values()):
                continue  # a blank line between rows
            yield number, record


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    with _open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                yield number, f"not JSON ({error.msg} at column {error.colno})"
                continue
            yield number, record if isinstance(record, dict) else "not a JSON object"


def _text_field(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    return value.strip() if isinstance(value, str) else str(value).strip()


def _row(number: int, record: dict[str, Any]) -> ReportRow | RejectedRow:
    case_id = _text_field(record, "case_id") or None
    image = _text_field(record, "image") or None
    if case_id is None and image is None:
        return RejectedRow(row=number, reason="no case_id or image")
    generator = _text_field(record, "generator") or ""
    problem = generator_problem(generator)
    if problem is not None:
        return RejectedRow(row=number, reason=problem)
    if "text" not in record:
        return RejectedRow(row=number, reason="no text (an empty report is written as an empty text)")
    text = record["text"]
    if text is None:
        text = ""
    if not isinstance(text, str):
        kind = _JSON_KINDS.get(type(text), type(text).__name__)
        return RejectedRow(row=number, reason=f"text is {kind}, not a string")
    return ReportRow(row=number, case_id=case_id, image=image, generator=generator, text=text)


def read_report_rows(path: Path) -> tuple[list[ReportRow], list[RejectedRow]]:
    """Every row of the file as a valid row or a rejection, in file order (raises
    ImportFormatError when the file as a whole cannot be read)."""
    suffix = _suffix(path)
    if suffix in CSV_SUFFIXES:
        records = _csv_records(path)
    elif suffix in JSONL_SUFFIXES:
        records = _jsonl_records(path)
    else:
        raise ImportFormatError(
            f"{path}: a reports file is .csv or .jsonl (optionally .gz), not {suffix or 'no suffix'}"
        )
    rows: list[ReportRow] = []
    rejected: list[RejectedRow] = []
    try:
        for number, record in records:
            parsed = (
                _row(number, record) if isinstance(record, dict) else RejectedRow(row=number, reason=record)
            )
            if isinstance(parsed, RejectedRow):
                rejected.append(parsed)
            else:
                rows.append(parsed)
    except (csv.Error, EOFError, gzip.BadGzipFile) as error:
        raise ImportFormatError(f"{path} is not readable as {suffix[1:].upper()}: {error}") from error
    return rows, rejected
