"""The class's results for educators (and a student's own): one row per finding per impression,
read off each teaching run's checklist (educators' dismissals applied), and the tables the Class
page shows.

Rates use the latest impression of each student on each case (earlier attempts stay in
the rows, marked ``latest = False``); every table says how many impressions it counts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from audit.checklist import OUTCOME_NAMES, checklist
from audit.labels import DISPLAY_NAMES
from audit.schema import AuditReport
from data.accounts import Accounts
from data.assignments import Assignments
from data.connection import Database
from data.teaching_runs import Attempt, TeachingRuns

COLUMNS = (
    "student",
    "case_id",
    "draft_id",
    "submitted_at",
    "attempt",
    "latest",
    "assignments",
    "label",
    "outcome",
    "urgent",
    "phrase",
    "score",
    "impression",
)


def _assignment_names(db: Database) -> dict[tuple[str, str], list[str]]:
    """(student, case) → the names of the assignments that gave the student that case."""
    found: dict[tuple[str, str], list[str]] = {}
    assignments = Assignments(db)
    for assignment in assignments.all():
        students = ("*",) if assignment.everyone else assignment.students  # "*": every student
        for case_id in assignments.cases(assignment.assignment_id):
            for student in students:
                found.setdefault((student, case_id), []).append(assignment.name)
    return found


def attempts(db: Database, *, student: str | None = None, accounts_only: bool = False) -> list[Attempt]:
    """Submitted impressions, oldest first. ``accounts_only`` (a shared server's class): student
    accounts' only, so staff who tried the Teaching page are not counted as students."""
    found = TeachingRuns(db).attempts(student=student)
    if not accounts_only:
        return found
    enrolled = set(Accounts(db).names("student", active_only=False))
    return [attempt for attempt in found if attempt.student in enrolled]


def finding_rows(db: Database, *, student: str | None = None, accounts_only: bool = False) -> pd.DataFrame:
    """Every submitted impression's checklist, one row per finding (``COLUMNS``)."""
    found = attempts(db, student=student, accounts_only=accounts_only)
    names = _assignment_names(db)
    seen: dict[tuple[str, str], int] = {}
    latest: dict[tuple[str, str], int] = {}
    for attempt in found:
        latest[(attempt.student, attempt.case_id)] = attempt.draft_id
    rows: list[dict[str, Any]] = []
    for attempt in found:
        key = (attempt.student, attempt.case_id)
        seen[key] = seen.get(key, 0) + 1
        given = names.get(key, []) + names.get(("*", attempt.case_id), [])
        base = {
            "student": attempt.student,
            "case_id": attempt.case_id,
            "draft_id": attempt.draft_id,
            "submitted_at": attempt.submitted_at,
            "attempt": seen[key],
            "latest": latest[key] == attempt.draft_id,
            "assignments": "; ".join(dict.fromkeys(given)),
            "impression": attempt.text,
        }
        if attempt.report_json is None:
            rows.append(
                {**base, "label": "", "outcome": "not audited", "urgent": False, "phrase": "", "score": ""}
            )
            continue
        result = checklist(AuditReport.model_validate_json(attempt.report_json), attempt.dismissed)
        if not result.scored or not result.items:
            outcome = "not scored" if not result.scored else "nothing to find"
            rows.append(
                {
                    **base,
                    "label": "",
                    "outcome": outcome,
                    "urgent": False,
                    "phrase": "",
                    "score": result.score,
                }
            )
        for item in result.items:
            rows.append(
                {
                    **base,
                    "label": item.label,
                    "outcome": item.outcome,
                    "urgent": item.urgent,
                    "phrase": item.phrase or "",
                    "score": result.score,
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _count(frame: pd.DataFrame, outcome: str) -> pd.Series:
    return (frame["outcome"] == outcome).groupby(frame["student"]).sum()


def per_student(frame: pd.DataFrame) -> pd.DataFrame:
    """Per student (latest impressions): cases submitted, found / missed / wrong side / over-calls,
    and found ÷ findings; then the same counts per label in ``<label>: found`` style columns."""
    latest = frame[frame["latest"]]
    if latest.empty:
        return pd.DataFrame(
            columns=["student", "cases submitted", "found", "missed", "wrong side", "over-calls"]
        )
    table = pd.DataFrame({"cases submitted": latest.groupby("student")["case_id"].nunique()})
    for outcome in ("found", "missed", "wrong_side", "over_call"):
        table[OUTCOME_NAMES[outcome] if outcome != "over_call" else "over-calls"] = _count(latest, outcome)
    findings = table["found"] + table["missed"] + table["wrong side"]
    table["found ÷ findings"] = table["found"] / findings.where(findings > 0)
    labelled = latest[latest["label"] != ""]
    for label in sorted(labelled["label"].unique()):
        part = labelled[labelled["label"] == label]
        for outcome, name in (("found", "found"), ("missed", "missed"), ("over_call", "over-called")):
            table[f"{DISPLAY_NAMES[label]}: {name}"] = _count(part, outcome).reindex(
                table.index, fill_value=0
            )
    return table.fillna({c: 0 for c in table.columns if c != "found ÷ findings"}).reset_index()


def trends(frame: pd.DataFrame) -> pd.DataFrame:
    """Per student and assignment (latest impressions): findings found ÷ findings, and over-calls."""
    latest = frame[frame["latest"] & (frame["label"] != "")]
    if latest.empty:
        return pd.DataFrame(
            columns=["student", "assignment", "found", "findings", "found ÷ findings", "over-calls"]
        )
    exploded = latest.assign(assignment=latest["assignments"].replace("", "(no assignment)").str.split("; "))
    exploded = exploded.explode("assignment")
    grouped = exploded.groupby(["student", "assignment"])
    table = pd.DataFrame(
        {
            "found": grouped["outcome"].apply(lambda s: int((s == "found").sum())),
            "findings": grouped["outcome"].apply(
                lambda s: int(s.isin(["found", "missed", "wrong_side"]).sum())
            ),
            "over-calls": grouped["outcome"].apply(lambda s: int((s == "over_call").sum())),
        }
    )
    table["found ÷ findings"] = table["found"] / table["findings"].where(table["findings"] > 0)
    return table.reset_index()[
        ["student", "assignment", "found", "findings", "found ÷ findings", "over-calls"]
    ]


def per_case(frame: pd.DataFrame) -> pd.DataFrame:
    """Per case and finding (latest impressions): students who read it, how many missed it; hardest first."""
    latest = frame[frame["latest"] & frame["outcome"].isin(["found", "missed", "wrong_side"])]
    if latest.empty:
        return pd.DataFrame(
            columns=["case_id", "finding", "students", "missed", "wrong side", "missed share"]
        )
    grouped = latest.groupby(["case_id", "label"])
    table = pd.DataFrame(
        {
            "students": grouped["student"].nunique(),
            "missed": grouped["outcome"].apply(lambda s: int((s == "missed").sum())),
            "wrong side": grouped["outcome"].apply(lambda s: int((s == "wrong_side").sum())),
        }
    ).reset_index()
    table["missed share"] = table["missed"] / table["students"]
    table["finding"] = [DISPLAY_NAMES[label] for label in table["label"]]
    table = table.sort_values(["missed share", "missed", "case_id"], ascending=[False, False, True])
    return table[["case_id", "finding", "students", "missed", "wrong side", "missed share"]].reset_index(
        drop=True
    )


CLASS_FORMATS = ("csv", "parquet")


def export_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """The rows as CSV (formula-looking cells neutralized) or Parquet."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    from data.spreadsheet import neutralize

    table = pa.Table.from_pandas(frame, preserve_index=False)
    buffer = io.BytesIO()
    if fmt == "csv":
        pa_csv.write_csv(neutralize(table), buffer)
    elif fmt == "parquet":
        pq.write_table(table, buffer)
    else:
        raise ValueError(f"class results export as csv or parquet, not {fmt!r}")
    return buffer.getvalue()
