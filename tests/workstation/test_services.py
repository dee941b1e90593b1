"""The app's services without Streamlit: auditing on open, decisions, worklist rows, the
session helpers and teaching mode, on a temporary database with the CPU defaults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.schema import Box
from data.records import WorklistQuery
from data.store import Store
from tests.workstation.conftest import seed_store
from workstation import services, session, teaching


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "audit.duckdb") as opened:
        seed_store(opened, tmp_path / "images")
        yield opened


def test_ensure_audited_audits_a_new_case_once_and_saves_the_run(store: Store) -> None:
    first, made = services.ensure_audited(store, "case-ptx")
    again, made_again = services.ensure_audited(store, "case-ptx")

    assert (made, made_again) == (True, False)
    assert again.run_id == first.run_id
    assert store.audit_runs("case-ptx") == [first.run_id]
    assert (first.grounder, first.parser) == ("reference", "rules")
    assert first.draft_id == store.default_draft("case-ptx").draft_id  # type: ignore[union-attr]


def test_audit_and_save_uses_the_backends_given(store: Store) -> None:
    backends = services.Backends()
    stored = services.audit_and_save(
        store, "case-eff", backends.grounder("reference"), backends.parser("rules")
    )

    assert [(flag.type, flag.label) for flag in stored.report.flags] == [("UNSUPPORTED", "cardiomegaly")]
    assert len(stored.flag_ids) == 1


def test_decisions_are_append_only_and_the_newest_counts(store: Store) -> None:
    stored, _ = services.ensure_audited(store, "case-eff")
    (flag_id,) = stored.flag_ids

    services.decide(store, flag_id, "ana", "accept")
    services.decide(store, flag_id, "ana", "dismiss", reason_code="clinically_insignificant", note=" mild ")

    current = store.current_decision(flag_id, "ana")
    assert current is not None and (current.decision, current.reason_code, current.note) == (
        "dismiss",
        "clinically_insignificant",
        "mild",
    )
    assert len(store.decision_history(flag_id)) == 2


def test_a_missed_finding_is_stored_with_its_reviewer_box_and_run(store: Store) -> None:
    stored, _ = services.ensure_audited(store, "case-normal")
    box = Box(x0=0.6, y0=0.2, x1=0.8, y1=0.4)

    services.add_missed_finding(
        store, "case-normal", "ana", "nodule_mass", box, note="  ", run_id=stored.run_id
    )

    (found,) = store.reviewer_findings("case-normal")
    assert (found.reviewer, found.label, found.box, found.note, found.run_id) == (
        "ana",
        "nodule_mass",
        box,
        None,
        stored.run_id,
    )


@pytest.mark.parametrize(
    ("choices", "expected"),
    [
        ({}, {"status": None, "label": None, "phantoms": None, "search": None}),
        ({"status": "audited", "label": "pneumothorax"}, {"status": "audited", "label": "pneumothorax"}),
        ({"phantoms": "phantoms only", "search": "  demo "}, {"phantoms": True, "search": "demo"}),
        ({"phantoms": "real images only", "page": -3}, {"phantoms": False, "page": 0}),
    ],
    ids=["no-filters", "status-and-label", "phantoms-and-search", "real-images"],
)
def test_worklist_query_turns_any_into_no_filter(
    choices: dict[str, object], expected: dict[str, object]
) -> None:
    query = services.worklist_query(**choices)  # type: ignore[arg-type]

    assert {key: getattr(query, key) for key in expected} == expected


def test_worklist_rows_mark_phantoms_and_count_flags_by_type(store: Store) -> None:
    services.ensure_audited(store, "case-phantom")

    page = store.worklist(WorklistQuery(search="phantom"))
    (row,) = services.worklist_rows(page)

    assert row["image"].endswith("(synthetic phantom)")
    assert (row["URGENT"], row["MISSING"], row["status"], row["decided"]) == (1, 0, "audited", "0 / 1")


def test_case_title_marks_a_phantom(store: Store) -> None:
    assert services.case_title(store.get_case("case-phantom")).endswith("synthetic phantom")
    assert "phantom" not in services.case_title(store.get_case("case-ptx"))


def test_first_case_and_neighbours_follow_the_worklist_order(store: Store) -> None:
    first = services.first_case(store)

    assert first == store.worklist().rows[0].case_id
    assert services.neighbour(store, first, -1) is None  # type: ignore[arg-type]
    assert services.neighbour(store, first, 1) == store.worklist().rows[1].case_id  # type: ignore[arg-type]


def test_known_reviewers_lists_everyone_who_left_a_trace(store: Store) -> None:
    stored, _ = services.ensure_audited(store, "case-eff")
    services.decide(store, stored.flag_ids[0], "bo", "accept")
    teaching.submit(store, "case-ptx", "al", "Right pneumothorax.")

    assert services.known_reviewers(store) == ["al", "bo"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  Ana   Lima ", "Ana Lima"), ("", ""), (None, ""), ("x" * 100, "x" * 64)],
    ids=["spaces", "empty", "none", "too-long"],
)
def test_reviewer_names_are_cleaned(raw: object, expected: str) -> None:
    assert session.clean_reviewer(raw) == expected


def test_the_url_seeds_a_fresh_session_but_never_overrides_it() -> None:
    state: dict[str, object] = {}
    session.init_from_url(state, {"reviewer": " ana ", "case": "case-ptx"})
    session.init_from_url(state, {"reviewer": "bo", "case": "case-eff"})

    assert (session.reviewer(state), state[session.CASE]) == ("ana", "case-ptx")


def test_focus_starts_at_the_first_undecided_flag_and_resets_on_another_case() -> None:
    state: dict[str, object] = {}
    session.open_case(state, "case-ptx")

    assert session.focus(state, [True, False, False]) == 1
    state[session.FOCUS] = 2
    assert session.focus(state, [True, True]) == 1  # kept within the case's flags
    session.open_case(state, "case-eff")
    assert session.focus(state, [False]) == 0


def test_teaching_submissions_are_remembered_per_case() -> None:
    state: dict[str, object] = {}
    session.record_teaching_submission(state, "case-ptx", 7)

    assert (
        session.teaching_submission(state, "case-ptx"),
        session.teaching_submission(state, "case-eff"),
    ) == (7, None)
    session.clear_teaching_submission(state, "case-ptx")
    assert session.teaching_submission(state, "case-ptx") is None


def test_a_student_draft_is_audited_against_the_reference_without_saving_a_run(store: Store) -> None:
    draft = teaching.submit(store, "case-ptx", "sam", "  No pneumothorax.  ")

    result = teaching.audit_student_draft(store, draft)

    assert (draft.kind, draft.author, draft.text) == ("student", "sam", "No pneumothorax.")
    assert [flag.type for flag in result.report.flags] == ["URGENT", "MISSING"]
    assert store.audit_runs("case-ptx") == []
    assert [d.draft_id for d in teaching.student_drafts(store, "case-ptx", "sam")] == [draft.draft_id]


def test_an_empty_student_draft_is_refused_and_not_stored(store: Store) -> None:
    with pytest.raises(teaching.DraftRejectedError, match="empty"):
        teaching.submit(store, "case-ptx", "sam", "   ")

    assert store.drafts("case-ptx", kind="student") == []


def test_audit_not_audited_audits_only_new_cases_and_reports_progress(store: Store) -> None:
    services.ensure_audited(store, "case-ptx")
    seen: list[tuple[int, int, str]] = []

    made = services.audit_not_audited(
        store, ["case-ptx", "case-eff"], on_progress=lambda i, n, case_id: seen.append((i, n, case_id))
    )

    assert made == 1
    assert seen == [(1, 2, "case-ptx"), (2, 2, "case-eff")]
    assert len(store.audit_runs("case-ptx")) == 1


def test_teaching_offers_the_case_open_in_review_even_past_the_list() -> None:
    assert session.teaching_choices(["a", "b"], {session.CASE: "z"}) == ["z", "a", "b"]
    assert session.teaching_choices(["a", "b"], {session.CASE: "b"}) == ["a", "b"]
    assert session.teaching_choices(["a"], {}) == ["a"]
