"""The worklist: status, filters, urgent-first order, pagination, flag counts, progress."""

from __future__ import annotations

import pytest

from audit.schema import ImageFinding
from data.records import CaseImport, CaseRecord, ReferenceFinding, WorklistQuery
from data.store import Store
from data.summary import refresh_all_summaries
from data.worklist import case_status, neighbour_case, worklist_page
from tests.data.conftest import EFFUSION_BOX, PTX_BOX, add_case, draft_reading, make_report, ptx_report

EFFUSION = ImageFinding(label="pleural_effusion", box=EFFUSION_BOX, source="reference:NIH")


@pytest.fixture
def worklist(store: Store) -> Store:
    """Five cases:
    - "a-normal": audited, no flags;
    - "b-effusion": audited, MISSING effusion, decided by amy → reviewed;
    - "c-ptx": audited, URGENT + MISSING pneumothorax, one of two decided by bob → audited;
    - "d-new": not audited, reference pneumothorax;
    - "e-phantom": a demo phantom, not audited.
    """
    add_case(store, "a-normal")
    store.audits.save("a-normal", make_report((), draft_reading("Lungs are clear.")))
    add_case(store, "b-effusion", findings=(ReferenceFinding.from_image_finding(EFFUSION),))
    saved = store.audits.save("b-effusion", make_report((EFFUSION,), draft_reading("Lungs are clear.")))
    store.decisions.record(saved.flag_ids[0], "amy", "accept")
    add_case(store, "c-ptx")
    saved = store.audits.save("c-ptx", ptx_report())
    store.decisions.record(saved.flag_ids[0], "bob", "accept")
    add_case(
        store,
        "d-new",
        findings=(ReferenceFinding(label="pneumothorax", box=PTX_BOX, source="reference:NIH"),),
    )
    store.cases.upsert(CaseRecord(case_id="e-phantom", image_id="e.png", source="demo", is_phantom=True))
    return store


def ids(store: Store, **query: object) -> list[str]:
    return [row.case_id for row in worklist_page(store, WorklistQuery(**query)).rows]  # type: ignore[arg-type]


def test_each_case_has_a_status_from_its_latest_audit_and_decisions(worklist: Store) -> None:
    statuses = {row.case_id: row.status for row in worklist_page(worklist).rows}
    assert statuses == {
        "a-normal": "audited",
        "b-effusion": "reviewed",
        "c-ptx": "audited",
        "d-new": "not_audited",
        "e-phantom": "not_audited",
    }


def test_urgent_cases_come_first_then_flagged_then_by_id(worklist: Store) -> None:
    assert ids(worklist) == ["c-ptx", "b-effusion", "a-normal", "d-new", "e-phantom"]


def test_real_images_come_before_phantoms_even_urgent_ones(worklist: Store) -> None:
    worklist.audits.save("e-phantom", ptx_report())  # the phantom now has an URGENT flag

    assert ids(worklist) == ["c-ptx", "b-effusion", "a-normal", "d-new", "e-phantom"]
    assert ids(worklist, sort="case_id")[-1] == "e-phantom"  # the other sorts are as named


def test_flag_counts_per_type_are_on_each_row_and_summed_for_the_page(worklist: Store) -> None:
    page = worklist_page(worklist)
    row = next(r for r in page.rows if r.case_id == "c-ptx")
    assert row.flag_counts == {"URGENT": 1, "MISSING": 1, "LATERALITY": 0, "UNSUPPORTED": 0}
    assert (row.n_flags, row.n_decided) == (2, 1)
    assert page.flag_counts == {"URGENT": 1, "MISSING": 2, "LATERALITY": 0, "UNSUPPORTED": 0}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "not_audited"}, ["d-new", "e-phantom"]),
        ({"status": "audited"}, ["c-ptx", "a-normal"]),
        ({"status": "reviewed"}, ["b-effusion"]),
        ({"label": "pneumothorax"}, ["c-ptx", "d-new"]),
        ({"label": "pleural_effusion"}, ["b-effusion"]),
        ({"flag_type": "URGENT"}, ["c-ptx"]),
        ({"flag_type": "MISSING"}, ["c-ptx", "b-effusion"]),
        ({"source": "demo"}, ["e-phantom"]),
        ({"phantoms": False, "status": "not_audited"}, ["d-new"]),
        ({"reviewer": "amy"}, ["b-effusion"]),
        ({"reviewer": "carol"}, []),
        ({"search": "PTX"}, ["c-ptx"]),
        ({"search": "e.png"}, ["e-phantom"]),
        ({"sort": "case_id"}, ["a-normal", "b-effusion", "c-ptx", "d-new", "e-phantom"]),
    ],
    ids=[
        "not-audited",
        "audited",
        "reviewed",
        "label-from-reference-or-flags",
        "label-effusion",
        "urgent",
        "missing",
        "source",
        "real-images-only",
        "reviewer",
        "unknown-reviewer",
        "search-case-id",
        "search-image-id",
        "sort-by-id",
    ],
)
def test_filters_select_the_matching_cases(
    worklist: Store, query: dict[str, object], expected: list[str]
) -> None:
    assert ids(worklist, **query) == expected


def test_progress_counts_every_matching_case_whatever_the_status_filter(worklist: Store) -> None:
    page = worklist_page(worklist, WorklistQuery(status="reviewed"))
    assert page.total == 1
    assert (
        page.progress.total,
        page.progress.reviewed,
        page.progress.audited,
        page.progress.not_audited,
    ) == (5, 1, 2, 2)
    assert page.progress.summary == "1 of 5 reviewed"


def test_pages_split_the_list_in_order(worklist: Store) -> None:
    pages = [worklist_page(worklist, WorklistQuery(page=n, page_size=2)) for n in range(3)]
    assert [[r.case_id for r in p.rows] for p in pages] == [
        ["c-ptx", "b-effusion"],
        ["a-normal", "d-new"],
        ["e-phantom"],
    ]
    assert pages[0].n_pages == 3 and pages[0].total == 5


def test_deciding_every_flag_makes_a_case_reviewed_and_keeps_its_place(worklist: Store) -> None:
    latest = worklist.audits.latest("c-ptx")
    assert latest is not None
    worklist.decisions.record(latest.flag_ids[1], "bob", "dismiss", reason_code="draft_read_wrong")
    assert case_status(worklist, "c-ptx") == "reviewed"
    assert ids(worklist)[0] == "c-ptx"


def test_a_case_without_flags_is_reviewed_once_a_reviewer_marks_it(worklist: Store) -> None:
    worklist.decisions.mark_case_reviewed("a-normal", "amy")
    assert case_status(worklist, "a-normal") == "reviewed"
    assert ids(worklist, reviewer="amy") == ["b-effusion", "a-normal"]


def test_a_new_audit_needs_a_new_review(worklist: Store) -> None:
    worklist.audits.save("b-effusion", make_report((EFFUSION,), draft_reading("Lungs are clear.")))
    assert case_status(worklist, "b-effusion") == "audited"


def test_previous_and_next_follow_the_filtered_order(worklist: Store) -> None:
    assert neighbour_case(worklist, "c-ptx") == "b-effusion"
    assert neighbour_case(worklist, "b-effusion", step=-1) == "c-ptx"
    assert neighbour_case(worklist, "c-ptx", step=-1) is None
    assert neighbour_case(worklist, "d-new", WorklistQuery(status="not_audited")) == "e-phantom"
    assert neighbour_case(worklist, "e-phantom", WorklistQuery(status="not_audited")) is None


def test_next_from_a_case_that_left_the_filter_is_the_one_that_followed_it(worklist: Store) -> None:
    audited = WorklistQuery(status="audited")
    assert ids(worklist, status="audited") == ["c-ptx", "a-normal"]

    # c-ptx's last flag decided: it is "reviewed" now, outside the filter, but j still moves on.
    worklist.decisions.record(worklist.audits.latest("c-ptx").flag_ids[1], "bob", "accept")  # type: ignore[union-attr]

    assert ids(worklist, status="audited") == ["a-normal"]
    assert neighbour_case(worklist, "c-ptx", audited) == "a-normal"
    assert neighbour_case(worklist, "c-ptx", audited, step=-1) is None


def test_the_per_case_refresh_and_the_set_based_refresh_agree(worklist: Store) -> None:
    worklist.decisions.mark_case_reviewed("a-normal", "amy")
    query = "SELECT * FROM case_summary ORDER BY case_id"
    before = worklist.read(lambda cur: cur.execute(query).fetchall())
    worklist.transaction("refresh", refresh_all_summaries)
    assert worklist.read(lambda cur: cur.execute(query).fetchall()) == before


def test_a_decisions_point_update_agrees_with_the_set_based_refresh(worklist: Store) -> None:
    """Reviewers out of name order, a flag decided twice, and a decision on a superseded run."""
    old = worklist.audits.latest("c-ptx")
    assert old is not None
    new = worklist.audits.save("c-ptx", ptx_report())
    worklist.decisions.record(old.flag_ids[1], "amy", "accept")  # an older run: n_decided stays
    worklist.decisions.record(new.flag_ids[0], "zed", "accept")
    worklist.decisions.record(new.flag_ids[0], "amy", "dismiss", reason_code="other")
    query = "SELECT * FROM case_summary ORDER BY case_id"
    before = worklist.read(lambda cur: cur.execute(query).fetchall())
    worklist.transaction("refresh", refresh_all_summaries)
    assert worklist.read(lambda cur: cur.execute(query).fetchall()) == before
    (row,) = [r for r in worklist_page(worklist).rows if r.case_id == "c-ptx"]
    assert (row.n_decided, row.status, row.reviewers) == (1, "audited", ("amy", "bob", "zed"))


def test_deep_pages_read_back_by_row_id_follow_the_same_order(store: Store) -> None:
    """Past 5,000 rows (limit + offset) a page is found by sorting keys alone: same order, same rows."""
    ids = [f"c{i:05d}" for i in range(5060)]
    store.cases.upsert_many(
        [CaseImport(case=CaseRecord(case_id=i, image_id=f"{i}.png", source="nih")) for i in ids]
    )
    shallow = worklist_page(store, WorklistQuery(sort="case_id", page_size=1000, page=4))  # rows 4000-4999
    deep = worklist_page(store, WorklistQuery(sort="case_id", page_size=1000, page=5))  # rows 5000-5059
    assert [row.case_id for row in shallow.rows] == ids[4000:5000]
    assert [row.case_id for row in deep.rows] == ids[5000:]
    assert deep.rows[0] == next(r for r in worklist_page(store, WorklistQuery(search="c05000")).rows)
