"""Report generations: each stored with its raw text and outcome, a ``generated`` draft for each
that did not fail, the latest per generator and case current; reviewers' feedback per generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.recover import read_report
from data.errors import UnknownCaseError
from data.generations import NewGeneration
from data.store import Store
from tests.data.conftest import add_case, draft_reading, make_report


def generation(case_id: str, generator: str, raw: str, **extra: object) -> NewGeneration:
    return NewGeneration(
        case_id=case_id,
        generator=generator,
        reading=read_report(raw),
        raw_text=raw,
        backend="import",
        **extra,
    )  # type: ignore[arg-type]


class TestStoring:
    def test_a_report_becomes_a_generated_draft_by_its_generator(self, store: Store) -> None:
        add_case(store, "c1")
        (generation_id,) = store.generations.add(
            [generation("c1", "gen-a", "  Small right effusion.\n", model="m1", profile="medgemma-report")]
        )
        (draft,) = store.drafts.for_case("c1")
        assert (draft.kind, draft.author, draft.text) == ("generated", "gen-a", "Small right effusion.")
        (record,) = store.generations.latest()
        assert record.generation_id == generation_id and record.draft_id == draft.draft_id
        assert record.raw_text == "  Small right effusion.\n"  # exactly what came back
        assert (record.outcome, record.model, record.profile) == ("ok", "m1", "medgemma-report")

    def test_an_empty_generation_is_stored_failed_with_no_draft(self, store: Store) -> None:
        add_case(store, "c1")
        store.generations.add([generation("c1", "gen-a", "<think>hmm")])
        assert store.drafts.for_case("c1") == []
        (record,) = store.generations.latest()
        assert record.outcome == "failed" and record.raw_text == "<think>hmm" and record.draft_id is None
        assert "never closed" in (record.error or "")

    def test_a_generation_for_an_unknown_case_is_refused_and_nothing_is_written(self, store: Store) -> None:
        add_case(store, "c1")
        with pytest.raises(UnknownCaseError):
            store.generations.add([generation("c1", "g", "Fine."), generation("nope", "g", "Fine.")])
        assert store.generations.latest() == [] and store.drafts.for_case("c1") == []

    def test_the_run_record_and_seconds_are_kept(self, store: Store) -> None:
        add_case(store, "c1")
        run = {"backend": "openai", "attempts": [{"raw": "x"}]}
        store.generations.add([generation("c1", "g", "Fine.", run=run, seconds=0.25)])
        (record,) = store.generations.for_case("c1")
        assert record.run == run and record.seconds == 0.25


class TestCurrentReports:
    def test_the_latest_generation_is_current_even_when_it_failed(self, store: Store) -> None:
        add_case(store, "c1")
        store.generations.add([generation("c1", "g", "Right effusion.")])
        store.generations.add([generation("c1", "g", "")])
        reports = store.generations.reports()
        assert reports["g"]["c1"].failed and reports["g"]["c1"].text == ""
        assert len(store.generations.for_case("c1")) == 2  # the earlier one stays, with its draft
        assert len(store.drafts.for_case("c1", kind="generated")) == 1

    def test_reports_can_be_chosen_by_generator_and_case(self, store: Store) -> None:
        for case_id in ("c1", "c2"):
            add_case(store, case_id)
        store.generations.add(
            [generation("c1", "a", "One."), generation("c2", "a", "Two."), generation("c1", "b", "Three.")]
        )
        assert store.generations.reports(["a"], ["c2"]) == {
            "a": {"c2": store.generations.reports()["a"]["c2"]}
        }
        assert store.generations.reports(["missing"]) == {"missing": {}}

    def test_summaries_count_each_generators_latest_reports(self, store: Store) -> None:
        for case_id in ("c1", "c2", "c3"):
            add_case(store, case_id)
        store.generations.add(
            [
                generation("c1", "a", "One."),
                generation("c2", "a", ""),
                generation("c3", "a", "<think>x</think><think>y</think>Three."),
            ]
        )
        (summary,) = store.generations.summaries()
        assert (summary.generator, summary.cases, summary.ok, summary.recovered, summary.failed) == (
            "a",
            3,
            1,
            1,
            1,
        )


class TestFeedback:
    def test_decisions_on_a_generators_flags_give_its_accepted_flag_rate(self, store: Store) -> None:
        from data.records import ReferenceFinding
        from tests.data.conftest import PTX_BOX

        add_case(store, "ptx", findings=(ReferenceFinding(label="pneumothorax", box=PTX_BOX, source="r"),))
        store.generations.add([generation("ptx", "gen-a", "No pneumothorax.")])
        (draft,) = store.drafts.for_case("ptx", kind="generated")
        report = make_report(
            store.cases.audit_case("ptx").reference,
            draft_reading("No pneumothorax.", ("pneumothorax", "absent", "No pneumothorax")),
        )
        saved = store.audits.save("ptx", report, draft_id=draft.draft_id)
        urgent, missing = saved.flag_ids
        store.decisions.record(urgent, "ana", "accept")
        store.decisions.record(missing, "ana", "dismiss")
        store.decisions.record(missing, "ana", "accept")  # changed her mind: the latest counts
        store.decisions.record(missing, "ben", "dismiss")
        feedback = store.report_evaluations.feedback(["gen-a", "gen-b"])
        assert set(feedback) == {"gen-a"}  # gen-b has no flags
        scores = feedback["gen-a"]
        assert (scores.accepted, scores.dismissed, scores.decisions) == (2, 1, 3)
        assert scores.accepted_flag_rate == pytest.approx(2 / 3)
        assert (scores.flags, scores.flags_decided) == (2, 2)
        assert scores.by_type["MISSING"].decisions == 2 and scores.by_type["MISSING"].rate == 0.5


def test_a_file_from_before_generations_gains_them_and_keeps_its_drafts(tmp_path: Path) -> None:
    from data.migrations import MIGRATIONS
    from tests.data.test_migrations import T0, at_schema

    path = tmp_path / "old.duckdb"
    before = next(m.version for m in MIGRATIONS if m.name.startswith("report generations")) - 1
    con = at_schema(path, before)
    con.execute(
        "INSERT INTO cases (case_id, image_id, source, created_at, updated_at) "
        f"VALUES ('c1', 'c1.png', 'nih', {T0}, {T0})"
    )
    con.execute(
        f"INSERT INTO drafts (case_id, text, kind, created_at) VALUES ('c1', 'Old draft.', 'human', {T0})"
    )
    con.close()
    with Store.open(path) as store:
        assert [d.text for d in store.drafts.for_case("c1")] == ["Old draft."]
        assert store.generations.latest() == [] and store.report_evaluations.newest_first() == []
        store.generations.add([generation("c1", "g", "New report.")])
        assert store.drafts.default("c1").text == "Old draft."  # a human draft stays the default
