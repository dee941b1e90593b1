"""The pipeline runs injected backends; failures become visible, degraded audits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from audit.labels import DEFAULT_URGENT, FINDING_LABELS, Label
from audit.pipeline import draft_problem, run_audit
from audit.protocols import MAX_DRAFT_CHARS, AuditCase, DraftParser, Grounder
from audit.recover import parse_findings
from audit.schema import DraftReading, ImageReading
from tests.audit.factories import INVALID_BOX_2D, draft, failed_image, finding, image


@dataclass
class FakeGrounder:
    reading: ImageReading | None = None
    error: Exception | None = None
    name: str = "fake-grounder"
    calls: list[str] = field(default_factory=list)

    def ground(self, case: AuditCase) -> ImageReading:
        self.calls.append(case.case_id)
        if self.error:
            raise self.error
        assert self.reading is not None
        return self.reading


@dataclass
class FakeParser:
    reading: DraftReading | None = None
    error: Exception | None = None
    name: str = "fake-parser"
    calls: list[str] = field(default_factory=list)

    def parse(self, text: str) -> DraftReading:
        self.calls.append(text)
        if self.error:
            raise self.error
        assert self.reading is not None
        return self.reading


NO_PTX = "No pneumothorax."
CASE = AuditCase(case_id="c1", draft=NO_PTX)


def parsed_no_ptx() -> DraftReading:
    return draft(NO_PTX, ("pneumothorax", "absent", "No pneumothorax"))


def test_fakes_satisfy_the_protocols() -> None:
    assert isinstance(FakeGrounder(), Grounder)
    assert isinstance(FakeParser(), DraftParser)


def test_a_full_audit_compares_both_readings_and_times_each_stage() -> None:
    report = run_audit(CASE, FakeGrounder(image(finding("pneumothorax"))), FakeParser(parsed_no_ptx()))
    assert report.mode == "full"
    assert [(f.type, f.label) for f in report.flags] == [
        ("URGENT", "pneumothorax"),
        ("MISSING", "pneumothorax"),
    ]
    assert set(report.timings) == {"ground_s", "parse_s", "compare_s"}
    assert report.warnings == ()


def test_a_failed_draft_parse_gives_a_visible_image_only_audit() -> None:
    failed = DraftReading(
        backend="p", text=NO_PTX, outcome={"status": "failed", "error": "bad JSON", "raw": "{"}
    )
    report = run_audit(
        CASE, FakeGrounder(image(finding("pneumothorax"), finding("cardiomegaly"))), FakeParser(failed)
    )
    assert report.mode == "image_only"
    assert [(f.type, f.label) for f in report.flags] == [("URGENT", "pneumothorax")]
    assert report.warnings[0].startswith("the draft could not be parsed (bad JSON): image-only audit")
    assert report.draft == failed  # the failed reading, with its raw text, stays in the report


def test_a_failed_grounding_gives_a_visible_draft_only_report() -> None:
    report = run_audit(CASE, FakeGrounder(failed_image("CUDA out of memory")), FakeParser(parsed_no_ptx()))
    assert report.mode == "draft_only"
    assert report.flags == ()
    assert report.warnings == ("grounding failed (CUDA out of memory): draft-only report, no flags raised",)
    assert report.draft is not None and len(report.draft.labels) == 1


def test_a_backend_that_raises_is_recorded_as_a_failed_reading() -> None:
    report = run_audit(
        CASE, FakeGrounder(error=RuntimeError("weights missing")), FakeParser(error=KeyError("x"))
    )
    assert report.mode == "none"
    assert report.image is not None and report.image.outcome.error == "RuntimeError: weights missing"
    assert report.draft is not None and report.draft.outcome.error == "KeyError: 'x'"


def test_a_backend_that_raises_is_logged_as_one_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="audit.pipeline"):
        run_audit(CASE, FakeGrounder(error=RuntimeError("weights missing")), FakeParser(error=KeyError("x")))
    assert [(r.levelname, r.getMessage(), bool(r.exc_info)) for r in caplog.records] == [
        ("WARNING", "grounder fake-grounder failed on case c1: weights missing", False),
        ("WARNING", "parser fake-parser failed: 'x'", False),
    ]


def test_a_debugging_run_logs_the_backend_s_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="audit.pipeline"):
        run_audit(CASE, FakeGrounder(error=RuntimeError("weights missing")), FakeParser(parsed_no_ptx()))
    assert caplog.records[0].exc_info is not None


def test_an_empty_draft_is_not_sent_to_the_parser() -> None:
    parser = FakeParser(parsed_no_ptx())
    report = run_audit(AuditCase(case_id="c", draft="  \n "), FakeGrounder(image()), parser)
    assert parser.calls == []
    assert report.mode == "image_only"
    assert report.draft is not None and report.draft.outcome.error == "the draft is empty"


def test_an_enormous_draft_is_refused_with_its_length() -> None:
    huge = "No pneumothorax. " * (MAX_DRAFT_CHARS // 10)
    report = run_audit(AuditCase(case_id="c", draft=huge), FakeGrounder(image()), FakeParser(parsed_no_ptx()))
    assert report.draft is not None and report.draft.outcome.error == (
        f"the draft is {len(huge):,} characters long; the auditor reads at most {MAX_DRAFT_CHARS:,}"
    )
    assert report.draft.text == huge  # nothing the reviewer wrote is lost


@pytest.mark.parametrize("label", FINDING_LABELS)
@pytest.mark.parametrize("box_2d", [box for box, _ in INVALID_BOX_2D.values()], ids=INVALID_BOX_2D.keys())
def test_a_finding_whose_box_was_rejected_still_raises_its_flags(label: Label, box_2d: str) -> None:
    reading = parse_findings(f'[{{"label": "{label}", "box_2d": {box_2d}}}]', "findings-file")
    report = run_audit(
        AuditCase(case_id="c1", draft="Lungs are clear."),
        FakeGrounder(reading),
        FakeParser(draft("Lungs are clear.")),
    )

    expected = [("URGENT", label)] if label in DEFAULT_URGENT else []
    assert [(flag.type, flag.label) for flag in report.flags] == [*expected, ("MISSING", label)]
    assert all(flag.finding is not None and flag.box is None for flag in report.flags)
    assert report.mode == "full"


DRAFT_PROBLEMS = {
    "empty": ("", "the draft is empty"),
    "blank": (" \n\t ", "the draft is empty"),
    "over the limit": ("x" * (MAX_DRAFT_CHARS + 1), f"the auditor reads at most {MAX_DRAFT_CHARS:,}"),
    # what Python makes of invalid UTF-8 in argv: one U+DC80-U+DCFF per undecodable byte
    "an undecodable byte": ("Left pneu\udcffmothorax.", "not valid UTF-8 text (byte 0xff at character 10)"),
    "a lone surrogate": (
        "Left \ud83d effusion.",
        "not valid UTF-8 text (a lone surrogate U+D83D at character 6)",
    ),
}


@pytest.mark.parametrize(("text", "problem"), DRAFT_PROBLEMS.values(), ids=DRAFT_PROBLEMS.keys())
def test_a_draft_that_cannot_be_read_says_why(text: str, problem: str) -> None:
    found = draft_problem(text)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    "text",
    ["Left pneumothorax.", "Épanchement pleural gauche.", "Kein Pneumothorax \U0001f600.", "a\x0cb\u2028c"],
    ids=["ascii", "accents", "emoji", "separators"],
)
def test_ordinary_text_is_no_problem(text: str) -> None:
    assert draft_problem(text) is None
