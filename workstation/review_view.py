"""What the Review page shows, computed without Streamlit: flag cards, overlay boxes, the
highlighted draft, the parser's reading, the audit-mode banners, and ``ReviewContext``, which
holds all of it for one case (``services.review_context`` fills it from the store).

Every judgment shown here was made by the comparator (``audit.compare``) and read back
from the store; this module only arranges it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from audit.labels import DISPLAY_NAMES, LABEL_COLOURS
from audit.schema import AuditReport, Box, DraftLabel, DraftReading, Flag, FlagType, ImageFinding
from data.records import (
    REASON_CODE_NAMES,
    CaseRecord,
    DecisionRecord,
    ReferenceFinding,
    ReviewerFinding,
    StoredAudit,
)
from data.reviewer_findings import DeletedBox
from workstation.overlay import (
    FLAG_COLOURS,
    FLAG_PRIORITY,
    NEUTRAL_COLOUR,
    REFERENCE_COLOUR,
    REVIEWER_COLOUR,
    OverlayBox,
    shows_orientation,
)
from workstation.text import html as text_html

# Streamlit badge colours per flag type, matching the overlay's box colours.
FLAG_BADGES: dict[FlagType, str] = {
    "URGENT": "red",
    "MISSING": "orange",
    "LATERALITY": "violet",
    "UNSUPPORTED": "gray",
}


def flag_heading(flag_type: FlagType, label: str) -> str:
    """Markdown for a flag's heading: a coloured type badge, then the label in bold."""
    return f":{FLAG_BADGES[flag_type]}-badge[{flag_type}] **{DISPLAY_NAMES[label]}**"  # type: ignore[index]


@dataclass(frozen=True)
class FlagCard:
    """One flag as the reviewer sees it, with the decisions recorded on it."""

    flag_id: int
    position: int
    type: FlagType
    label: str
    reason: str
    phrase: str | None
    box: Box | None
    mine: DecisionRecord | None  # the current reviewer's latest decision
    others: tuple[DecisionRecord, ...] = ()  # other reviewers' latest decisions
    hidden_others: int = 0  # other reviewers' decisions withheld by blinded reading

    @property
    def title(self) -> str:
        """'URGENT · pneumothorax', plain text (the page shows it with ``flag_heading``)."""
        return f"{self.type} · {DISPLAY_NAMES[self.label]}"  # type: ignore[index]

    @property
    def box_text(self) -> str:
        if self.box is None:
            return "no box (nothing on the image to point at)"
        return "box [x0, y0, x1, y1] = " + ", ".join(f"{v:.2f}" for v in self.box.as_list())

    @property
    def decided(self) -> bool:
        return self.mine is not None


def decision_text(decision: DecisionRecord) -> str:
    """'Accepted by ana at 2026-11-25 02:31 UTC (reason: draft read wrong; note: …)'."""
    verb = "Accepted" if decision.decision == "accept" else "Dismissed"
    when = decision.decided_at.strftime("%Y-%m-%d %H:%M UTC")
    extras = []
    if decision.reason_code:
        extras.append(f"reason: {REASON_CODE_NAMES[decision.reason_code]}")
    if decision.note:
        extras.append(f"note: {decision.note}")
    tail = f" ({'; '.join(extras)})" if extras else ""
    return f"{verb} by {decision.reviewer} at {when}{tail}"


def flag_cards(
    stored: StoredAudit,
    decisions: Mapping[tuple[int, str], DecisionRecord],
    reviewer: str | None,
    *,
    blinded: bool = False,
) -> list[FlagCard]:
    """The run's flags in report order, each with this reviewer's and the others' latest decisions.

    ``blinded``: the others' decisions on a flag are withheld (only counted) until this reviewer
    has decided it."""
    by_flag: dict[int, list[DecisionRecord]] = {}
    for (flag_id, _), record in decisions.items():
        by_flag.setdefault(flag_id, []).append(record)
    cards = []
    for position, (flag_id, flag) in enumerate(zip(stored.flag_ids, stored.report.flags, strict=True)):
        records = by_flag.get(flag_id, [])
        mine = next((r for r in records if reviewer and r.reviewer == reviewer), None)
        others = tuple(sorted((r for r in records if r is not mine), key=lambda r: r.reviewer))
        withheld = blinded and mine is None
        hidden = len(others) if withheld else 0
        others = () if withheld else others
        cards.append(
            FlagCard(
                flag_id=flag_id,
                position=position,
                type=flag.type,
                label=flag.label,
                reason=flag.reason,
                phrase=flag.phrase,
                box=flag.box,
                mine=mine,
                others=others,
                hidden_others=hidden,
            )
        )
    return cards


def next_focus(decided: Sequence[bool], current: int) -> int:
    """The next undecided flag after ``current`` (wrapping), else ``current``."""
    if not decided:
        return 0
    for step in range(1, len(decided) + 1):
        index = (current + step) % len(decided)
        if not decided[index]:
            return index
    return min(current, len(decided) - 1)


@dataclass(frozen=True)
class Layers:
    """Which overlay layers are drawn."""

    model: bool = True
    reference: bool = False
    reviewer: bool = True
    editing: str | None = None  # a reviewer whose boxes are on the drawing canvas instead


def _finding_key(finding: ImageFinding) -> tuple[str, tuple[float, ...] | None]:
    return (finding.label, tuple(finding.box.as_list()) if finding.box else None)


def overlay_boxes(
    report: AuditReport,
    reference: Sequence[ReferenceFinding],
    reviewer_findings: Sequence[ReviewerFinding],
    layers: Layers,
) -> list[OverlayBox]:
    """Boxes to draw: model findings (in their flag type's colour when flagged, neutral grey when not),
    reference and reviewer boxes."""
    boxes: list[OverlayBox] = []
    if layers.model and report.image is not None:
        flags_by_finding: dict[tuple[str, tuple[float, ...] | None], list[Flag]] = {}
        for flag in report.flags:
            if flag.finding is not None:
                flags_by_finding.setdefault(_finding_key(flag.finding), []).append(flag)
        for finding in report.image.findings:
            if finding.box is None:
                continue
            name = DISPLAY_NAMES[finding.label]
            flags = flags_by_finding.get(_finding_key(finding), [])
            if flags:
                types = [t for t in FLAG_PRIORITY if any(f.type == t for f in flags)]
                boxes.append(
                    OverlayBox(finding.box, FLAG_COLOURS[types[0]], f"{' + '.join(types)}: {name}", "flag")
                )
            else:
                boxes.append(OverlayBox(finding.box, NEUTRAL_COLOUR, name, "model"))
    if layers.reference:
        for ref in reference:
            if ref.box is not None:
                boxes.append(
                    OverlayBox(
                        ref.box, REFERENCE_COLOUR, f"reference: {DISPLAY_NAMES[ref.label]}", "reference"
                    )
                )
    if layers.reviewer:
        for drawn in reviewer_findings:
            if drawn.reviewer == layers.editing:
                continue  # on the drawing canvas, where it can be moved and deleted
            boxes.append(
                OverlayBox(
                    drawn.box, REVIEWER_COLOUR, f"{drawn.reviewer}: {DISPLAY_NAMES[drawn.label]}", "reviewer"
                )
            )
    return boxes


def _rgba(hex_colour: str, alpha: float) -> str:
    value = hex_colour.lstrip("#")
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def label_tooltip(item: DraftLabel) -> str:
    parts = [DISPLAY_NAMES[item.label], item.status]
    if item.side:
        parts.append(item.side)
    parts.append(f"rule {item.rule_id}" if item.rule_id else f"backend {item.backend or '?'}")
    if not item.verified:
        parts.append("span not found in the draft")
    return " · ".join(parts)


def highlight_draft_html(text: str, labels: Sequence[DraftLabel]) -> str:
    """The draft as HTML, each parsed phrase highlighted in its label's colour; all text escaped.

    Phrases with offsets are marked where they are; overlapping phrases keep the first.
    A label whose span could not be placed is listed after the draft, marked unverified.
    """
    placed = sorted(
        (item for item in labels if item.start is not None and item.end is not None),
        key=lambda item: (item.start, item.end),
    )
    out: list[str] = []
    cursor = 0
    for item in placed:
        start, end = int(item.start or 0), int(item.end or 0)
        if start < cursor or end > len(text):
            continue
        out.append(text_html(text[cursor:start]))
        colour = LABEL_COLOURS[item.label]
        style = (
            f"background:{_rgba(colour, 0.22)};border-bottom:3px "
            f"{'solid' if item.status == 'present' else 'dashed'} {colour};padding:0 2px;border-radius:3px"
        )
        out.append(
            f'<mark class="cxr-phrase" data-label="{html.escape(item.label)}" style="{style}" '
            f'title="{text_html(label_tooltip(item))}">{text_html(text[start:end])}</mark>'
        )
        cursor = end
    out.append(text_html(text[cursor:]))
    body = "".join(out).replace("\n", "<br>")
    unplaced = [item for item in labels if item.start is None]
    if unplaced:
        listed = ", ".join(
            f"{html.escape(DISPLAY_NAMES[item.label])} ({item.status}: “{text_html(item.span)}”)"
            for item in unplaced
        )
        body += f'<div class="cxr-unverified">Not found verbatim in the draft (unverified): {listed}</div>'
    return f'<div class="cxr-draft" style="font-size:1.05rem;line-height:1.9">{body}</div>'


def legend_html(labels: Sequence[str]) -> str:
    chips = [
        f'<span style="background:{_rgba(LABEL_COLOURS[label], 0.22)};border-bottom:3px solid '  # type: ignore[index]
        f'{LABEL_COLOURS[label]};padding:0 4px;margin-right:6px">{html.escape(DISPLAY_NAMES[label])}</span>'  # type: ignore[index]
        for label in labels
    ]
    return '<div style="font-size:0.85rem">' + "".join(chips) + "</div>"


def reading_rows(draft: DraftReading) -> list[dict[str, Any]]:
    """The parser's reading as table rows: label, status, laterality, phrase, rule or backend, verified."""
    return [
        {
            "Label": DISPLAY_NAMES[item.label],
            "Status": item.status,
            "Laterality": item.side or "",
            "Phrase": item.span,
            "Rule / backend": item.rule_id or item.backend or draft.backend,
            "Verified": item.verified,
        }
        for item in draft.labels
    ]


def finding_rows(findings: Sequence[ImageFinding | ReferenceFinding]) -> list[dict[str, Any]]:
    return [
        {
            "Label": DISPLAY_NAMES[item.label],
            "Box [x0, y0, x1, y1]": ", ".join(f"{v:.2f}" for v in item.box.as_list()) if item.box else "",
            "Source": item.source,
        }
        for item in findings
    ]


@dataclass(frozen=True)
class Banner:
    level: Literal["info", "warning", "error"]
    headline: str  # one line, shown at once
    text: str  # the details, shown when the banner is opened


@dataclass(frozen=True)
class RunSummary:
    """The audit's mode and notes, as banners above the results."""

    banners: tuple[Banner, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)


def run_summary(report: AuditReport) -> RunSummary:
    """Banners for image-only / draft-only / no audit, plus the report's warnings and repairs."""
    banners: list[Banner] = []
    if report.mode == "image_only":
        error = report.draft.outcome.error if report.draft else "no draft"
        banners.append(
            Banner(
                "warning",
                "Image-only audit: the draft could not be parsed",
                f"The draft could not be parsed ({error}). Only URGENT flags are raised; "
                "read the draft yourself.",
            )
        )
    elif report.mode == "draft_only":
        error = report.image.outcome.error if report.image else "no image reading"
        banners.append(
            Banner(
                "warning",
                "Draft-only view: grounding failed",
                f"Grounding failed ({error}). No flags are raised; the draft's reading is shown.",
            )
        )
    elif report.mode == "none":
        banners.append(
            Banner(
                "error",
                "Nothing was audited",
                "Neither the image nor the draft could be read: nothing was audited.",
            )
        )
    notes = list(report.warnings)
    for name, reading in (("grounding", report.image), ("draft parse", report.draft)):
        if reading is not None and reading.outcome.status == "recovered":
            notes.extend(f"{name} recovered: {repair}" for repair in reading.outcome.repairs)
    return RunSummary(tuple(banners), tuple(notes))


DRAFT_COLLAPSE_CHARS = 400  # a draft longer than this (about five lines) shows collapsed at first
DRAFT_COLLAPSE_LINES = 5


@dataclass(frozen=True)
class DraftView:
    """The draft as the parser read it: the highlighted text, a legend of its labels, the parser's table."""

    html: str
    legend: str
    rows: list[dict[str, Any]]
    characters: int = 0
    lines: int = 1

    @property
    def is_long(self) -> bool:
        """Whether the draft is shown collapsed to its first lines until the reviewer opens it."""
        return self.characters > DRAFT_COLLAPSE_CHARS or self.lines > DRAFT_COLLAPSE_LINES


def draft_view(draft: DraftReading | None) -> DraftView | None:
    if draft is None:
        return None
    return DraftView(
        html=highlight_draft_html(draft.text, draft.labels),
        legend=legend_html([item.label for item in draft.labels]),
        rows=reading_rows(draft),
        characters=len(draft.text),
        lines=draft.text.count("\n") + 1,
    )


def choice_index(options: Sequence[str], current: str) -> int:
    """Where ``current`` is among ``options`` (the first option when it is not there)."""
    return options.index(current) if current in options else 0


@dataclass(frozen=True)
class ReviewContext:
    """What the Review page shows for one case, read once per full rerun (the flag cards, which
    change with each decision, are read by the flag panel itself)."""

    case: CaseRecord
    title: str  # the caption beside the case id
    audit: StoredAudit  # the case's latest run
    audited_now: bool  # the case had never been audited: this run was made on opening it
    references: tuple[ReferenceFinding, ...]
    drawn: tuple[ReviewerFinding, ...]  # the reviewers' current boxes on this case this reviewer may see
    deleted: tuple[DeletedBox, ...]  # reviewer boxes deleted from this case (that this reviewer may see)
    summary: RunSummary
    draft: DraftView | None
    findings: list[dict[str, Any]]  # the grounder's findings as table rows
    grounders: tuple[str, ...]  # the backends a re-audit can use
    parsers: tuple[str, ...]
    hidden_drawn: int = 0  # other reviewers' boxes withheld by blinded reading

    @property
    def report(self) -> AuditReport:
        return self.audit.report

    @property
    def orientation(self) -> bool:
        """Whether the image gets the R/L marker (a frontal view)."""
        return shows_orientation(self.case.view)

    def boxes(self, layers: Layers) -> tuple[OverlayBox, ...]:
        return tuple(overlay_boxes(self.report, self.references, self.drawn, layers))

    def own_boxes(self, reviewer: str) -> tuple[ReviewerFinding, ...]:
        return tuple(box for box in self.drawn if box.reviewer == reviewer)

    @property
    def drawn_caption(self) -> str | None:
        """'Reviewer boxes: ana: nodule / mass (note); …', or None when there is none to tell of."""
        hidden = f"{self.hidden_drawn} other reviewer box(es) hidden (blinded reading)"
        if not self.drawn:
            return hidden if self.hidden_drawn else None
        shown = "Reviewer boxes: " + "; ".join(
            f"{item.reviewer}: {DISPLAY_NAMES[item.label]}" + (f" ({item.note})" if item.note else "")
            for item in self.drawn
        )
        return f"{shown}; {hidden}" if self.hidden_drawn else shown

    @property
    def deleted_caption(self) -> str | None:
        """'Deleted boxes: nodule / mass drawn by ana, deleted by ana at 2026-11-25 02:31 UTC; …'."""
        if not self.deleted:
            return None
        return "Deleted boxes: " + "; ".join(
            f"{DISPLAY_NAMES[item.finding.label]} drawn by {item.finding.reviewer}, deleted by "
            f"{item.deleted_by} at {item.deleted_at:%Y-%m-%d %H:%M} UTC"
            for item in self.deleted
        )

    @property
    def run_caption(self) -> str:
        run = self.audit
        return (
            f"Current run {run.run_id}: {run.grounder} + {run.parser}, {run.created_at:%Y-%m-%d %H:%M} UTC."
        )
