"""Moving through the worklist as one reviewer (``data.worklist.next_undecided``): the next case
with flags this reviewer has not decided, in the filtered order, going round to the top once."""

from __future__ import annotations

import pytest

from data.records import CaseRecord, WorklistQuery
from data.store import Store
from data.worklist import next_undecided, worklist_page
from tests.data.conftest import add_case, draft_reading, make_report, ptx_report


@pytest.fixture
def cases(store: Store) -> Store:
    """In worklist order: "a-ptx" and "b-ptx" (URGENT + MISSING each), "c-clear" (no flags),
    "d-new" (never audited), "e-phantom" (a phantom with URGENT + MISSING)."""
    for case_id in ("a-ptx", "b-ptx"):
        add_case(store, case_id)
        store.audits.save(case_id, ptx_report())
    add_case(store, "c-clear")
    store.audits.save("c-clear", make_report((), draft_reading("Lungs are clear.")))
    add_case(store, "d-new")
    store.cases.upsert(CaseRecord(case_id="e-phantom", image_id="e.png", source="demo", is_phantom=True))
    store.audits.save("e-phantom", ptx_report())
    assert [row.case_id for row in worklist_page(store).rows] == [
        "a-ptx",
        "b-ptx",
        "c-clear",
        "d-new",
        "e-phantom",
    ]
    return store


def _decide_all(store: Store, case_id: str, reviewer: str) -> None:
    for flag_id in store.audits.latest(case_id).flag_ids:  # type: ignore[union-attr]
        store.decisions.record(flag_id, reviewer, "dismiss")


def test_the_next_case_with_work_skips_those_decided_and_those_without_flags(cases: Store) -> None:
    _decide_all(cases, "b-ptx", "ana")

    assert next_undecided(cases, WorklistQuery(), "a-ptx", "ana") == ("d-new", False)
    assert next_undecided(cases, WorklistQuery(), "d-new", "ana") == ("e-phantom", False)


def test_one_reviewers_decisions_leave_the_work_of_another_untouched(cases: Store) -> None:
    _decide_all(cases, "b-ptx", "ana")

    assert next_undecided(cases, WorklistQuery(), "a-ptx", "bo") == ("b-ptx", False)


def test_past_the_end_it_goes_round_to_the_top_and_says_so(cases: Store) -> None:
    assert next_undecided(cases, WorklistQuery(), "e-phantom", "ana") == ("a-ptx", True)


def test_it_follows_the_filter(cases: Store) -> None:
    real = WorklistQuery(phantoms=False)

    assert next_undecided(cases, real, "d-new", "ana") == ("a-ptx", True)  # never the phantom


def test_nothing_left_is_none(cases: Store) -> None:
    for case_id in ("a-ptx", "b-ptx", "e-phantom"):
        _decide_all(cases, case_id, "ana")

    assert next_undecided(cases, WorklistQuery(), "a-ptx", "ana") == ("d-new", False)
    assert next_undecided(cases, WorklistQuery(status="audited"), "a-ptx", "ana") == (None, False)
