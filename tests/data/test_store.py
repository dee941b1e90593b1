"""The audit database: migrations, cases, drafts, audit runs, decisions, eval runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pytest

from audit.protocols import MAX_DRAFT_CHARS
from audit.schema import Box, ExpectedFlag
from data.connection import ENV_DB, MEMORY, resolve_db_path
from data.errors import (
    DatabaseReadOnlyError,
    DraftRefusedError,
    NoDatabaseError,
    NotADatabaseError,
    NoteTooLongError,
    SchemaTooNewError,
    SchemaTooOldError,
    StoreError,
    UnknownCaseError,
    UnknownRecordError,
)
from data.migrations import LATEST_VERSION
from data.records import MAX_NOTE_CHARS, CaseImport, CaseRecord, ReferenceFinding
from data.store import Store
from tests.data.conftest import PTX_BOX, add_case, gradient, ptx_report, write_png


class TestOpening:
    def test_a_new_file_is_migrated_to_the_latest_schema(self, db_path: Path) -> None:
        with Store.open(db_path) as store:
            assert store.schema_version() == LATEST_VERSION
        assert db_path.is_file()

    def test_reopening_applies_no_migration_twice(self, db_path: Path) -> None:
        Store.open(db_path).close()
        Store.open(db_path).close()
        con = duckdb.connect(str(db_path))
        versions = [row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()]
        con.close()
        assert versions == list(range(1, LATEST_VERSION + 1))

    def test_a_file_from_a_newer_version_is_refused_clearly(self, db_path: Path) -> None:
        Store.open(db_path).close()
        con = duckdb.connect(str(db_path))
        con.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', now())")
        con.close()
        with pytest.raises(SchemaTooNewError, match="schema version 999, newer than"):
            Store.open(db_path)

    def test_a_file_that_is_not_a_database_is_refused(self, tmp_path: Path) -> None:
        bogus = tmp_path / "notes.duckdb"
        bogus.write_text("this is not a database\n" * 100)
        with pytest.raises(NotADatabaseError, match="cannot open"):
            Store.open(bogus)

    def test_memory_stores_are_separate(self) -> None:
        with Store.open(MEMORY) as first, Store.open(MEMORY) as second:
            add_case(first, "only-here")
            assert second.cases.count() == 0

    def test_the_path_comes_from_the_argument_then_the_environment_then_the_user_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        monkeypatch.delenv(ENV_DB, raising=False)
        assert resolve_db_path() == str(tmp_path / "xdg" / "cxr-audit" / "audit.duckdb")
        monkeypatch.setenv(ENV_DB, str(tmp_path / "env.duckdb"))
        assert resolve_db_path() == str(tmp_path / "env.duckdb")
        assert resolve_db_path(tmp_path / "arg.duckdb") == str(tmp_path / "arg.duckdb")
        assert resolve_db_path(MEMORY) == MEMORY

    def test_a_closed_store_refuses_work(self) -> None:
        store = Store.open(MEMORY)
        store.close()
        with pytest.raises(StoreError, match="closed"):
            store.cases.count()


class TestCases:
    def test_upserting_a_case_twice_keeps_one_case_with_the_latest_values(self, store: Store) -> None:
        add_case(
            store,
            "c1",
            findings=(ReferenceFinding(label="pneumothorax", box=PTX_BOX, source="reference:NIH"),),
        )
        store.cases.upsert(
            CaseRecord(case_id="c1", image_id="c1.png", source="nih", view="PA", width=512, height=512),
            [ReferenceFinding(label="nodule_mass", box=PTX_BOX, source="reference:NIH")],
        )
        assert store.cases.count() == 1
        assert store.cases.get("c1").view == "PA"
        assert [f.label for f in store.cases.reference_findings("c1")] == ["nodule_mass"]

    def test_upsert_without_findings_keeps_the_stored_findings(self, store: Store) -> None:
        add_case(
            store,
            "c1",
            findings=(ReferenceFinding(label="pneumothorax", box=PTX_BOX, source="reference:NIH"),),
        )
        store.cases.upsert(CaseRecord(case_id="c1", image_id="c1.png", source="nih"))
        assert len(store.cases.reference_findings("c1")) == 1

    def test_findings_keep_their_source_reader_and_box(self, store: Store) -> None:
        finding = ReferenceFinding(
            label="pleural_effusion",
            box=PTX_BOX,
            source="reference:VinDr-CXR",
            reader="R8",
            source_label="Pleural effusion",
        )
        add_case(store, "c1", findings=(finding,))
        (stored,) = store.cases.reference_findings("c1")
        assert stored.model_copy(update={"finding_id": None}) == finding
        assert stored.to_image_finding().source == "reference:VinDr-CXR"

    @pytest.mark.parametrize("key", ["patient_id", "PatientName", "patient_age", "Sex"], ids=lambda k: k)
    def test_case_metadata_never_holds_patient_identifiers(self, key: str) -> None:
        with pytest.raises(ValueError, match="patient identifiers"):
            CaseRecord(case_id="c", image_id="c.png", source="nih", metadata={key: "x"})

    def test_the_same_case_id_twice_in_one_batch_is_refused(self, store: Store) -> None:
        case = CaseRecord(case_id="c1", image_id="c1.png", source="nih")
        with pytest.raises(StoreError, match="same case id twice"):
            store.cases.upsert_many([CaseImport(case=case), CaseImport(case=case)])
        assert store.cases.count() == 0

    def test_an_unknown_case_is_a_typed_error(self, store: Store) -> None:
        with pytest.raises(UnknownCaseError, match="no case 'nope'"):
            store.cases.get("nope")
        with pytest.raises(UnknownCaseError):
            store.drafts.add("nope", "text")

    def test_cases_can_be_listed_by_source_and_phantom_flag(self, store: Store) -> None:
        add_case(store, "a", source="nih")
        store.cases.upsert(CaseRecord(case_id="p", image_id="p.png", source="demo", is_phantom=True))
        assert [c.case_id for c in store.cases.where(phantoms=True)] == ["p"]
        assert [c.case_id for c in store.cases.where(source="nih")] == ["a"]
        assert store.cases.sources() == ["demo", "nih"]
        assert store.stats().phantoms == 1


class TestDrafts:
    def test_drafts_are_stored_with_kind_author_corruption_and_expected_flags(self, store: Store) -> None:
        add_case(store, "c1")
        expected = [ExpectedFlag(type="MISSING", label="pneumothorax")]
        draft_id = store.drafts.add(
            "c1",
            "Lungs are clear.",
            kind="synthetic",
            author="synth",
            corruption="drop",
            corruption_label="pneumothorax",
            expected_flags=expected,
        )
        draft = store.drafts.get(draft_id)
        assert (draft.kind, draft.author, draft.corruption, draft.corruption_label) == (
            "synthetic",
            "synth",
            "drop",
            "pneumothorax",
        )
        assert draft.expected_flags == tuple(expected)

    def test_the_default_draft_is_the_latest_human_one_and_never_a_students(self, store: Store) -> None:
        add_case(store, "c1")
        synthetic = store.drafts.add("c1", "synthetic", kind="synthetic")
        store.drafts.add("c1", "student", kind="student", author="amy")
        default = store.drafts.default("c1")
        assert default is not None and default.draft_id == synthetic
        human = store.drafts.add("c1", "human", kind="human")
        default = store.drafts.default("c1")
        assert default is not None and default.draft_id == human

    def test_students_drafts_are_found_per_author(self, store: Store) -> None:
        add_case(store, "c1")
        store.drafts.add("c1", "mine", kind="student", author="amy")
        store.drafts.add("c1", "theirs", kind="student", author="bob")
        assert [d.text for d in store.drafts.for_case("c1", kind="student", author="amy")] == ["mine"]

    def test_an_unknown_draft_kind_is_refused(self, store: Store) -> None:
        add_case(store, "c1")
        with pytest.raises(ValueError, match="kind"):
            store.drafts.add("c1", "x", kind="robot")  # type: ignore[arg-type]


class TestAuditCase:
    def test_the_audit_case_carries_draft_size_and_reference(self, store: Store) -> None:
        add_case(
            store,
            "c1",
            findings=(ReferenceFinding(label="pneumothorax", box=PTX_BOX, source="reference:NIH"),),
        )
        draft_id = store.drafts.add("c1", "No pneumothorax.")
        case = store.cases.audit_case("c1")
        assert case.draft == "No pneumothorax."
        assert case.image_size == (512, 512)
        assert [(f.label, f.source) for f in case.reference] == [("pneumothorax", "reference:NIH")]
        assert store.cases.audit_case("c1", draft_id).draft == "No pneumothorax."

    def test_a_case_without_a_draft_gets_an_empty_one(self, store: Store) -> None:
        add_case(store, "c1")
        assert store.cases.audit_case("c1").draft == ""

    def test_a_draft_of_another_case_is_refused(self, store: Store) -> None:
        add_case(store, "c1")
        add_case(store, "c2")
        other = store.drafts.add("c2", "text")
        with pytest.raises(StoreError, match="belongs to case 'c2'"):
            store.cases.audit_case("c1", other)

    def test_the_image_is_loaded_only_when_asked(self, store: Store, tmp_path: Path) -> None:
        path = write_png(tmp_path / "img.png", gradient())
        store.cases.upsert(
            CaseRecord(case_id="c1", image_id="img.png", image_path=str(path), source="folder")
        )
        case = store.cases.audit_case("c1")
        path.unlink()  # nothing has been read yet
        write_png(path, gradient())
        assert case.load_image is not None
        pixels = case.load_image()
        assert pixels.dtype == np.uint8 and pixels.shape == (48, 64)


class TestAuditRuns:
    def test_a_saved_run_reads_back_as_the_same_report_with_its_flag_ids(
        self, audited: tuple[Store, tuple[int, ...]]
    ) -> None:
        store, flag_ids = audited
        latest = store.audits.latest("ptx")
        assert latest is not None
        assert latest.report == ptx_report()
        assert latest.flag_ids == flag_ids
        assert [f.type for f in latest.report.flags] == ["URGENT", "MISSING"]
        assert (latest.grounder, latest.grounder_version, latest.parser, latest.parser_version) == (
            "reference",
            "1",
            "test-parser",
            "2",
        )
        assert latest.durations == {"ground_s": 0.001, "parse_s": 0.002}

    def test_the_run_is_stored_in_query_tables_too(self, audited: tuple[Store, tuple[int, ...]]) -> None:
        store, _ = audited
        counts = store.query_df(
            "SELECT (SELECT count(*) FROM image_findings) AS f, (SELECT count(*) FROM draft_labels) AS d, "
            "(SELECT count(*) FROM flags WHERE phrase = 'No pneumothorax') AS p"
        ).iloc[0]
        assert (counts.f, counts.d, counts.p) == (1, 1, 2)

    def test_the_latest_audit_is_the_newest_run(self, audited: tuple[Store, tuple[int, ...]]) -> None:
        store, first_ids = audited
        second = store.audits.save("ptx", ptx_report(), raw_outputs={"grounder": "raw text"})
        latest = store.audits.latest("ptx")
        assert latest is not None and latest.run_id == second.run_id
        assert set(latest.flag_ids).isdisjoint(first_ids)
        assert latest.raw_outputs == {"grounder": "raw text"}
        assert store.audits.run_ids("ptx") == [second.run_id - 1, second.run_id]

    def test_a_case_never_audited_has_no_latest_audit(self, store: Store) -> None:
        add_case(store, "c1")
        assert store.audits.latest("c1") is None

    def test_an_unknown_run_is_a_typed_error(self, store: Store) -> None:
        with pytest.raises(UnknownRecordError, match="no audit run 42"):
            store.audits.get(42)


class TestDecisions:
    def test_decisions_are_append_only_and_the_latest_counts(
        self, audited: tuple[Store, tuple[int, ...]]
    ) -> None:
        store, (urgent, _) = audited
        store.decisions.record(urgent, "amy", "accept")
        store.decisions.record(
            urgent, "amy", "dismiss", reason_code="image_finding_wrong", note="  rib edge "
        )
        current = store.decisions.current_for(urgent, "amy")
        assert current is not None
        assert (current.decision, current.reason_code, current.note) == (
            "dismiss",
            "image_finding_wrong",
            "rib edge",
        )
        assert [d.decision for d in store.decisions.history(urgent)] == ["accept", "dismiss"]

    def test_current_decisions_are_kept_per_reviewer(self, audited: tuple[Store, tuple[int, ...]]) -> None:
        store, (urgent, missing) = audited
        store.decisions.record(urgent, "amy", "accept")
        store.decisions.record(urgent, "bob", "dismiss", reason_code="other")
        store.decisions.record(missing, "amy", "accept")
        current = store.decisions.current(case_id="ptx")
        assert {key: d.decision for key, d in current.items()} == {
            (urgent, "amy"): "accept",
            (urgent, "bob"): "dismiss",
            (missing, "amy"): "accept",
        }
        assert set(store.decisions.current(reviewer="bob")) == {(urgent, "bob")}

    @pytest.mark.parametrize(
        ("decision", "reason_code"),
        [("maybe", None), ("accept", "looked_tired")],
        ids=["unknown-decision", "unknown-reason-code"],
    )
    def test_invalid_decisions_are_refused_before_writing(
        self, audited: tuple[Store, tuple[int, ...]], decision: str, reason_code: str | None
    ) -> None:
        store, (urgent, _) = audited
        with pytest.raises(ValueError):
            store.decisions.record(urgent, "amy", decision, reason_code=reason_code)  # type: ignore[arg-type]
        assert store.decisions.history(urgent) == []

    def test_a_decision_needs_a_reviewer_and_a_known_flag(
        self, audited: tuple[Store, tuple[int, ...]]
    ) -> None:
        store, (urgent, _) = audited
        with pytest.raises(StoreError, match="reviewer"):
            store.decisions.record(urgent, "  ", "accept")
        with pytest.raises(UnknownRecordError, match="no flag 9999"):
            store.decisions.record(9999, "amy", "accept")

    @pytest.mark.parametrize(
        "name", ["amy\x1fbob", "amy\nbob", "amy\tbob"], ids=["separator", "newline", "tab"]
    )
    def test_a_reviewer_name_with_control_characters_is_refused(
        self, audited: tuple[Store, tuple[int, ...]], name: str
    ) -> None:
        store, (urgent, _) = audited
        with pytest.raises(StoreError, match="control characters"):
            store.decisions.record(urgent, name, "accept")
        with pytest.raises(StoreError, match="control characters"):
            store.decisions.mark_case_reviewed("ptx", name)
        assert store.decisions.history(urgent) == []

    def test_the_current_decision_is_defined_once_in_the_schema(self) -> None:
        """Everything reads the current_decisions view; no module picks the latest decision itself."""
        root = Path(__file__).resolve().parents[2]
        pickers = ("QUALIFY", "PARTITION BY d.flag_id", "PARTITION BY flag_id", "ORDER BY decision_id DESC")
        found = sorted(
            str(path.relative_to(root))
            for package in ("audit", "models", "data", "workstation", "bench")
            for path in (root / package).rglob("*.py")
            if root / "data" / "migrations" not in path.parents
            and any(p in path.read_text() for p in pickers)
        )
        assert found == []

    def test_reviewer_findings_keep_the_drawn_box(self, audited: tuple[Store, tuple[int, ...]]) -> None:
        store, _ = audited
        box = Box(x0=0.5, y0=0.5, x1=0.7, y1=0.6)
        saved = store.reviewer_findings.add("ptx", "amy", "nodule_mass", box, note="missed nodule")
        (found,) = store.reviewer_findings.for_case("ptx", reviewer="amy")
        assert found == saved
        assert found.box == box and found.finding_id > 0


class TestEvalRuns:
    def test_an_eval_run_is_stored_and_listed_newest_first(self, store: Store) -> None:
        first = store.eval_runs.save(
            grounder="reference",
            parser="rules",
            seed=1,
            n_items=10,
            n_scored=9,
            n_failed=1,
            summary={"f1": 0.9},
        )
        second = store.eval_runs.save(
            grounder="medgemma",
            parser="rules",
            seed=1,
            n_items=4,
            n_scored=4,
            n_failed=0,
            summary={},
            config={"limit": 4},
            out_dir="out/eval",
        )
        runs = store.eval_runs.newest_first()
        assert [r.eval_id for r in runs] == [second, first]
        assert runs[1].summary == {"f1": 0.9} and runs[0].config == {"limit": 4}

    def test_counts_that_do_not_add_up_are_refused(self, store: Store) -> None:
        with pytest.raises(StoreError, match="do not add up"):
            store.eval_runs.save(
                grounder="g", parser="p", seed=None, n_items=10, n_scored=8, n_failed=1, summary={}
            )


class TestReadOnlyOpening:
    """Commands that only read (export, eval's cases) open the file read-only."""

    @pytest.fixture
    def filled(self, db_path: Path) -> Path:
        with Store.open(db_path) as store:
            add_case(store, "kept")
        return db_path

    def test_a_read_only_file_can_be_read_and_not_written(
        self, filled: Path, read_only: Callable[[Path], Path]
    ) -> None:
        read_only(filled)
        with Store.open(filled, read_only=True) as store:
            assert [case.case_id for case in store.cases.where()] == ["kept"]
            with pytest.raises(StoreError):
                add_case(store, "refused")

    def test_opening_a_read_only_file_to_write_says_it_is_read_only(
        self, filled: Path, read_only: Callable[[Path], Path]
    ) -> None:
        read_only(filled)
        with pytest.raises(DatabaseReadOnlyError, match=f"the audit database {filled} is read-only"):
            Store.open(filled)

    def test_reading_a_missing_file_creates_nothing(self, tmp_path: Path) -> None:
        missing = tmp_path / "sub" / "none.duckdb"
        with pytest.raises(NoDatabaseError, match=f"there is no audit database at {missing}"):
            Store.open(missing, read_only=True)
        assert not (tmp_path / "sub").exists()

    def test_a_file_from_a_newer_version_is_refused_read_only_too(self, filled: Path) -> None:
        with duckdb.connect(str(filled)) as con:
            con.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', now())")
        with pytest.raises(SchemaTooNewError, match="schema version 999"):
            Store.open(filled, read_only=True)

    def test_a_file_from_an_older_version_cannot_be_upgraded_read_only(self, filled: Path) -> None:
        with duckdb.connect(str(filled)) as con:
            con.execute("DELETE FROM schema_migrations WHERE version = ?", [LATEST_VERSION])
        with pytest.raises(SchemaTooOldError, match="run a command that writes to it once"):
            Store.open(filled, read_only=True)


@pytest.mark.parametrize("depth", [1, 2], ids=["directly-under", "deeper-under"])
def test_a_database_under_a_regular_file_names_the_file(tmp_path: Path, depth: int) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    path = blocker.joinpath(*["sub"] * (depth - 1), "audit.duckdb")
    with pytest.raises(
        StoreError, match=f"cannot create the audit database {path}: {blocker} is a file, not a folder"
    ):
        Store.open(path)


class TestTextLimits:
    """A note, and a draft, past their limits are refused where they are stored, naming the limit."""

    def test_a_note_over_the_limit_is_refused_and_nothing_is_saved(
        self, audited: tuple[Store, tuple[int, ...]]
    ) -> None:
        store, (urgent, _) = audited
        with pytest.raises(
            NoteTooLongError,
            match=f"the note is 1,000,000 characters long; a note holds at most {MAX_NOTE_CHARS:,}",
        ):
            store.decisions.record(urgent, "amy", "accept", note="x" * 1_000_000)
        assert store.decisions.history(urgent) == []

    def test_a_note_at_the_limit_is_kept_whole(self, audited: tuple[Store, tuple[int, ...]]) -> None:
        store, (urgent, _) = audited
        saved = store.decisions.record(urgent, "amy", "accept", note="y" * MAX_NOTE_CHARS)
        assert saved.note == "y" * MAX_NOTE_CHARS

    def test_a_reviewer_box_note_and_an_eval_run_note_have_the_same_limit(
        self, audited: tuple[Store, tuple[int, ...]]
    ) -> None:
        store, _ = audited
        box = Box(x0=0.5, y0=0.5, x1=0.7, y1=0.6)
        with pytest.raises(NoteTooLongError):
            store.reviewer_findings.add("ptx", "amy", "nodule_mass", box, note="z" * (MAX_NOTE_CHARS + 1))
        assert store.reviewer_findings.for_case("ptx") == []
        with pytest.raises(NoteTooLongError):
            store.eval_runs.save(
                grounder="reference",
                parser="rules",
                seed=1,
                n_items=1,
                n_scored=1,
                n_failed=0,
                summary={},
                config={},
                out_dir="/tmp/x",
                note="z" * (MAX_NOTE_CHARS + 1),
            )

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("x" * (MAX_DRAFT_CHARS + 1), f"the auditor reads at most {MAX_DRAFT_CHARS:,}"),
            ("  ", "the draft is empty"),
        ],
        ids=["over-the-limit", "blank"],
    )
    def test_a_draft_the_auditor_cannot_read_is_not_stored(
        self, store: Store, text: str, problem: str
    ) -> None:
        add_case(store, "c1")
        with pytest.raises(DraftRefusedError, match=f"draft for case 'c1' not stored: .*{problem}"):
            store.drafts.add("c1", text)
        assert store.drafts.for_case("c1") == []
