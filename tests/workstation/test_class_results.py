"""The class's results (``workstation.class_results``): one row per finding per impression from the
stored checklists; per student, across assignments, per case (hardest first); CSV is safe."""

from __future__ import annotations

import io

import pandas as pd

from data.assignments import Assignments
from data.store import Store
from workstation import class_results, teaching


def _class(store: Store) -> pd.DataFrame:
    Assignments(store).create("Week 1", ["case-ptx", "case-eff"], created_by="erin", everyone=True)
    teaching.submit(store, "case-ptx", "sam", "No pneumothorax.")  # missed
    teaching.submit(store, "case-ptx", "sam", "Right pneumothorax.")  # found, on the second attempt
    teaching.submit(store, "case-ptx", "kim", "No pneumothorax.")  # missed
    teaching.submit(store, "case-eff", "kim", "=HYPERLINK(1) Small left pleural effusion. Cardiomegaly.")
    return class_results.finding_rows(store)


def test_every_finding_of_every_attempt_is_a_row_and_the_latest_is_marked(store: Store) -> None:
    frame = _class(store)
    sam = frame[frame["student"] == "sam"]
    assert sam[["attempt", "latest", "outcome"]].values.tolist() == [[1, False, "missed"], [2, True, "found"]]
    assert set(frame["assignments"]) == {"Week 1"}
    kim_eff = frame[(frame["student"] == "kim") & (frame["case_id"] == "case-eff")]
    assert sorted(kim_eff["outcome"]) == ["found", "over_call"]


def test_per_student_counts_the_latest_impressions(store: Store) -> None:
    table = class_results.per_student(_class(store)).set_index("student")
    assert table.loc["sam", ["cases submitted", "found", "missed", "over-calls"]].tolist() == [1, 1, 0, 0]
    assert table.loc["kim", ["cases submitted", "found", "missed", "over-calls"]].tolist() == [2, 1, 1, 1]
    assert table.loc["kim", "cardiomegaly: over-called"] == 1
    assert table.loc["kim", "found ÷ findings"] == 1 / 2  # 1 of 2 findings found


def test_trends_per_assignment_and_the_hardest_cases_first(store: Store) -> None:
    frame = _class(store)
    trends = class_results.trends(frame).set_index("student")
    assert trends.loc["kim", ["assignment", "found", "findings", "over-calls"]].tolist() == [
        "Week 1",
        1,
        2,
        1,
    ]
    cases = class_results.per_case(frame)
    assert cases.iloc[0][["case_id", "finding", "students", "missed"]].tolist() == [
        "case-ptx",
        "pneumothorax",
        2,
        1,
    ]
    assert cases.iloc[0]["missed share"] == 1 / 2  # kim missed it; sam's latest found it


def test_the_class_export_is_csv_with_formulas_neutralized_or_parquet(store: Store) -> None:
    frame = _class(store)
    csv = pd.read_csv(io.BytesIO(class_results.export_bytes(frame, "csv")))
    assert csv["impression"].str.startswith("'=HYPERLINK").any()
    parquet = pd.read_parquet(io.BytesIO(class_results.export_bytes(frame, "parquet")))
    assert len(parquet) == len(frame) and parquet["impression"].str.startswith("=HYPERLINK").any()


def test_an_educators_dismissal_corrects_the_students_result_and_the_class_tables(store: Store) -> None:
    from data.teaching_runs import TeachingRuns

    frame = _class(store)
    kim = teaching.student_audit(store, store.drafts.for_case("case-ptx", kind="student", author="kim")[0])
    missing = next(
        f for f, flag in zip(kim.flag_ids, kim.report.flags, strict=True) if flag.type == "MISSING"
    )
    TeachingRuns(store).give_feedback(missing, "erin", "dismiss", "PTX is written as an abbreviation")

    again = teaching.student_audit(store, kim.draft)
    assert again.checklist.score == "1 of 1 finding found, no over-call"
    assert "an educator overruled the audit here" in (again.checklist.items[0].note or "")
    after = class_results.per_student(class_results.finding_rows(store)).set_index("student")
    before = class_results.per_student(frame).set_index("student")
    assert (before.loc["kim", "missed"], after.loc["kim", "missed"]) == (1, 0)
    assert after.loc["kim", "found"] == before.loc["kim", "found"] + 1
