"""Machine-written drafts in a real browser (Debian's Chromium through Playwright), at the two
window sizes reviewers use: a case whose draft a report generator wrote says so above the
results, and the Evaluation page shows a stored generator evaluation side by side.

Screenshots go to the test's folder and ``<repo>/screenshots/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.recover import read_report
from audit.report_eval import evaluate_reports
from data.generations import NewGeneration
from data.records import CaseRecord, ReferenceFinding
from data.store import Store
from models.reference import ReferenceGrounder
from models.rules.parser import RulesParser
from tests.workstation.conftest import IMAGE_SIZE, write_image
from tests.workstation.test_browser import (  # the server, the browser and its settings
    CHROMIUM,
    CHROMIUM_ARGS,
    REVIEWER,
    STEP_TIMEOUT_MS,
    app_url,
    pytestmark,
    shots,
)

__all__ = ["app_url", "pytestmark", "shots"]

SIZES = {"1280x720": (1280, 720), "1920x1080": (1920, 1080)}
REPORT = "FINDINGS: Right apical pneumothorax. No pleural effusion.\nIMPRESSION: Right pneumothorax."


@pytest.fixture
def generated_case(seeded_db: Path, tmp_path: Path) -> str:
    """A case whose only draft a report generator wrote, and a stored evaluation of two generators."""
    from audit.schema import Box

    image = tmp_path / "images" / "case-gen.png"
    write_image(image, 7)
    with Store.open(seeded_db) as store:
        store.cases.upsert(
            CaseRecord(
                case_id="case-gen",
                image_id=image.name,
                image_path=str(image),
                width=IMAGE_SIZE[0],
                height=IMAGE_SIZE[1],
                source="test",
            ),
            (ReferenceFinding(label="pneumothorax", box=Box(x0=0.1, y0=0.1, x1=0.4, y1=0.45), source="r"),),
        )
        texts = {"gen-medgemma": REPORT, "gen-silent": "No acute cardiopulmonary abnormality."}
        store.generations.add(
            [
                NewGeneration(
                    case_id="case-gen",
                    generator=name,
                    reading=read_report(text),
                    raw_text=text,
                    backend="import",
                )
                for name, text in texts.items()
            ]
        )
        cases = [store.cases.audit_case("case-gen")]
        evaluation = evaluate_reports(
            cases, store.generations.reports(), ReferenceGrounder(), RulesParser(), reps=50
        )
        store.report_evaluations.save(
            generators=list(texts),
            n_cases=1,
            evaluation=json.loads(evaluation.model_dump_json()),
            out_dir=None,
            note=None,
        )
    return "case-gen"


@pytest.mark.parametrize("size", list(SIZES))
def test_a_machine_written_draft_says_so_and_evaluations_show_side_by_side(
    generated_case: str, app_url: str, shots: Path, size: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    width, height = SIZES[size]
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(STEP_TIMEOUT_MS)

            def settle() -> None:
                page.wait_for_timeout(400)
                expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0)

            page.goto(f"{app_url}/review?case={generated_case}&reviewer={REVIEWER}")
            notice = page.get_by_text("Machine-written draft")
            expect(notice).to_be_visible()
            expect(page.get_by_text("not by a person")).to_be_visible()
            expect(page.locator("code", has_text="gen-medgemma").first).to_be_visible()
            expect(page.get_by_text("URGENT").first).to_be_visible()
            settle()
            assert notice.bounding_box() is not None and notice.bounding_box()["y"] < height  # type: ignore[index]
            page.screenshot(path=str(shots / f"generated-review-{size}.png"))

            page.goto(f"{app_url}/evaluation?reviewer={REVIEWER}")
            expect(page.get_by_text("Stored report-generator evaluations")).to_be_visible()
            section = page.get_by_text("Report evaluation 1: gen-medgemma vs gen-silent on 1 cases")
            section.scroll_into_view_if_needed()
            expect(section).to_be_visible()
            settle()
            expect(page.locator('[data-testid="stDataFrame"]').last).to_be_attached()
            # Streamlit scrolls an inner container (a full-page shot shows only the top): the
            # section's heading at the top of the window, its side-by-side table under it.
            section.evaluate("element => element.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(300)
            page.screenshot(path=str(shots / f"generated-evaluation-{size}.png"))
        finally:
            browser.close()
