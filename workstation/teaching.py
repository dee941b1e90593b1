"""Teaching mode: a student writes an impression, which is stored and audited once against the
case's reference findings (the ``reference`` grounder and the ``rules`` parser), saved as
an audit run with purpose ``teaching`` (never the case's latest audit).

What the student reads is the checklist (``audit.checklist``), read off that run's flags and
the educators' dismissals of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.checklist import Checklist, checklist
from audit.pipeline import draft_problem, run_audit
from audit.schema import AuditReport
from data.audit_trail import AuditTrail
from data.records import DraftRecord
from data.store import Store
from data.teaching_runs import Feedback, TeachingRuns
from models.settings import compare_policy
from workstation.services import DEFAULT_PARSER, Backends

TEACHING_GROUNDER = "reference"


class DraftRejectedError(ValueError):
    """The impression cannot be audited (empty or too long); nothing was stored."""


@dataclass(frozen=True)
class StudentAudit:
    """One submitted impression: the draft, its teaching run, the report and its checklist."""

    draft: DraftRecord
    run_id: int
    report: AuditReport
    flag_ids: tuple[int, ...]
    checklist: Checklist
    feedback: dict[int, Feedback]  # educators' latest feedback per flag id


def submit(
    store: Store, case_id: str, student: str, text: str, backends: Backends | None = None
) -> StudentAudit:
    """Store a student's impression (kind ``student``), audit it against the reference and save the run."""
    problem = draft_problem(text)
    if problem:
        raise DraftRejectedError(
            f"{problem[0].upper()}{problem[1:]}; write your impression and submit again."
        )
    draft_id = store.drafts.add(case_id, text.strip(), kind="student", author=student)
    AuditTrail(store).record(
        "impression_submitted", actor=student, target=case_id, detail=f"draft {draft_id}"
    )
    return student_audit(store, store.drafts.get(draft_id), backends)


def _save_run(store: Store, draft: DraftRecord, backends: Backends | None) -> int:
    backends = backends or Backends()
    grounder, parser = backends.grounder(TEACHING_GROUNDER), backends.parser(DEFAULT_PARSER)
    report = run_audit(
        store.cases.audit_case(draft.case_id, draft.draft_id), grounder, parser, compare_policy()
    )
    return store.audits.save(
        draft.case_id,
        report,
        draft_id=draft.draft_id,
        grounder=grounder.name,
        parser=parser.name,
        parser_version=getattr(parser, "version", None),
        purpose="teaching",
    ).run_id


def student_audit(store: Store, draft: DraftRecord, backends: Backends | None = None) -> StudentAudit:
    """The impression's teaching run read back (made now for one submitted before runs were kept)."""
    runs = TeachingRuns(store)
    run_id = runs.run_for_draft(draft.draft_id)
    if run_id is None:
        run_id = _save_run(store, draft, backends)
    stored = store.audits.get(run_id)
    feedback = runs.feedback(run_id)
    dismissed = [
        position
        for position, flag_id in enumerate(stored.flag_ids)
        if flag_id in feedback and feedback[flag_id].decision == "dismiss"
    ]
    return StudentAudit(
        draft=draft,
        run_id=run_id,
        report=stored.report,
        flag_ids=stored.flag_ids,
        checklist=checklist(stored.report, dismissed),
        feedback=feedback,
    )


def student_drafts(store: Store, case_id: str, student: str) -> list[DraftRecord]:
    """The student's impressions of this case, newest first."""
    return list(reversed(store.drafts.for_case(case_id, kind="student", author=student)))


def latest_attempt(store: Store, case_id: str, student: str) -> DraftRecord | None:
    drafts = student_drafts(store, case_id, student)
    return drafts[0] if drafts else None


def feedback_lines(audit: StudentAudit) -> list[tuple[str, Feedback]]:
    """Each educator's feedback on this impression as (what it is about, the feedback), in flag order."""
    lines = []
    for flag_id, flag in zip(audit.flag_ids, audit.report.flags, strict=True):
        found = audit.feedback.get(flag_id)
        if found is not None:
            lines.append((f"{flag.type} · {flag.label}", found))
    return lines
