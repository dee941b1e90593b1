"""Validated values that cross every boundary: boxes, readings, parse outcomes, flags, reports.

All models are frozen: a reading, once made, is a record of what happened. Every model
round-trips through JSON (``model_dump_json`` / ``model_validate_json``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from audit.labels import DEFAULT_URGENT, Label

Status = Literal["present", "absent", "uncertain"]
Side = Literal["left", "right", "bilateral"]  # the patient's side
BoxScale = Literal["unit", "per_mille", "pixel"]  # which scale a grounder's box_2d was read in
OutcomeStatus = Literal["ok", "recovered", "failed"]
FlagType = Literal["URGENT", "MISSING", "LATERALITY", "UNSUPPORTED"]
AuditMode = Literal["full", "image_only", "draft_only", "none"]

FLAG_TYPES: tuple[FlagType, ...] = ("URGENT", "MISSING", "LATERALITY", "UNSUPPORTED")


class Frozen(BaseModel):
    """The base of every internal record: immutable once made, and no field it does not declare."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Box(Frozen):
    """A box in normalized image coordinates: x to the right, y down, each in 0–1."""

    x0: float = Field(ge=0.0, le=1.0)
    y0: float = Field(ge=0.0, le=1.0)
    x1: float = Field(ge=0.0, le=1.0)
    y1: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _positive_area(self) -> Box:
        if not (self.x1 > self.x0 and self.y1 > self.y0):
            raise ValueError(
                f"box must have x1 > x0 and y1 > y0, got [{self.x0}, {self.y0}, {self.x1}, {self.y1}]"
            )
        return self

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return self.width * self.height

    def as_list(self) -> list[float]:
        """[x0, y0, x1, y1], rounded to 4 decimals for stable output."""
        return [round(v, 4) for v in (self.x0, self.y0, self.x1, self.y1)]


class ParseOutcome(Frozen):
    """What became of one model generation (or one draft): ok, recovered with repairs, or failed.

    ``repairs`` lists every change made to read it, including items dropped and why.
    ``raw`` keeps the text that was read whenever it was not clean.
    """

    status: OutcomeStatus
    repairs: tuple[str, ...] = ()
    error: str | None = None
    raw: str | None = None
    dropped_items: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> ParseOutcome:
        if self.status == "failed" and not self.error:
            raise ValueError("a failed outcome needs an error message")
        if self.status == "recovered" and not self.repairs:
            raise ValueError("a recovered outcome needs at least one recorded repair")
        if self.status == "ok" and (self.repairs or self.dropped_items):
            raise ValueError("an ok outcome has no repairs and drops nothing; use 'recovered'")
        return self

    @classmethod
    def ok(cls) -> ParseOutcome:
        return cls(status="ok")

    @classmethod
    def failed(cls, error: str, raw: str | None = None, repairs: tuple[str, ...] = ()) -> ParseOutcome:
        return cls(status="failed", error=error, raw=raw, repairs=repairs)

    @classmethod
    def from_repairs(
        cls, repairs: list[str] | tuple[str, ...], raw: str | None, dropped: int = 0
    ) -> ParseOutcome:
        """ok when nothing was repaired, else recovered (keeping the raw text)."""
        if not repairs and not dropped:
            return cls.ok()
        return cls(status="recovered", repairs=tuple(repairs), raw=raw, dropped_items=dropped)


class ImageFinding(Frozen):
    """One finding the image grounder (or an expert) placed on the image."""

    label: Label
    box: Box | None = None
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    source: str = ""  # who drew it: "reference:NIH", "medgemma", ...
    box_scale: BoxScale | None = None  # how the grounder's box_2d was read, when it had one


class ImageReading(Frozen):
    """Everything the grounder said about one image."""

    backend: str
    findings: tuple[ImageFinding, ...] = ()
    outcome: ParseOutcome = ParseOutcome.ok()
    image_width: int | None = Field(default=None, gt=0)
    image_height: int | None = Field(default=None, gt=0)

    @property
    def failed(self) -> bool:
        return self.outcome.status == "failed"


class DraftLabel(Frozen):
    """One label the draft parser read, with the verbatim phrase that decided it.

    ``start``/``end`` are character offsets into the draft; they are None only when a
    model-backed parser returned a span that could not be found in the draft
    (``verified`` is then False and the UI says so).
    """

    label: Label
    status: Status
    span: str
    start: int | None = Field(default=None, ge=0)
    end: int | None = Field(default=None, ge=0)
    side: Side | None = None
    rule_id: str | None = None
    backend: str = ""
    verified: bool = True

    @model_validator(mode="after")
    def _offsets(self) -> DraftLabel:
        if (self.start is None) != (self.end is None):
            raise ValueError("start and end are given together or not at all")
        if self.start is not None and self.end is not None and self.end - self.start != len(self.span):
            raise ValueError(f"offsets {self.start}:{self.end} do not match span length {len(self.span)}")
        if self.verified and self.start is None:
            raise ValueError("a verified label needs offsets into the draft")
        return self


class DraftReading(Frozen):
    """Everything the draft parser read from one draft: at most one entry per label."""

    backend: str
    text: str
    labels: tuple[DraftLabel, ...] = ()
    outcome: ParseOutcome = ParseOutcome.ok()

    @model_validator(mode="after")
    def _spans_match_text(self) -> DraftReading:
        seen: set[str] = set()
        for item in self.labels:
            if item.label in seen:
                raise ValueError(
                    f"label {item.label!r} appears twice; resolve conflicts before building the reading"
                )
            seen.add(item.label)
            if item.start is not None and self.text[item.start : item.end] != item.span:
                raise ValueError(f"span {item.span!r} is not the draft's text at {item.start}:{item.end}")
        return self

    @property
    def failed(self) -> bool:
        return self.outcome.status == "failed"

    def get(self, label: str) -> DraftLabel | None:
        for item in self.labels:
            if item.label == label:
                return item
        return None


class ComparePolicy(Frozen):
    """The comparator's configurable choices."""

    urgent_labels: tuple[Label, ...] = DEFAULT_URGENT
    # True: an uncertain mention counts as mentioned (no MISSING) and as asserted
    # (UNSUPPORTED when the image lacks it). False: an uncertain mention is ignored.
    uncertain_is_mention: bool = True
    # Grounder findings scored below this are not treated as present.
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator("urgent_labels")
    @classmethod
    def _no_urgent_no_finding(cls, value: tuple[Label, ...]) -> tuple[Label, ...]:
        if "no_finding" in value:
            raise ValueError("no_finding cannot be urgent")
        return value


class Flag(Frozen):
    """One discrepancy for a reviewer to look at again, with its provenance."""

    type: FlagType
    label: Label
    finding: ImageFinding | None = None
    draft_label: DraftLabel | None = None
    reason: str

    @model_validator(mode="after")
    def _provenance(self) -> Flag:
        if self.type in ("URGENT", "MISSING", "LATERALITY") and self.finding is None:
            raise ValueError(f"a {self.type} flag must point at an image finding")
        if self.type in ("UNSUPPORTED", "LATERALITY") and self.draft_label is None:
            raise ValueError(f"a {self.type} flag must point at a draft phrase")
        if self.label == "no_finding":
            raise ValueError("no_finding is never flagged")
        return self

    @property
    def box(self) -> Box | None:
        return self.finding.box if self.finding else None

    @property
    def phrase(self) -> str | None:
        return self.draft_label.span if self.draft_label else None


class ExpectedFlag(Frozen):
    """A flag the comparator should raise (a synthetic draft's corruption is built to cause it):
    its type and label, nothing more."""

    type: FlagType
    label: Label


class AuditReport(Frozen):
    """The comparator's verdict on one case, with both readings it was made from."""

    mode: AuditMode
    flags: tuple[Flag, ...] = ()
    image: ImageReading | None = None
    draft: DraftReading | None = None
    policy: ComparePolicy = ComparePolicy()
    warnings: tuple[str, ...] = ()
    timings: dict[str, float] = Field(default_factory=dict)

    def flags_of(self, flag_type: FlagType) -> tuple[Flag, ...]:
        return tuple(flag for flag in self.flags if flag.type == flag_type)
