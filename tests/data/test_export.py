"""Export: one row per decision (with the draft it judged) and per reviewer-drawn box (with what
became of it), every named column, any format."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from audit.schema import Box
from data.errors import ExportError
from data.export import EXPORT_COLUMNS, EXPORT_FORMATS, export_bytes, export_frame, write_export
from data.store import Store
from tests.data.conftest import add_case, ptx_report

BOX_A = Box(x0=0.1, y0=0.1, x1=0.2, y1=0.2)
BOX_B = Box(x0=0.5, y0=0.5, x1=0.75, y1=0.75)


def read_back(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(path, dtype={"grounder_version": str, "parser_version": str})
    if fmt == "parquet":
        return duckdb.sql(f"SELECT * FROM read_parquet('{path}')").df()  # path from tmp_path
    lines = path.read_text().splitlines()
    return pd.DataFrame([json.loads(line) for line in lines], columns=list(EXPORT_COLUMNS))


@pytest.fixture
def decided(audited: tuple[Store, tuple[int, ...]]) -> Store:
    store, (urgent, missing) = audited
    store.decisions.record(urgent, "amy", "accept")
    store.decisions.record(urgent, "amy", "dismiss", reason_code="clinically_insignificant", note="old scar")
    store.decisions.record(missing, "bob", "accept")
    store.reviewer_findings.add(
        "ptx", "amy", "nodule_mass", Box(x0=0.5, y0=0.5, x1=0.6, y1=0.6), note="missed"
    )
    return store


@pytest.mark.parametrize("fmt", EXPORT_FORMATS, ids=EXPORT_FORMATS)
def test_an_export_round_trips_with_every_column(decided: Store, tmp_path: Path, fmt: str) -> None:
    summary = write_export(decided, fmt, tmp_path / f"out.{fmt}")  # type: ignore[arg-type]
    frame = read_back(tmp_path / f"out.{fmt}", fmt)
    assert list(frame.columns) == list(EXPORT_COLUMNS)
    assert (summary.rows, summary.decisions, summary.reviewer_findings) == (4, 3, 1)
    decisions = frame[frame.row_kind == "decision"]
    dismissed = decisions[decisions.decision == "dismiss"].iloc[0]
    assert (dismissed.case_id, dismissed.image_id, dismissed.flag_type, dismissed.label) == (
        "ptx",
        "ptx.png",
        "URGENT",
        "pneumothorax",
    )
    assert json.loads(dismissed.box) == [0.1, 0.1, 0.3, 0.4]
    assert (dismissed.phrase, dismissed.reason_code, dismissed.note, dismissed.reviewer) == (
        "No pneumothorax",
        "clinically_insignificant",
        "old scar",
        "amy",
    )
    assert (dismissed.grounder, dismissed.grounder_version, dismissed.parser, dismissed.parser_version) == (
        "reference",
        "1",
        "test-parser",
        "2",
    )
    assert pd.notna(dismissed.decided_at)
    assert sorted(decisions.is_current.astype(bool).tolist()) == [False, True, True]  # the history is kept
    drawn = frame[frame.row_kind == "reviewer_finding"].iloc[0]
    assert (drawn.label, json.loads(drawn.box), drawn.note) == ("nodule_mass", [0.5, 0.5, 0.6, 0.6], "missed")


@pytest.mark.parametrize("fmt", EXPORT_FORMATS, ids=EXPORT_FORMATS)
def test_an_empty_database_exports_a_valid_empty_file(store: Store, tmp_path: Path, fmt: str) -> None:
    summary = write_export(store, fmt, tmp_path / "nested" / f"empty.{fmt}")  # type: ignore[arg-type]
    assert summary.rows == 0
    frame = read_back(tmp_path / "nested" / f"empty.{fmt}", fmt)
    assert len(frame) == 0
    if fmt != "jsonl":  # JSONL has no header: zero lines is the valid empty file
        assert list(frame.columns) == list(EXPORT_COLUMNS)


def test_the_apps_bytes_match_the_cli_file(decided: Store, tmp_path: Path) -> None:
    data, summary = export_bytes(decided, "csv")
    write_export(decided, "csv", tmp_path / "out.csv")
    assert data == (tmp_path / "out.csv").read_bytes()
    assert summary.path is None and summary.rows == 4
    assert len(pd.read_csv(io.BytesIO(data))) == 4


def test_an_export_can_be_limited_to_one_reviewer(decided: Store) -> None:
    _, summary = export_bytes(decided, "jsonl", reviewer="bob")
    assert (summary.decisions, summary.reviewer_findings) == (1, 0)


def test_an_unknown_format_is_a_typed_error(decided: Store, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown export format 'xlsx'"):
        write_export(decided, "xlsx", tmp_path / "x.xlsx")  # type: ignore[arg-type]


def test_the_export_is_offered_as_a_dataframe(decided: Store) -> None:
    frame = export_frame(decided)
    assert len(frame) == 4 and list(frame.columns) == list(EXPORT_COLUMNS)


def test_a_csv_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(
    audited: tuple[Store, tuple[int, ...]],
) -> None:
    store, (urgent, _) = audited
    store.decisions.record(urgent, "=evil", "dismiss", note='=HYPERLINK("http://evil.example","x")')

    data, _ = export_bytes(store, "csv")

    row = pd.read_csv(io.BytesIO(data)).iloc[0]
    assert row["note"] == '\'=HYPERLINK("http://evil.example","x")' and row["reviewer"] == "'=evil"
    parquet, _ = export_bytes(store, "parquet")  # Parquet keeps the values as they are
    assert pd.read_parquet(io.BytesIO(parquet)).iloc[0]["reviewer"] == "=evil"


def test_a_decision_on_a_machine_written_draft_carries_its_generator(store: Store) -> None:
    from audit.recover import read_report
    from data.generations import NewGeneration
    from data.records import ReferenceFinding
    from tests.data.conftest import PTX_BOX, add_case, draft_reading, make_report

    add_case(store, "ptx", findings=(ReferenceFinding(label="pneumothorax", box=PTX_BOX, source="r"),))
    text = "No pneumothorax."
    store.generations.add(
        [
            NewGeneration(
                case_id="ptx", generator="gen-a", reading=read_report(text), raw_text=text, backend="import"
            )
        ]
    )
    (draft,) = store.drafts.for_case("ptx")
    report = make_report(
        store.cases.audit_case("ptx").reference,
        draft_reading(text, ("pneumothorax", "absent", "No pneumothorax")),
    )
    urgent, _ = store.audits.save("ptx", report, draft_id=draft.draft_id).flag_ids
    store.decisions.record(urgent, "amy", "accept")
    (row,) = export_frame(store).to_dict("records")
    assert (row["draft_id"], row["draft_kind"], row["generator"]) == (draft.draft_id, "generated", "gen-a")


def test_a_human_draft_has_no_generator(decided: Store) -> None:
    frame = export_frame(decided)
    assert frame["generator"].isna().all()


@pytest.mark.parametrize("fmt", EXPORT_FORMATS, ids=EXPORT_FORMATS)
def test_each_decision_carries_the_draft_it_judged_with_its_author_and_kind(
    store: Store, tmp_path: Path, fmt: str
) -> None:
    add_case(store, "ptx")
    text = "No pneumothorax.\nHeart size normal, 3 cm nodule? no."
    draft_id = store.drafts.add("ptx", text, kind="human", author="dr lee")
    saved = store.audits.save("ptx", ptx_report(), draft_id=draft_id)
    store.decisions.record(saved.flag_ids[0], "amy", "accept")

    write_export(store, fmt, tmp_path / f"out.{fmt}")  # type: ignore[arg-type]
    (row,) = read_back(tmp_path / f"out.{fmt}", fmt).itertuples()

    assert (int(row.draft_id), row.draft_kind, row.draft_author, row.draft_text) == (
        draft_id,
        "human",
        "dr lee",
        text,
    )


@pytest.mark.parametrize("fmt", EXPORT_FORMATS, ids=EXPORT_FORMATS)
def test_a_moved_box_exports_where_it_is_and_a_deleted_one_is_kept_not_current(
    store: Store, tmp_path: Path, fmt: str
) -> None:
    add_case(store, "c")
    store.reviewer_findings.save_edits("c", "amy", added=[("nodule_mass", BOX_A), ("pneumothorax", BOX_B)])
    nodule, ptx = store.reviewer_findings.for_case("c")
    store.reviewer_findings.save_edits(
        "c", "amy", moved=[(nodule.finding_id, BOX_B)], deleted_ids=[ptx.finding_id]
    )

    write_export(store, fmt, tmp_path / f"out.{fmt}")  # type: ignore[arg-type]
    rows = read_back(tmp_path / f"out.{fmt}", fmt).sort_values("label")

    assert rows.label.tolist() == ["nodule_mass", "pneumothorax"]
    assert rows.box_status.tolist() == ["moved", "deleted"]
    assert [bool(v) for v in rows.is_current] == [True, False]
    assert json.loads(rows.box.iloc[0]) == BOX_B.as_list()
    assert rows.box_changed_at.notna().all()
