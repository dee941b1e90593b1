"""Records that cross the store's boundary: validated, frozen pydantic models.

What goes in (``CaseRecord``, ``ReferenceFinding``, ``WorklistQuery``) is validated before
any SQL runs; what comes out is a typed record, never a raw row.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import Field, JsonValue, field_validator, model_validator

from audit.labels import Label
from audit.pipeline import draft_problem
from audit.schema import AuditReport, Box, ExpectedFlag, FlagType, Frozen, ImageFinding, OutcomeStatus
from data.errors import DraftRefusedError, NoteTooLongError, StoreError

DraftKind = Literal["human", "synthetic", "student", "generated"]
DecisionKind = Literal["accept", "dismiss"]
ReasonCode = Literal["image_finding_wrong", "draft_read_wrong", "clinically_insignificant", "other"]
CaseStatus = Literal["not_audited", "audited", "reviewed"]
WorklistSort = Literal["urgent", "case_id", "recent"]
RunPurpose = Literal["audit", "teaching"]  # a teaching run is never a case's latest audit

DRAFT_KINDS: tuple[DraftKind, ...] = get_args(DraftKind)
DECISION_KINDS: tuple[DecisionKind, ...] = get_args(DecisionKind)
REASON_CODES: tuple[ReasonCode, ...] = get_args(ReasonCode)
CASE_STATUSES: tuple[CaseStatus, ...] = get_args(CaseStatus)

REASON_CODE_NAMES: dict[ReasonCode, str] = {
    "image_finding_wrong": "image finding wrong",
    "draft_read_wrong": "draft read wrong",
    "clinically_insignificant": "clinically insignificant",
    "other": "other",
}

# The longest note a reviewer (or an evaluation run) may store: a few sentences on a
# decision, not a document. The app's note box, the store and the CLI's --note share it.
MAX_NOTE_CHARS = 2_000
MAX_NAME_CHARS = 64  # an account's name (shared mode)
MAX_ASSIGNMENT_NAME_CHARS = 120  # "Pneumothorax week", "Board review 1"


def checked_note(note: str | None) -> str | None:
    """A note as it is stored (stripped, None when blank); NoteTooLongError past the limit."""
    text = (note or "").strip()
    if len(text) > MAX_NOTE_CHARS:
        raise NoteTooLongError(len(text), MAX_NOTE_CHARS)
    return text or None


def reviewer_name(name: str) -> str:
    """A reviewer's name as stored with a decision, a case review or a drawn box: stripped,
    never empty, no control characters."""
    name = name.strip()
    if not name:
        raise StoreError("a decision, a case review or a drawn box needs a reviewer name")
    if any(unicodedata.category(char) == "Cc" for char in name):
        raise StoreError("a reviewer name cannot contain control characters (tabs, line breaks, ...)")
    return name


def checked_draft(case_id: str, text: str) -> str:
    """A draft the auditor can read (``audit.pipeline.draft_problem``), else DraftRefusedError:
    stored, an unreadable draft would only ever show as an image-only audit."""
    problem = draft_problem(text)
    if problem is not None:
        raise DraftRefusedError(case_id, problem)
    return text


# Metadata keys never stored for a case: patient identifiers and quasi-identifiers.
IDENTIFYING_KEYS: frozenset[str] = frozenset(
    {
        "patient_id",
        "patientid",
        "patient_name",
        "patientname",
        "patient_birth_date",
        "patientbirthdate",
        "birth_date",
        "patient_age",
        "patientage",
        "age",
        "patient_sex",
        "patientsex",
        "patient_gender",
        "sex",
        "gender",
        "accession_number",
        "accessionnumber",
        "mrn",
        "name",
        "institution_name",
        "institutionname",
        "referring_physician_name",
        "referringphysicianname",
        "study_instance_uid",
        "studyinstanceuid",
        "series_instance_uid",
        "seriesinstanceuid",
        "sop_instance_uid",
        "sopinstanceuid",
        "other_patient_ids",
        "otherpatientids",
    }
)


class CaseRecord(Frozen):
    """One case on the worklist: an image and what is known about it (no patient identifiers)."""

    case_id: str = Field(min_length=1, max_length=256)
    image_id: str = Field(min_length=1)  # the file name, e.g. "00000032_037.png"
    image_path: str | None = None  # absolute path; None when the image is not available here
    width: int | None = Field(default=None, gt=0)
    height: int | None = Field(default=None, gt=0)
    source: str = Field(min_length=1)  # "nih", "vindr", "folder", "demo", ...
    view: str | None = None  # "PA", "AP", ...
    is_phantom: bool = False  # a synthetic phantom, not a radiograph
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("metadata")
    @classmethod
    def _no_identifiers(cls, value: dict[str, JsonValue]) -> dict[str, JsonValue]:
        found = sorted(key for key in value if key.strip().lower().replace(" ", "_") in IDENTIFYING_KEYS)
        if found:
            raise ValueError(f"case metadata must not hold patient identifiers: {', '.join(found)}")
        return value

    @property
    def image_size(self) -> tuple[int, int] | None:
        if self.width is None or self.height is None:
            return None
        return (self.width, self.height)


class ReferenceFinding(Frozen):
    """An expert's finding stored with a case, with who drew it and the source's own label name."""

    label: Label
    box: Box | None = None
    source: str = Field(min_length=1)  # "reference:NIH", "reference:ChestX-Det", "reference:VinDr-CXR"
    reader: str | None = None  # a reader id where the source has several (VinDr "R8")
    source_label: str | None = None  # the dataset's own name ("Infiltrate")
    finding_id: int | None = None

    def to_image_finding(self) -> ImageFinding:
        return ImageFinding(label=self.label, box=self.box, source=self.source)

    @classmethod
    def from_image_finding(cls, finding: ImageFinding) -> ReferenceFinding:
        return cls(label=finding.label, box=finding.box, source=finding.source or "reference")


class CaseImport(Frozen):
    """A case with its complete reference findings, as importers hand them to the store."""

    case: CaseRecord
    findings: tuple[ReferenceFinding, ...] = ()


class DraftRecord(Frozen):
    """A draft impression for a case, written by a person, a generator, or a student.

    A ``generated`` draft is a report generator's (its ``author`` is the generator's name);
    its generation, with the raw text and outcome, is a :class:`GenerationRecord`.
    """

    draft_id: int
    case_id: str
    text: str
    kind: DraftKind
    author: str | None = None
    corruption: str | None = None  # "none", "drop", "add", "flip_side", ...
    corruption_label: Label | None = None
    expected_flags: tuple[ExpectedFlag, ...] | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    created_at: datetime


class SavedRun(Frozen):
    """What saving an audit run returns: its id and the ids of its flags, in report order."""

    run_id: int
    flag_ids: tuple[int, ...]


class StoredAudit(Frozen):
    """An audit run read back: the report rebuilt exactly, its flag ids, and its provenance."""

    run_id: int
    case_id: str
    draft_id: int | None
    report: AuditReport
    flag_ids: tuple[int, ...]
    grounder: str | None
    grounder_version: str | None
    parser: str | None
    parser_version: str | None
    durations: dict[str, float]
    raw_outputs: dict[str, JsonValue]
    created_at: datetime

    @model_validator(mode="after")
    def _one_id_per_flag(self) -> StoredAudit:
        if len(self.flag_ids) != len(self.report.flags):
            raise ValueError(f"{len(self.flag_ids)} flag ids for {len(self.report.flags)} flags")
        return self


class DecisionRecord(Frozen):
    """One reviewer decision on one flag. Decisions are append-only; the latest one counts."""

    decision_id: int
    flag_id: int
    run_id: int
    case_id: str
    reviewer: str
    decision: DecisionKind
    reason_code: ReasonCode | None = None
    note: str | None = None
    decided_at: datetime


class ReviewerFinding(Frozen):
    """A box a reviewer drew on the image for a finding the audit missed."""

    finding_id: int
    case_id: str
    run_id: int | None
    reviewer: str
    label: Label
    box: Box
    note: str | None = None
    created_at: datetime


class WorklistQuery(Frozen):
    """Filters, sort and page of a worklist request. ``page`` counts from 0.

    ``draft_kind`` and ``draft_author`` keep the cases that have such a draft (a generator's
    reports: kind ``generated``, author the generator); the Review page then shows that draft.
    """

    status: CaseStatus | None = None
    label: Label | None = None  # cases whose reference findings or latest flags carry this label
    flag_type: FlagType | None = None  # cases whose latest audit has a flag of this type
    source: str | None = None
    reviewer: str | None = None  # cases this reviewer has decided on or marked reviewed
    search: str | None = None  # substring of the case id or image id (case-insensitive)
    phantoms: bool | None = None  # True: only phantoms; False: only real images
    draft_kind: DraftKind | None = None
    draft_author: str | None = None
    sort: WorklistSort = "urgent"
    page: int = Field(default=0, ge=0)
    page_size: int = Field(default=50, ge=1, le=1000)


class WorklistRow(Frozen):
    case_id: str
    image_id: str
    source: str
    view: str | None
    is_phantom: bool
    status: CaseStatus
    latest_run_id: int | None
    audited_at: datetime | None
    n_flags: int
    flag_counts: dict[FlagType, int]
    n_decided: int
    labels: tuple[str, ...]
    reviewers: tuple[str, ...]
    last_decision_at: datetime | None


class Progress(Frozen):
    """How far a worklist (all cases matching the filters, ignoring the status filter) has come."""

    total: int
    not_audited: int
    audited: int
    reviewed: int

    @property
    def summary(self) -> str:
        return f"{self.reviewed:,} of {self.total:,} reviewed"


class WorklistPage(Frozen):
    rows: tuple[WorklistRow, ...]
    total: int  # cases matching every filter
    page: int
    page_size: int
    flag_counts: dict[FlagType, int]  # flags of each type over the matching cases
    progress: Progress

    @property
    def n_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


class GenerationRecord(Frozen):
    """One report generation for one case: what wrote it, what came back, what became of it.

    ``raw_text`` is exactly what the generator returned (None when nothing came back: the
    image could not be read, the endpoint refused); ``draft_id`` is the ``generated`` draft
    made from it, None when it failed.
    """

    generation_id: int
    case_id: str
    generator: str
    backend: str  # "import", "medgemma", "openai"
    model: str | None = None
    profile: str | None = None
    outcome: OutcomeStatus
    raw_text: str | None = None
    error: str | None = None
    repairs: tuple[str, ...] = ()
    draft_id: int | None = None
    text: str | None = None  # the draft's text (None when it failed)
    run: dict[str, Any] | None = None  # every attempt of a model backend (its RunRecord)
    seconds: float | None = None
    created_at: datetime


class GeneratorSummary(Frozen):
    """A generator's reports in the database: on how many cases, and how their latest ones ended."""

    generator: str
    cases: int
    ok: int
    recovered: int
    failed: int
    last_at: datetime


class ReportEvaluationRecord(Frozen):
    """One ``cxr-audit eval-reports`` result: the generators scored, on how many cases, the figures."""

    evaluation_id: int
    created_at: datetime
    generators: tuple[str, ...]
    n_cases: int
    evaluation: dict[str, Any]
    out_dir: str | None = None
    note: str | None = None


class ComparisonRecord(Frozen):
    """One ``cxr-audit compare-grounders`` result: the runs compared, on how many cases, the figures."""

    comparison_id: int
    created_at: datetime
    runs: tuple[str, ...]
    n_cases: int
    comparison: dict[str, Any]
    out_dir: str | None = None
    note: str | None = None


class EvalRunRecord(Frozen):
    """One ``cxr-audit eval`` run: what ran, how many items were scored and failed, the summary."""

    eval_id: int
    created_at: datetime
    grounder: str
    parser: str
    seed: int | None
    n_items: int
    n_scored: int
    n_failed: int
    summary: dict[str, Any]
    config: dict[str, Any] | None = None
    out_dir: str | None = None
    note: str | None = None


class StoreStats(Frozen):
    """Row counts per table, for the CLI and the Models/Export pages."""

    cases: int
    phantoms: int
    reference_findings: int
    drafts: int
    audit_runs: int
    flags: int
    decisions: int
    reviewer_findings: int
    eval_runs: int
