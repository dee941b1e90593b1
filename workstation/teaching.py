"""Teaching mode: a student writes an impression, which is stored and then audited against
the case's reference findings (the ``reference`` grounder and the ``rules`` parser).

A student's audit is computed from the stored draft whenever it is shown, not saved as an
audit run: saving it would make it the case's latest audit, replacing the one reviewers
decide on in the Review page.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.pipeline import draft_problem, run_audit
from audit.schema import AuditReport
from data.records import DraftRecord
from data.store import Store
from models.settings import compare_policy
from workstation.services import DEFAULT_PARSER, Backends

TEACHING_GROUNDER = "reference"


class DraftRejectedError(ValueError):
    """The impression cannot be audited (empty or too long); nothing was stored."""


@dataclass(frozen=True)
class StudentAudit:
    draft: DraftRecord
    report: AuditReport


def submit(store: Store, case_id: str, student: str, text: str) -> DraftRecord:
    """Store a student's impression for a case (kind ``student``, author = the student)."""
    problem = draft_problem(text)
    if problem:
        raise DraftRejectedError(
            f"{problem[0].upper()}{problem[1:]}; write your impression and submit again."
        )
    draft_id = store.drafts.add(case_id, text.strip(), kind="student", author=student)
    return store.drafts.get(draft_id)


def audit_student_draft(store: Store, draft: DraftRecord, backends: Backends | None = None) -> StudentAudit:
    """The student's draft audited against the case's reference findings."""
    backends = backends or Backends()
    case = store.cases.audit_case(draft.case_id, draft.draft_id)
    report = run_audit(
        case, backends.grounder(TEACHING_GROUNDER), backends.parser(DEFAULT_PARSER), compare_policy()
    )
    return StudentAudit(draft=draft, report=report)


def student_drafts(store: Store, case_id: str, student: str) -> list[DraftRecord]:
    """The student's earlier impressions of this case, newest first."""
    return list(reversed(store.drafts.for_case(case_id, kind="student", author=student)))
