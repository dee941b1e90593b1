"""Reviewer boxes over time (``store.reviewer_findings``): drawn, moved or resized, deleted; nothing
is ever removed, only one's own boxes change, and a save is all or nothing."""

from __future__ import annotations

import pytest

from audit.schema import Box
from data.errors import StoreError, UnknownCaseError
from data.store import Store
from tests.data.conftest import add_case

FIRST = Box(x0=0.1, y0=0.1, x1=0.3, y1=0.3)
SECOND = Box(x0=0.5, y0=0.5, x1=0.7, y1=0.7)


@pytest.fixture
def drawn(store: Store) -> tuple[Store, int, int]:
    """Case "c" with a nodule box and an effusion box drawn by ana; returns their ids."""
    add_case(store, "c")
    store.reviewer_findings.save_edits(
        "c",
        "ana",
        added=[("nodule_mass", FIRST), ("pleural_effusion", SECOND)],
        note=" faint ",
        run_id=None,
    )
    first, second = store.reviewer_findings.for_case("c")
    return store, first.finding_id, second.finding_id


def test_new_boxes_are_current_with_their_note(drawn: tuple[Store, int, int]) -> None:
    store, _, _ = drawn

    assert [(b.label, b.box, b.note) for b in store.reviewer_findings.for_case("c")] == [
        ("nodule_mass", FIRST, "faint"),
        ("pleural_effusion", SECOND, "faint"),
    ]


def test_a_moved_box_is_current_at_its_latest_corners(drawn: tuple[Store, int, int]) -> None:
    store, first, _ = drawn
    later = Box(x0=0.2, y0=0.1, x1=0.4, y1=0.35)

    store.reviewer_findings.save_edits("c", "ana", moved=[(first, SECOND)])
    store.reviewer_findings.save_edits("c", "ana", moved=[(first, later)])

    assert store.reviewer_findings.for_case("c")[0].box == later


def test_a_deleted_box_leaves_the_image_but_stays_on_record(drawn: tuple[Store, int, int]) -> None:
    store, first, second = drawn

    saved = store.reviewer_findings.save_edits("c", "ana", deleted_ids=[second])

    assert (saved.added, saved.moved, saved.deleted) == (0, 0, 1)
    assert [b.finding_id for b in store.reviewer_findings.for_case("c")] == [first]
    (gone,) = store.reviewer_findings.deleted("c")
    assert (gone.finding.finding_id, gone.deleted_by) == (second, "ana")
    drawn_rows = store.read(lambda cur: cur.execute("SELECT count(*) FROM reviewer_findings").fetchone())
    assert drawn_rows == (2,)  # the drawn row itself is never removed


def test_only_the_reviewer_who_drew_a_box_can_change_it(drawn: tuple[Store, int, int]) -> None:
    store, first, _ = drawn

    with pytest.raises(StoreError, match="ana's"):
        store.reviewer_findings.save_edits("c", "bo", deleted_ids=[first])
    assert len(store.reviewer_findings.for_case("c")) == 2


def test_a_save_that_fails_saves_nothing(drawn: tuple[Store, int, int]) -> None:
    store, first, second = drawn
    store.reviewer_findings.save_edits("c", "ana", deleted_ids=[second])

    with pytest.raises(StoreError, match="not a current box"):
        store.reviewer_findings.save_edits(
            "c", "ana", added=[("pneumothorax", FIRST)], moved=[(first, SECOND)], deleted_ids=[second]
        )

    assert [(b.finding_id, b.box) for b in store.reviewer_findings.for_case("c")] == [(first, FIRST)]


def test_an_unknown_case_or_a_nameless_reviewer_is_refused(store: Store) -> None:
    with pytest.raises(UnknownCaseError):
        store.reviewer_findings.save_edits("nope", "ana", added=[("nodule_mass", FIRST)])
    add_case(store, "c")
    with pytest.raises(StoreError, match="reviewer name"):
        store.reviewer_findings.save_edits("c", "  ", added=[("nodule_mass", FIRST)])


@pytest.mark.parametrize("name", ["  ", "ana\nbob", "ana\x1fbob"], ids=["blank", "newline", "separator"])
def test_a_box_is_refused_under_a_name_a_decision_would_refuse(store: Store, name: str) -> None:
    add_case(store, "c")

    with pytest.raises(StoreError, match="reviewer name"):
        store.reviewer_findings.add("c", name, "nodule_mass", FIRST)
    with pytest.raises(StoreError, match="reviewer name"):
        store.reviewer_findings.save_edits("c", name, added=[("nodule_mass", FIRST)])
    assert store.reviewer_findings.for_case("c") == []


def test_a_box_is_stored_under_the_name_stripped(store: Store) -> None:
    add_case(store, "c")

    store.reviewer_findings.add("c", " ana ", "nodule_mass", FIRST)
    store.reviewer_findings.save_edits("c", " ana ", added=[("pneumothorax", SECOND)])

    assert [b.reviewer for b in store.reviewer_findings.for_case("c")] == ["ana", "ana"]
