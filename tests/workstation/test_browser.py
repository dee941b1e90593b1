"""The workstation in a real browser: `streamlit run` on 127.0.0.1 with a temporary database,
driven through Playwright by Debian's Chromium (no browser download).

One journey, in the order a reviewer works: worklist → open a case → overlay and flag
cards → accept a flag → reload, still accepted → dismiss with the keyboard → draw a missed
finding → teaching mode → evaluation, models → export CSV and read it back (with the draft's
text). A screenshot of every page is saved to the test's folder and copied to
``<repo>/screenshots/``. The Review page's viewer behaviour is in ``test_browser_review``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from data.store import Store
from tests.workstation.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MARKS,
    STEP_TIMEOUT_MS,
    open_canvas,
    settle,
)
from tests.workstation.served import streamlit_server

REVIEWER = "browser-tester"
ROW_PX = 35  # height of a header or data row in st.dataframe's grid

pytestmark = MARKS


@pytest.fixture
def app_url(seeded_db: Path, tmp_path: Path) -> Iterator[str]:
    """A `streamlit run` server on a free local port over the seeded database; stopped afterwards."""
    with streamlit_server(seeded_db, tmp_path / "streamlit.log") as url:
        yield url


def test_a_reviewer_works_through_the_app_in_a_real_browser(
    app_url: str, seeded_db: Path, shots: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1500}, accept_downloads=True)
            page.set_default_timeout(STEP_TIMEOUT_MS)

            def shot(name: str) -> None:
                settle(page)
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

            cards = page.locator('[class*="st-key-flag_card_"]')

            # The worklist, with the reviewer named in the URL.
            page.goto(f"{app_url}/?reviewer={REVIEWER}")
            expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
            expect(page.get_by_text("0 of 4 reviewed")).to_be_visible()
            expect(page.get_by_text(f"Reviewing as {REVIEWER}")).to_be_visible()
            shot("01_worklist")

            # Click a case's row (the fourth: real images first, so case-phantom) to open it in Review.
            grid = page.locator('[data-testid="stDataFrame"]').first
            settle(page)
            frame = grid.bounding_box()
            assert frame is not None
            page.mouse.click(frame["x"] + 14, frame["y"] + ROW_PX + 3 * ROW_PX + ROW_PX / 2)
            expect(page.get_by_role("heading", name="case-phantom")).to_be_visible()
            expect(page.get_by_text("Synthetic phantom: a drawn model")).to_be_visible()
            expect(cards.filter(has_text="URGENT").filter(has_text="nodule / mass")).to_have_count(1)
            shot("02_review_phantom")

            # The pneumothorax case: overlay image and two flag cards.
            page.goto(f"{app_url}/review?case=case-ptx&reviewer={REVIEWER}")
            expect(page.get_by_role("heading", name="case-ptx")).to_be_visible()
            overlay = page.locator(".cxr-frame img").first
            expect(overlay).to_be_visible()
            assert overlay.evaluate("img => img.naturalWidth") > 100
            expect(cards).to_have_count(2)
            expect(cards.filter(has_text="URGENT").filter(has_text="pneumothorax")).to_have_count(1)
            expect(cards.filter(has_text="MISSING").filter(has_text="pneumothorax")).to_have_count(1)
            expect(page.locator('mark.cxr-phrase[data-label="pneumothorax"]')).to_have_count(1)
            shot("03_review")

            # Accept the focused (first) flag; the saved state shows at once and after a reload.
            page.get_by_role("button", name="Accept").first.click()
            expect(page.get_by_text(f"Accepted by {REVIEWER}")).to_be_visible()
            page.reload()
            expect(page.get_by_text(f"Accepted by {REVIEWER}")).to_be_visible()
            shot("04_review_after_reload")

            # The focus is on the first flag not yet decided: 'd' dismisses it.
            missing_card = cards.filter(has_text="MISSING")
            expect(missing_card.get_by_text("focused")).to_be_visible()
            expect(missing_card.get_by_role("button", name="Dismiss")).to_be_enabled()
            page.keyboard.press("d")
            expect(page.get_by_text(f"Dismissed by {REVIEWER}")).to_be_visible()

            # Draw a missed finding on the canvas and save it.
            box = open_canvas(page)
            page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.55)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.70, box["y"] + box["height"] * 0.65, steps=8)
            page.mouse.move(box["x"] + box["width"] * 0.80, box["y"] + box["height"] * 0.75, steps=8)
            page.mouse.up()
            expect(page.get_by_text("Unsaved: 1 new box")).to_be_visible()
            shot("05_review_drawing")
            page.get_by_role("button", name="Save", exact=True).click()
            expect(page.get_by_text(f"Reviewer boxes: {REVIEWER}")).to_be_visible()

            # 'j' opens the next case in the worklist's order.
            settle(page)
            page.mouse.click(5, 300)  # leave any text box, as a person would
            page.keyboard.press("j")
            expect(page.get_by_role("heading", name="case-ptx")).to_have_count(0)

            # Teaching: the reference stays hidden until the impression is submitted.
            page.goto(f"{app_url}/teaching?reviewer={REVIEWER}")
            expect(page.get_by_role("heading", name="Teaching")).to_be_visible()
            expect(page.get_by_text("Reference findings", exact=True)).to_have_count(0)
            shot("06_teaching_before_submit")
            page.get_by_role("textbox", name="Impression").fill("No acute cardiopulmonary process.")
            page.get_by_role("button", name="Submit my impression").click()
            expect(page.get_by_role("heading", name="0 of 1 finding found, no over-call")).to_be_visible()
            shot("07_teaching_after_submit")

            page.goto(f"{app_url}/evaluation?reviewer={REVIEWER}")
            expect(page.get_by_role("heading", name="By flag type")).to_be_visible()
            expect(page.get_by_text("latest_flags")).to_have_count(0)  # no snake_case on the page
            shot("08_evaluation")

            page.goto(f"{app_url}/models?reviewer={REVIEWER}")
            expect(page.get_by_role("heading", name="Models")).to_be_visible()
            shot("09_models")

            # Export CSV through the download button and read it back.
            page.goto(f"{app_url}/export?reviewer={REVIEWER}")
            expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
            shot("10_export")
            with page.expect_download() as download_info:
                page.get_by_role("button", name="Download CSV").click()
            exported = tmp_path / "export.csv"
            download_info.value.save_as(exported)
        finally:
            browser.close()

    with exported.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    decisions = sorted((row["decision"], row["flag_type"]) for row in rows if row["row_kind"] == "decision")
    assert decisions == [("accept", "URGENT"), ("dismiss", "MISSING")]
    assert {row["draft_text"] for row in rows if row["row_kind"] == "decision"} == {
        "No pneumothorax. Heart size is normal."
    }
    drawn = [row for row in rows if row["row_kind"] == "reviewer_finding"]
    assert [(row["case_id"], row["reviewer"]) for row in drawn] == [("case-ptx", REVIEWER)]

    with Store.open(seeded_db, lock_timeout_s=10) as store:
        (finding,) = store.reviewer_findings.for_case("case-ptx")
        students = store.drafts.for_case("case-eff", kind="student", author=REVIEWER) + store.drafts.for_case(
            "case-ptx", kind="student", author=REVIEWER
        )
    assert finding.reviewer == REVIEWER
    assert 0.5 < finding.box.x0 < finding.box.x1 <= 1.0  # drawn over the right half of the image
    assert len(students) == 1
