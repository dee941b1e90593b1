"""The Review page's view model (``workstation.review_view``): flag cards with decisions,
overlay boxes and colours, the highlighted draft (escaped), the parser's reading, banners,
and the context that holds them for one case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audit.labels import LABEL_COLOURS
from audit.schema import (
    AuditReport,
    Box,
    DraftLabel,
    DraftReading,
    Flag,
    ImageFinding,
    ImageReading,
    ParseOutcome,
)
from data.records import CaseRecord, DecisionRecord, ReferenceFinding, ReviewerFinding, StoredAudit
from data.reviewer_findings import DeletedBox
from workstation import review_view
from workstation.overlay import FLAG_COLOURS, NEUTRAL_COLOUR, REFERENCE_COLOUR, REVIEWER_COLOUR

NOW = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)
PTX_BOX = Box(x0=0.1, y0=0.1, x1=0.4, y1=0.5)
EFF_BOX = Box(x0=0.6, y0=0.6, x1=0.9, y1=0.9)
DRAFT = "No pneumothorax. Small left effusion."


def _report() -> AuditReport:
    ptx = ImageFinding(label="pneumothorax", box=PTX_BOX, source="reference")
    eff = ImageFinding(label="pleural_effusion", box=EFF_BOX, source="reference")
    denied = DraftLabel(
        label="pneumothorax", status="absent", span="No pneumothorax", start=0, end=15, rule_id="R1"
    )
    effusion = DraftLabel(
        label="pleural_effusion",
        status="present",
        span="left effusion",
        start=23,
        end=36,
        side="left",
        rule_id="R2",
    )
    return AuditReport(
        mode="full",
        image=ImageReading(backend="reference", findings=(ptx, eff)),
        draft=DraftReading(backend="rules", text=DRAFT, labels=(denied, effusion)),
        flags=(
            Flag(type="URGENT", label="pneumothorax", finding=ptx, reason="urgent"),
            Flag(type="MISSING", label="pneumothorax", finding=ptx, draft_label=denied, reason="denied"),
        ),
    )


def _stored(report: AuditReport | None = None) -> StoredAudit:
    report = report or _report()
    return StoredAudit(
        run_id=1,
        case_id="c",
        draft_id=1,
        report=report,
        flag_ids=tuple(range(10, 10 + len(report.flags))),
        grounder="reference",
        grounder_version=None,
        parser="rules",
        parser_version=None,
        durations={},
        raw_outputs={},
        created_at=NOW,
    )


def _decision(flag_id: int, reviewer: str, decision: str, **extra: object) -> DecisionRecord:
    return DecisionRecord(
        decision_id=1,
        flag_id=flag_id,
        run_id=1,
        case_id="c",
        reviewer=reviewer,
        decision=decision,  # type: ignore[arg-type]
        decided_at=NOW,
        **extra,  # type: ignore[arg-type]
    )


def _drawn(finding_id: int, reviewer: str, note: str | None = None) -> ReviewerFinding:
    """A nodule box ``reviewer`` drew over the effusion's box."""
    return ReviewerFinding(
        finding_id=finding_id,
        case_id="c",
        run_id=1,
        reviewer=reviewer,
        label="nodule_mass",
        box=EFF_BOX,
        note=note,
        created_at=NOW,
    )


def test_flag_cards_split_my_decision_from_the_others() -> None:
    decisions = {
        (10, "ana"): _decision(10, "ana", "accept"),
        (10, "bo"): _decision(10, "bo", "dismiss"),
        (11, "bo"): _decision(11, "bo", "accept"),
    }

    urgent, missing = review_view.flag_cards(_stored(), decisions, "ana")

    assert (urgent.flag_id, urgent.mine.decision, [d.reviewer for d in urgent.others]) == (
        10,
        "accept",
        ["bo"],
    )  # type: ignore[union-attr]
    assert (missing.mine, [d.reviewer for d in missing.others]) == (None, ["bo"])
    assert (urgent.decided, missing.decided) == (True, False)
    assert missing.phrase == "No pneumothorax"
    assert urgent.title == "URGENT · pneumothorax"


def test_without_a_reviewer_every_decision_is_someone_elses() -> None:
    (card, _) = review_view.flag_cards(_stored(), {(10, "ana"): _decision(10, "ana", "accept")}, None)

    assert card.mine is None and len(card.others) == 1


def test_decision_text_names_the_reviewer_time_reason_and_note() -> None:
    text = review_view.decision_text(
        _decision(10, "ana", "dismiss", reason_code="draft_read_wrong", note="see prior")
    )

    assert text == "Dismissed by ana at 2026-11-25 02:30 UTC (reason: draft read wrong; note: see prior)"


def test_a_flag_without_a_box_says_so() -> None:
    card = review_view.FlagCard(
        flag_id=1,
        position=0,
        type="UNSUPPORTED",
        label="cardiomegaly",
        reason="r",
        phrase="cardiomegaly",
        box=None,
        mine=None,
    )

    assert card.box_text.startswith("no box")


@pytest.mark.parametrize(
    ("decided", "current", "expected"),
    [
        ([True, False, False], 0, 1),
        ([False, True, False], 2, 0),  # wraps around
        ([True, True], 1, 1),  # all decided: stays
        ([], 3, 0),
    ],
    ids=["next", "wraps", "all-decided", "no-flags"],
)
def test_next_focus(decided: list[bool], current: int, expected: int) -> None:
    assert review_view.next_focus(decided, current) == expected


def test_overlay_boxes_colour_flagged_findings_by_flag_type_and_others_neutral() -> None:
    boxes = review_view.overlay_boxes(_report(), [], [], review_view.Layers())

    by_caption = {box.caption: box for box in boxes}
    assert set(by_caption) == {"URGENT + MISSING: pneumothorax", "pleural effusion"}
    assert by_caption["URGENT + MISSING: pneumothorax"].colour == FLAG_COLOURS["URGENT"]
    # A finding without a flag must not look like one: never orange like MISSING, never a label colour.
    assert by_caption["pleural effusion"].colour == NEUTRAL_COLOUR
    assert NEUTRAL_COLOUR not in FLAG_COLOURS.values()


def test_the_boxes_being_edited_on_the_canvas_are_left_off_the_image() -> None:
    drawn = [_drawn(i, name) for i, name in enumerate(["ana", "bo"])]

    boxes = review_view.overlay_boxes(_report(), [], drawn, review_view.Layers(model=False, editing="ana"))

    assert [box.caption for box in boxes] == ["bo: nodule / mass"]


def test_overlay_layers_can_each_be_switched() -> None:
    reference = [ReferenceFinding(label="pneumothorax", box=PTX_BOX, source="reference:NIH")]
    drawn = [
        ReviewerFinding(
            finding_id=1,
            case_id="c",
            run_id=1,
            reviewer="ana",
            label="nodule_mass",
            box=EFF_BOX,
            created_at=NOW,
        )
    ]

    everything = review_view.overlay_boxes(
        _report(), reference, drawn, review_view.Layers(model=True, reference=True)
    )
    only_mine = review_view.overlay_boxes(
        _report(), reference, drawn, review_view.Layers(model=False, reviewer=True)
    )

    assert sorted(box.kind for box in everything) == ["flag", "model", "reference", "reviewer"]
    assert [(box.kind, box.colour, box.caption) for box in only_mine] == [
        ("reviewer", REVIEWER_COLOUR, "ana: nodule / mass")
    ]
    assert next(box for box in everything if box.kind == "reference").colour == REFERENCE_COLOUR


def test_the_draft_is_highlighted_in_label_colours_with_a_tooltip() -> None:
    html = review_view.highlight_draft_html(DRAFT, _report().draft.labels)  # type: ignore[union-attr]

    assert html.count("<mark") == 2
    assert LABEL_COLOURS["pleural_effusion"] in html
    assert 'title="pleural effusion · present · left · rule R2"' in html
    assert ">left effusion</mark>" in html


def test_the_draft_is_escaped_so_it_cannot_inject_html() -> None:
    text = '<script>alert(1)</script> "no" effusion & <b>'
    label = DraftLabel(label="pleural_effusion", status="absent", span='"no" effusion', start=26, end=39)

    html = review_view.highlight_draft_html(text, [label])

    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;no&quot; effusion</mark>" in html


def test_an_unverified_span_is_listed_after_the_draft() -> None:
    label = DraftLabel(
        label="nodule_mass", status="present", span="a <mass>", verified=False, backend="nemotron"
    )

    html = review_view.highlight_draft_html("Lungs are clear.", [label])

    assert "<mark" not in html
    assert "unverified" in html and "a &lt;mass&gt;" in html


def test_reading_rows_show_rule_or_backend_and_verification() -> None:
    rows = review_view.reading_rows(_report().draft)  # type: ignore[arg-type]

    assert rows[1] == {
        "Label": "pleural effusion",
        "Status": "present",
        "Laterality": "left",
        "Phrase": "left effusion",
        "Rule / backend": "R2",
        "Verified": True,
    }


@pytest.mark.parametrize(
    ("image_failed", "draft_failed", "mode", "expected"),
    [
        (False, True, "image_only", "Image-only audit"),
        (True, False, "draft_only", "Draft-only view"),
        (True, True, "none", "Nothing was audited"),
    ],
    ids=["image-only", "draft-only", "none"],
)
def test_a_degraded_audit_gets_a_banner(
    image_failed: bool, draft_failed: bool, mode: str, expected: str
) -> None:
    failed = ParseOutcome.failed("boom")
    report = AuditReport(
        mode=mode,  # type: ignore[arg-type]
        image=ImageReading(backend="g", outcome=failed if image_failed else ParseOutcome.ok()),
        draft=DraftReading(backend="p", text="x", outcome=failed if draft_failed else ParseOutcome.ok()),
    )

    (banner,) = review_view.run_summary(report).banners

    assert banner.headline.startswith(expected.split(" ")[0])  # one line, shown at once
    assert "\n" not in banner.headline and len(banner.headline) < 60
    assert expected in banner.headline + " " + banner.text


def test_a_full_audit_has_no_banner_but_lists_repairs() -> None:
    recovered = ParseOutcome.from_repairs(["stripped a code fence"], raw="```[]```")
    report = AuditReport(mode="full", image=ImageReading(backend="g", outcome=recovered))

    summary = review_view.run_summary(report)

    assert summary.banners == ()
    assert summary.notes == ("grounding recovered: stripped a code fence",)


def _context(**changes: object) -> review_view.ReviewContext:
    stored = _stored()
    fields: dict[str, object] = {
        "case": CaseRecord(case_id="c", image_id="c.png", source="test"),
        "title": "c · image c.png · test",
        "audit": stored,
        "audited_now": False,
        "references": (),
        "drawn": (),
        "deleted": (),
        "summary": review_view.run_summary(stored.report),
        "draft": review_view.draft_view(stored.report.draft),
        "findings": review_view.finding_rows(stored.report.image.findings),  # type: ignore[union-attr]
        "grounders": ("reference", "medgemma"),
        "parsers": ("rules",),
    }
    return review_view.ReviewContext(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_context_gives_a_frontal_view_its_orientation_marker() -> None:
    pa = CaseRecord(case_id="c", image_id="c.png", source="test", view="PA")
    lateral = CaseRecord(case_id="c", image_id="c.png", source="test", view="LL")

    assert (_context(case=pa).orientation, _context(case=lateral).orientation, _context().orientation) == (
        True,
        False,
        False,
    )


def test_the_context_says_who_deleted_which_box_and_when() -> None:
    box = ReviewerFinding(
        finding_id=1, case_id="c", run_id=1, reviewer="ana", label="nodule_mass", box=EFF_BOX, created_at=NOW
    )
    gone = DeletedBox(finding=box, deleted_by="ana", deleted_at=NOW)

    assert _context().deleted_caption is None
    assert _context(deleted=(gone,)).deleted_caption == (
        "Deleted boxes: nodule / mass drawn by ana, deleted by ana at 2026-11-25 02:30 UTC"
    )


def test_a_long_draft_is_shown_collapsed_first() -> None:
    short = review_view.draft_view(DraftReading(backend="rules", text="Lungs are clear."))
    long = review_view.draft_view(DraftReading(backend="rules", text="Lungs are clear. " * 40))
    many_lines = review_view.draft_view(DraftReading(backend="rules", text="\n".join(["clear"] * 8)))

    assert short is not None and long is not None and many_lines is not None
    assert (short.is_long, long.is_long, many_lines.is_long) == (False, True, True)
    assert long.characters == 17 * 40


def test_the_context_draws_the_layers_asked_for() -> None:
    drawn = _drawn(1, "bo")
    context = _context(drawn=(drawn,))

    assert [box.kind for box in context.boxes(review_view.Layers(model=False, reviewer=True))] == ["reviewer"]
    assert sorted(box.kind for box in context.boxes(review_view.Layers())) == ["flag", "model", "reviewer"]


def test_the_context_names_who_drew_each_reviewer_box() -> None:
    boxes = tuple(
        _drawn(index, name, note) for index, (name, note) in enumerate([("ana", None), ("bo", "faint")])
    )

    assert _context().drawn_caption is None
    assert (
        _context(drawn=boxes).drawn_caption == "Reviewer boxes: ana: nodule / mass; bo: nodule / mass (faint)"
    )


def test_the_context_describes_its_run() -> None:
    assert _context().run_caption == "Current run 1: reference + rules, 2026-11-25 02:30 UTC."


def test_a_draft_view_holds_the_highlighted_draft_its_legend_and_the_parsers_table() -> None:
    view = review_view.draft_view(_report().draft)

    assert view is not None
    assert view.html.count("<mark") == 2
    assert "pneumothorax" in view.legend and "pleural effusion" in view.legend
    assert [row["Label"] for row in view.rows] == ["pneumothorax", "pleural effusion"]
    assert review_view.draft_view(None) is None


@pytest.mark.parametrize(
    ("current", "expected"), [("medgemma", 1), ("gone", 0)], ids=["listed", "no-longer-listed"]
)
def test_a_reaudit_starts_from_the_runs_backend_when_it_is_still_offered(current: str, expected: int) -> None:
    assert review_view.choice_index(("reference", "medgemma"), current) == expected
