"""``import reports``: a generator's reports file read row by row, stored once, every rejection named."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from data.errors import ImportFormatError
from data.importers.report_rows import read_report_rows
from data.importers.reports import import_reports
from data.store import Store
from tests.data.conftest import add_case


def csv_file(tmp_path: Path, text: str, name: str = "reports.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def jsonl_file(tmp_path: Path, *records: object, name: str = "reports.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8"
    )
    return path


@pytest.fixture
def cases(store: Store) -> Store:
    for case_id in ("c1", "c2", "c3"):
        add_case(store, case_id)
    return store


class TestRows:
    def test_csv_rows_are_numbered_by_their_line_in_the_file(self, tmp_path: Path) -> None:
        path = csv_file(
            tmp_path,
            'case_id,generator,text\nc1,g,"Right effusion."\n\nc2,,No acute.\nc3,g,x,extra\n',
        )
        rows, rejected = read_report_rows(path)
        assert [(r.row, r.case_id, r.text) for r in rows] == [(2, "c1", "Right effusion.")]
        assert [(r.row, r.reason) for r in rejected] == [
            (4, "no generator"),
            (5, "1 more cell(s) than the header has columns"),
        ]

    def test_jsonl_rows_are_numbered_by_line_and_bad_lines_say_why(self, tmp_path: Path) -> None:
        path = jsonl_file(
            tmp_path,
            {"case_id": "c1", "generator": "g", "text": "Fine."},
            "not json",
            '["a list"]',
            {"generator": "g", "text": "Fine."},
            {"case_id": "c2", "generator": "g"},
            {"case_id": "c3", "generator": "g", "text": 7},
            {"image": "c3.png", "generator": "bad name!", "text": "x"},
        )
        rows, rejected = read_report_rows(path)
        assert [r.row for r in rows] == [1]
        reasons = {r.row: r.reason for r in rejected}
        assert reasons[2].startswith("not JSON")
        assert reasons[3] == "not a JSON object"
        assert reasons[4] == "no case_id or image"
        assert reasons[5].startswith("no text")
        assert reasons[6] == "text is a number, not a string"
        assert "is not a usable name" in reasons[7]

    def test_a_file_missing_columns_is_refused_whole(self, tmp_path: Path) -> None:
        with pytest.raises(ImportFormatError, match=r"lacks the column\(s\) text, case_id or image"):
            read_report_rows(csv_file(tmp_path, "image_name,generator\na.png,g\n"))
        with pytest.raises(ImportFormatError, match=r"a reports file is \.csv or \.jsonl"):
            read_report_rows(csv_file(tmp_path, "x", name="reports.txt"))

    def test_gzipped_files_are_read(self, tmp_path: Path) -> None:
        path = tmp_path / "reports.jsonl.gz"
        path.write_bytes(gzip.compress(b'{"case_id": "c1", "generator": "g", "text": "Fine."}\n'))
        rows, rejected = read_report_rows(path)
        assert len(rows) == 1 and rejected == []


class TestImport:
    def test_reports_are_stored_as_generated_drafts_and_counted(self, cases: Store, tmp_path: Path) -> None:
        path = csv_file(
            tmp_path,
            "case_id,image,generator,text\nc1,,g,Small right effusion.\n,c2.png,g,No acute abnormality.\n"
            "c3,,g,\n",
        )
        summary = import_reports(cases, path)
        assert (summary.rows, summary.added, summary.replaced, summary.unchanged) == (3, 3, 0, 0)
        assert [(f.row, f.reason) for f in summary.failures] == [(4, "the generator returned no report text")]
        assert summary.generators == {"g": 3}
        reports = cases.generations.reports()["g"]
        assert reports["c2"].text == "No acute abnormality."  # found by its image
        assert reports["c3"].failed  # the empty text is the generator's failure, kept and counted
        assert [d.author for d in cases.drafts.for_case("c1")] == ["g"]

    def test_importing_the_same_file_again_stores_nothing(self, cases: Store, tmp_path: Path) -> None:
        path = jsonl_file(
            tmp_path,
            {"case_id": "c1", "generator": "g", "text": "Right effusion."},
            {"case_id": "c2", "generator": "g", "text": ""},
        )
        import_reports(cases, path)
        again = import_reports(cases, path)
        assert (again.added, again.replaced, again.unchanged, again.failures) == (0, 0, 2, [])
        assert len(cases.generations.for_case("c1")) == 1 and len(cases.drafts.for_case("c1")) == 1

    def test_bytes_that_are_not_utf8_fail_their_own_row_once_and_the_rest_is_stored(
        self, cases: Store, tmp_path: Path
    ) -> None:
        path = tmp_path / "reports.csv"
        path.write_bytes(
            b"case_id,generator,text\nc1,g,Right effusion.\nc2,g,Left \xff opacity.\nc3,g\xfe,Fine.\n"
        )
        summary = import_reports(cases, path)
        assert summary.added == 2 and [r.row for r in summary.rejected] == [4]  # the name cannot be shown
        (failure,) = summary.failures
        assert failure.row == 3 and "not valid UTF-8 text (byte 0xff at character 6)" in failure.reason
        stored = cases.generations.for_case("c2")[0]
        assert stored.outcome == "failed" and stored.raw_text == "Left \\udcff opacity."
        assert "    row 3: the draft is not valid UTF-8 text (byte 0xff at character 6)" in summary.lines()
        again = import_reports(cases, path)
        assert (again.added, again.replaced, again.unchanged) == (0, 0, 2)

    def test_a_new_text_replaces_the_generators_current_report(self, cases: Store, tmp_path: Path) -> None:
        import_reports(cases, jsonl_file(tmp_path, {"case_id": "c1", "generator": "g", "text": "Old."}))
        summary = import_reports(
            cases, jsonl_file(tmp_path, {"case_id": "c1", "generator": "g", "text": "New."}, name="v2.jsonl")
        )
        assert (summary.added, summary.replaced) == (0, 1)
        assert cases.generations.reports()["g"]["c1"].text == "New."
        assert len(cases.drafts.for_case("c1")) == 2  # the old draft stays, with any decisions on it

    def test_unknown_cases_ambiguous_images_and_repeats_are_rejected_by_row(
        self, cases: Store, tmp_path: Path
    ) -> None:
        add_case(cases, "c1-again")
        cases.cases.upsert(
            cases.cases.get("c1-again").model_copy(update={"image_id": "c1.png"})  # two cases, one image
        )
        path = csv_file(
            tmp_path,
            "case_id,image,generator,text\nc9,,g,x\n,c1.png,g,x\n,none.png,g,x\nc2,,g,first\n,c2.png,g,second\n",
        )
        summary = import_reports(cases, path)
        assert summary.added == 1
        assert [(r.row, r.reason) for r in summary.rejected] == [
            (2, "no case 'c9' in the database"),
            (3, "image 'c1.png' belongs to 2 cases; give its case_id"),
            (4, "no case with image 'none.png' in the database"),
            (6, "a second report for case 'c2' by 'g' (row 5 has one)"),
        ]
        lines = summary.lines()
        assert lines[0].startswith("reports: 5 row(s)") and "4 rejected" in lines[0]
        assert "  rejected row 6: a second report for case 'c2' by 'g' (row 5 has one)" in lines
