"""The app's operations on the store and the pipeline, callable without Streamlit.

Pages call these; each takes the store (and, where a backend runs, a way to build
backends) so tests drive them with a temporary database and the CPU defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audit.labels import DISPLAY_NAMES
from audit.pipeline import run_audit
from audit.protocols import DraftParser, Grounder
from audit.schema import FLAG_TYPES, ComparePolicy
from data.records import (
    CaseRecord,
    DecisionKind,
    DecisionRecord,
    DraftKind,
    ReasonCode,
    ReviewerFinding,
    StoredAudit,
    WorklistPage,
    WorklistQuery,
)
from data.reviewer_findings import SavedEdits
from data.store import Store
from data.worklist import neighbour_case, next_undecided, worklist_page
from models.registry import get_grounder, get_parser, names
from models.settings import compare_policy
from workstation import generated
from workstation.canvas import BoxEdits
from workstation.review_view import (
    FlagCard,
    ReviewContext,
    draft_view,
    finding_rows,
    flag_cards,
    run_summary,
)

log = logging.getLogger(__name__)

DEFAULT_GROUNDER = "reference"
DEFAULT_PARSER = "rules"
PHANTOM_MARK = "synthetic phantom"

STATUS_NAMES = {"not_audited": "not audited", "audited": "audited", "reviewed": "reviewed"}
FLAG_COLUMN_NAMES = {
    "URGENT": "Urgent",
    "MISSING": "Missing",
    "LATERALITY": "Laterality",
    "UNSUPPORTED": "Unsupported",
}


@dataclass(frozen=True)
class Backends:
    """How the app builds backends by name (the app passes cached builders; tests the registry)."""

    grounder: Callable[[str], Grounder] = get_grounder
    parser: Callable[[str], DraftParser] = get_parser


def audit_and_save(
    store: Store,
    case_id: str,
    grounder: Grounder,
    parser: DraftParser,
    *,
    draft_id: int | None = None,
    policy: ComparePolicy | None = None,
) -> StoredAudit:
    """Audit a case's draft (its default draft unless ``draft_id``) and store the run."""
    case = store.cases.audit_case(case_id, draft_id)
    if draft_id is None:
        default = store.drafts.default(case_id)
        draft_id = default.draft_id if default is not None else None
    report = run_audit(case, grounder, parser, policy or compare_policy())
    saved = store.audits.save(
        case_id,
        report,
        draft_id=draft_id,
        grounder=grounder.name,
        grounder_version=getattr(grounder, "version", None),
        parser=parser.name,
        parser_version=getattr(parser, "version", None),
    )
    log.info(
        "audited %s with %s + %s: run %d, %d flags",
        case_id,
        grounder.name,
        parser.name,
        saved.run_id,
        len(saved.flag_ids),
    )
    return store.audits.get(saved.run_id)


def ensure_audited(
    store: Store, case_id: str, backends: Backends | None = None, *, draft_id: int | None = None
) -> tuple[StoredAudit, bool]:
    """The case's latest audit (of draft ``draft_id``, when given); a case (or draft) never
    audited is audited now with the CPU defaults and saved.

    Returns the audit and whether it was made just now.
    """
    stored = store.audits.latest(case_id, draft_id=draft_id)
    if stored is not None:
        return stored, False
    backends = backends or Backends()
    made = audit_and_save(
        store,
        case_id,
        backends.grounder(DEFAULT_GROUNDER),
        backends.parser(DEFAULT_PARSER),
        draft_id=draft_id,
    )
    return made, True


def review_context(
    store: Store,
    case_id: str,
    reviewer: str | None,
    *,
    backends: Backends | None = None,
    blinded: bool = False,
    draft_kind: DraftKind | None = None,
    draft_author: str | None = None,
) -> ReviewContext:
    """Everything the Review page shows for ``case_id`` as ``reviewer`` sees it, but the flag cards
    (``flag_cards_now``: they change with every decision); a case never audited is audited first
    (``ensure_audited``). ``blinded``: other reviewers' decisions on a flag stay hidden until
    ``reviewer`` has decided it, their drawn boxes until ``reviewer`` has decided every flag
    (inter-reader studies). With a draft kind or author (the Worklist's draft filter), the case's
    latest such draft is the one shown, when it has one."""
    case = store.cases.get(case_id)
    draft = generated.chosen_draft(store, case_id, draft_kind, draft_author)
    stored, fresh = ensure_audited(store, case_id, backends, draft_id=draft.draft_id if draft else None)
    report = stored.report
    cards = flag_cards_now(store, stored, reviewer, blinded=blinded)
    revealed = not blinded or (bool(cards) and all(card.decided for card in cards))

    def visible(box: ReviewerFinding) -> bool:
        return revealed or box.reviewer == reviewer

    drawn = store.reviewer_findings.for_case(case_id)
    shown = [item for item in drawn if visible(item)]
    return ReviewContext(
        case=case,
        title=case_title(case),
        audit=stored,
        audited_now=fresh,
        references=tuple(store.cases.reference_findings(case_id)),
        drawn=tuple(shown),
        hidden_drawn=len(drawn) - len(shown),
        deleted=tuple(gone for gone in store.reviewer_findings.deleted(case_id) if visible(gone.finding)),
        summary=run_summary(report),
        draft=draft_view(report.draft),
        findings=finding_rows(report.image.findings if report.image else ()),
        grounders=tuple(names("grounder")),
        parsers=tuple(names("parser")),
    )


def flag_cards_now(
    store: Store, audit: StoredAudit, reviewer: str | None, *, blinded: bool = False
) -> tuple[FlagCard, ...]:
    """The run's flags as cards with the decisions recorded on them as of now (``blinded``: the
    others' decisions withheld until ``reviewer`` has decided the flag)."""
    return tuple(flag_cards(audit, store.decisions.current(run_id=audit.run_id), reviewer, blinded=blinded))


def decide(
    store: Store,
    flag_id: int,
    reviewer: str,
    decision: DecisionKind,
    *,
    reason_code: ReasonCode | None = None,
    note: str | None = None,
) -> DecisionRecord:
    """Record one reviewer's accept/dismiss on a flag (append-only; the newest counts)."""
    return store.decisions.record(flag_id, reviewer, decision, reason_code=reason_code, note=note)


def save_box_edits(
    store: Store, case_id: str, reviewer: str, edits: BoxEdits, *, note: str | None, run_id: int | None
) -> SavedEdits:
    """Save a reviewer's boxes as drawn on the canvas: new ones, moved or resized ones, deleted ones."""
    return store.reviewer_findings.save_edits(
        case_id,
        reviewer,
        added=edits.added,
        moved=[(finding.finding_id, box) for finding, box in edits.moved],
        deleted_ids=[finding.finding_id for finding in edits.deleted],
        note=note,
        run_id=run_id,
    )


def case_title(case: CaseRecord) -> str:
    """'case-001 · image 0001.png · demo · PA · synthetic phantom'."""
    parts = [case.case_id, f"image {case.image_id}", case.source]
    if case.view:
        parts.append(case.view)
    if case.is_phantom:
        parts.append(PHANTOM_MARK)
    return " · ".join(parts)


def worklist_rows(page: WorklistPage) -> list[dict[str, Any]]:
    """The page as table rows: one per case, flag counts by type, phantoms marked; display names."""
    rows = []
    for row in page.rows:
        item: dict[str, Any] = {
            "Case": row.case_id,
            "Status": STATUS_NAMES[row.status],
            "Image": row.image_id + (f"  ({PHANTOM_MARK})" if row.is_phantom else ""),
            "Source": row.source,
        }
        for flag_type in FLAG_TYPES:
            item[FLAG_COLUMN_NAMES[flag_type]] = row.flag_counts.get(flag_type, 0)
        item["Decided"] = f"{row.n_decided} / {row.n_flags}" if row.latest_run_id is not None else ""
        item["Labels"] = ", ".join(DISPLAY_NAMES.get(label, label) for label in row.labels)  # type: ignore[call-overload]
        item["Reviewers"] = ", ".join(row.reviewers)
        rows.append(item)
    return rows


def first_case(store: Store, query: WorklistQuery | None = None) -> str | None:
    """The first case of the worklist (in its order), or None when it is empty."""
    base = query or WorklistQuery()
    page = worklist_page(store, base.model_copy(update={"page": 0, "page_size": 1}))
    return page.rows[0].case_id if page.rows else None


def neighbour(store: Store, case_id: str, step: int, query: WorklistQuery | None = None) -> str | None:
    """The case ``step`` places away in the worklist's order (None past either end)."""
    return neighbour_case(store, case_id, query, step)


def next_with_work(
    store: Store, case_id: str, reviewer: str, query: WorklistQuery | None = None
) -> tuple[str | None, bool]:
    """The next case in the worklist's order with flags ``reviewer`` has not decided (or not yet
    audited), and whether finding it went round from the end to the top."""
    return next_undecided(store, query or WorklistQuery(), case_id, reviewer)


def audit_not_audited(
    store: Store,
    case_ids: list[str],
    backends: Backends | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> int:
    """Audit, with the CPU defaults, each of ``case_ids`` that has never been audited; returns how many."""
    backends = backends or Backends()
    done = 0
    for index, case_id in enumerate(case_ids, start=1):
        _, made = ensure_audited(store, case_id, backends)
        done += int(made)
        if on_progress is not None:
            on_progress(index, len(case_ids), case_id)
    return done
