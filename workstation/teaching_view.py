"""What the Teaching pages show, computed without Streamlit: the checklist as rows and boxes, the
cases a person may pick, and where a student is in an assignment.

Every outcome here was read off the comparator's flags (``audit.checklist``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.checklist import OUTCOME_NAMES, Outcome
from data.assignments import Assignment, Assignments
from data.records import WorklistQuery
from data.store import Store
from data.worklist import worklist_page
from workstation.overlay import FLAG_COLOURS, OverlayBox
from workstation.teaching import StudentAudit

OUTCOME_COLOURS: dict[Outcome, str] = {
    "found": "#2ecc71",
    "missed": FLAG_COLOURS["MISSING"],
    "wrong_side": FLAG_COLOURS["LATERALITY"],
    "over_call": FLAG_COLOURS["UNSUPPORTED"],
}
OUTCOME_ICONS: dict[Outcome, str] = {
    "found": "✓",
    "missed": "✗",
    "wrong_side": "↔",
    "over_call": "+",
}
SEARCH_LIMIT = 200


def checklist_boxes(audit: StudentAudit) -> list[OverlayBox]:
    """The reference boxes, each coloured and captioned by what the impression did with it."""
    boxes = []
    for item in audit.checklist.items:
        for box in item.boxes:
            caption = f"{item.name}: {OUTCOME_NAMES[item.outcome]}"
            boxes.append(OverlayBox(box, OUTCOME_COLOURS[item.outcome], caption, "reference"))
    return boxes


def checklist_rows(audit: StudentAudit) -> list[dict[str, Any]]:
    """One row per finding: the outcome, what the impression said, the note, the reason, feedback."""
    rows = []
    for item in audit.checklist.items:
        flags = [audit.report.flags[i] for i in item.flag_positions]
        flag_ids = [audit.flag_ids[i] for i in item.flag_positions]
        reasons = [flag.reason for flag in flags if flag.type != "URGENT"]
        feedback = [audit.feedback[f] for f in flag_ids if f in audit.feedback]
        rows.append(
            {
                "": OUTCOME_ICONS[item.outcome],
                "finding": item.name,
                "result": OUTCOME_NAMES[item.outcome],
                "you wrote": item.phrase or "",
                "note": item.note or "",
                "why": " ".join(reasons),
                "educator": "; ".join(
                    f"{'agrees' if f.decision == 'accept' else 'disagrees'} ({f.educator})"
                    + (f": {f.note}" if f.note else "")
                    for f in feedback
                ),
            }
        )
    return rows


def search_cases(store: Store, search: str) -> tuple[list[str], int]:
    """Cases of the whole worklist whose id or image id contains ``search`` (the first 200), and how many."""
    page = worklist_page(store, WorklistQuery(sort="case_id", search=search or None, page_size=SEARCH_LIMIT))
    return [row.case_id for row in page.rows], page.total


@dataclass(frozen=True)
class Place:
    """Where a student is in an assignment."""

    assignment: Assignment
    cases: tuple[str, ...]
    submitted: frozenset[str]

    @property
    def progress(self) -> str:
        return f"{len(self.submitted & set(self.cases))} of {len(self.cases)} submitted"

    def step(self, case_id: str, offset: int) -> str | None:
        if case_id not in self.cases:
            return self.cases[0] if self.cases else None
        index = self.cases.index(case_id) + offset
        return self.cases[index] if 0 <= index < len(self.cases) else None

    def first_open(self) -> str:
        """The first case not yet submitted (the first case when all are)."""
        return next((c for c in self.cases if c not in self.submitted), self.cases[0])


def place(store: Store, assignment: Assignment, student: str) -> Place:
    assignments = Assignments(store)
    cases = tuple(assignments.cases(assignment.assignment_id))
    return Place(assignment, cases, frozenset(assignments.submitted_case_ids(student, list(cases))))


def assignment_label(assignment: Assignment) -> str:
    due = f" · due {assignment.due_at:%Y-%m-%d}" if assignment.due_at else ""
    return f"{assignment.name} ({assignment.n_cases} cases{due})"
