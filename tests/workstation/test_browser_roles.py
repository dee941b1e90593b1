"""Shared mode in a real browser: one journey per role, on a `streamlit run` server started the way
``./run.sh --share`` runs the app (shared mode), bound to 127.0.0.1 for the test.

The student's journey is the issue's proof: signed in through the sign-in page, a student
finds none of a teaching case's reference labels, boxes or flags on any page, at any URL
(each URL a fresh session that must sign in again) or in their export, until they submit.
Screenshots at 1280x720 and 1920x1080 go to ``<repo>/screenshots/``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audit.labels import DISPLAY_NAMES, FINDING_LABELS
from data.accounts import Accounts
from data.assignments import Assignments
from data.audit_trail import AuditTrail
from data.store import Store
from tests.workstation.conftest import PASSWORD, _password_hash
from tests.workstation.served import REPO_ROOT, streamlit_server
from tests.workstation.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    STEP_TIMEOUT_MS,
    pytestmark,  # noqa: F401  (browser, slow, and the skips without Chromium or Playwright)
)
from workstation import teaching

ANSWERS = tuple(
    sorted({*FINDING_LABELS, *(DISPLAY_NAMES[label].lower() for label in FINDING_LABELS)} - {"no_finding"})
)
SIZES = ((1280, 720), (1920, 1080))
STAFF_URLS = ("review?case=case-ptx", "worklist", "evaluation", "export", "models", "assignments", "class")


@pytest.fixture
def shared_server(seeded_db: Path, tmp_path: Path) -> Iterator[str]:
    """The seeded database with accounts (erin, rita, sam, kim) and "Week 1" (case-ptx, case-eff) for
    every student; kim has already submitted case-ptx. Served in shared mode on a free local port."""
    with Store.open(seeded_db) as store:
        accounts = Accounts(store)
        for name, role in (
            ("erin", "educator"),
            ("rita", "reviewer"),
            ("sam", "student"),
            ("kim", "student"),
        ):
            accounts.add(name, role, _password_hash())  # type: ignore[arg-type]
        Assignments(store).create("Week 1", ["case-ptx", "case-eff"], created_by="erin", everyone=True)
        teaching.submit(store, "case-ptx", "kim", "No pneumothorax.")
    with streamlit_server(seeded_db, tmp_path / "streamlit.log", {"CXR_AUDIT_MODE": "shared"}) as url:
        yield url


class Journey:
    """One person's browser: sign in, move through the app, look, take screenshots."""

    def __init__(self, browser: Any, url: str, shots: Path, role: str, name: str) -> None:
        self.page = browser.new_page(
            viewport={"width": SIZES[0][0], "height": SIZES[0][1]}, accept_downloads=True
        )
        self.page.set_default_timeout(STEP_TIMEOUT_MS)
        self.url, self.shots, self.role, self.name = url, shots, role, name

    def settle(self) -> None:
        from playwright.sync_api import expect

        self.page.wait_for_timeout(500)
        expect(self.page.locator('[data-testid="stStatusWidget"]')).to_have_count(0)
        expect(self.page.locator('[data-testid="stSkeleton"]')).to_have_count(0)

    def shot(self, label: str) -> None:
        self.settle()
        for width, height in SIZES:
            self.page.set_viewport_size({"width": width, "height": height})
            self.page.wait_for_timeout(300)
            self.page.screenshot(path=str(self.shots / f"roles_{self.role}_{label}_{width}x{height}.png"))
        self.page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})

    def sign_in(self, path: str = "") -> None:
        from playwright.sync_api import expect

        self.page.goto(f"{self.url}/{path}")
        expect(self.page.get_by_role("heading", name="Sign in")).to_be_visible()
        self.settle()
        self.close_page_not_found()
        self.page.get_by_role("textbox", name="Name").fill(self.name)
        self.page.get_by_role("textbox", name="Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_text(f"Signed in as {self.name}")).to_be_visible()
        self.settle()
        self.close_page_not_found()

    def close_page_not_found(self) -> None:
        """A URL of a page this session lacks: Streamlit says so in a dialog and runs the default page."""
        dialog = self.page.get_by_role("dialog")
        if dialog.count():
            assert "page not found" in dialog.inner_text().lower()
            self.page.keyboard.press("Escape")
            self.settle()

    def go(self, link: str) -> None:
        """Move within the app (the session, and so the sign-in, stays)."""
        self.page.get_by_role("link", name=link).click()
        self.settle()

    def key(self, key: str) -> None:
        """Press a shortcut with the focus on the page, not on a sidebar link."""
        self.page.get_by_role("heading").first.click()
        self.page.keyboard.press(key)
        self.settle()

    def text(self) -> str:
        return self.page.locator("body").inner_text().lower()

    def answers_shown(self) -> list[str]:
        text = self.text()
        return [word for word in ANSWERS if word in text]


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        opened = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield opened
        finally:
            opened.close()


@pytest.fixture
def shots() -> Path:
    folder = REPO_ROOT / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


def test_a_student_finds_no_answers_anywhere_before_submitting(
    shared_server: str, browser: Any, shots: Path, tmp_path: Path, seeded_db: Path
) -> None:
    from playwright.sync_api import expect

    sam = Journey(browser, shared_server, shots, "student", "sam")
    sam.page.goto(f"{shared_server}/?reviewer=kim")
    expect(sam.page.get_by_role("button", name="Sign in")).to_be_visible()
    sam.shot("01_sign_in")
    sam.sign_in("?reviewer=kim")
    expect(sam.page.get_by_role("heading", name="My assignments")).to_be_visible()
    expect(sam.page.get_by_text("0 of 2 submitted")).to_be_visible()
    assert not sam.answers_shown() and "kim" not in sam.text()
    sam.shot("02_my_assignments")

    sam.go("Teaching")
    expect(sam.page.get_by_text("The image, without any boxes")).to_be_visible()
    assert not sam.answers_shown()
    sam.shot("03_teaching_before")
    sam.page.get_by_role("button", name="Next").click()
    sam.settle()
    expect(sam.page.get_by_text("case-eff · image case-eff.png")).to_be_visible()
    sam.shot("03b_teaching_next")
    sam.key("k")  # back to the first case with the keyboard
    expect(sam.page.get_by_text("case-ptx · image case-ptx.png")).to_be_visible()
    assert not sam.answers_shown()

    sam.go("My work")
    with sam.page.expect_download() as download:
        sam.page.get_by_role("button", name="Download CSV").click()
    before = tmp_path / "before.csv"
    download.value.save_as(before)
    assert list(csv.DictReader(before.open())) == []  # nothing of sam's yet, and nothing of anyone else's

    for url in STAFF_URLS:  # every staff page by URL: a fresh session, signed in again as sam
        sam.sign_in(url)
        assert not sam.answers_shown(), url
        for heading in ("Review", "Worklist", "Evaluation", "Export", "Models", "Assignments", "Class"):
            expect(sam.page.get_by_role("heading", name=heading, exact=True)).to_have_count(0)
    sam.shot("04_staff_url_refused")

    sam.sign_in()
    sam.go("Teaching")
    sam.page.get_by_role("textbox", name="Impression").fill("Right apical pneumothorax.")
    sam.page.get_by_role("button", name="Submit my impression").click()
    expect(sam.page.get_by_role("heading", name="1 of 1 finding found, no over-call")).to_be_visible()
    expect(sam.page.get_by_text("can't-miss: you found it")).to_be_visible()
    sam.shot("05_teaching_after")
    sam.page.get_by_role("button", name="Next").click()
    expect(sam.page.get_by_text("case-eff · image case-eff.png")).to_be_visible()
    expect(sam.page.get_by_text("1 of 2 submitted")).to_be_visible()
    expect(sam.page.get_by_text("The image, without any boxes")).to_be_visible()
    sam.settle()
    assert not sam.answers_shown(), sam.text()  # case-eff: still nothing before submitting it

    sam.go("My work")
    with sam.page.expect_download() as download:
        sam.page.get_by_role("button", name="Download CSV").click()
    after = tmp_path / "after.csv"
    download.value.save_as(after)
    rows = list(csv.DictReader(after.open()))
    assert {(r["student"], r["case_id"], r["label"], r["outcome"]) for r in rows} == {
        ("sam", "case-ptx", "pneumothorax", "found")
    }
    sam.settle()
    with Store.open(seeded_db, lock_timeout_s=10) as store:
        assert [d.author for d in store.drafts.for_case("case-ptx", kind="student")] == ["kim", "sam"]
        exports = [(e.actor, e.detail) for e in AuditTrail(store).recent() if e.action == "export"]
    assert exports == [("sam", "own work, csv")] * 2


def test_a_reviewer_audits_as_themselves(
    shared_server: str, browser: Any, shots: Path, seeded_db: Path
) -> None:
    from playwright.sync_api import expect

    rita = Journey(browser, shared_server, shots, "reviewer", "rita")
    rita.sign_in("?reviewer=erin")
    expect(rita.page.get_by_role("heading", name="Worklist")).to_be_visible()
    expect(rita.page.get_by_text("0 of 4 reviewed by you")).to_be_visible()
    rita.shot("01_worklist")
    for link in ("Assignments", "Class"):
        expect(rita.page.get_by_role("link", name=link)).to_have_count(0)
    rita.go("Review")
    expect(rita.page.locator('[class*="st-key-flag_card_"]').first).to_be_visible()
    rita.page.get_by_role("button", name="Accept").first.click()
    expect(rita.page.get_by_text("Accepted by rita")).to_be_visible()
    rita.shot("02_review")
    rita.go("Export")
    with rita.page.expect_download() as download:
        rita.page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(Path(download.value.path()).read_text().splitlines()))
    assert {(r["row_kind"], r["reviewer"]) for r in rows} == {("decision", "rita")}
    rita.settle()
    with Store.open(seeded_db, lock_timeout_s=10) as store:
        reviewers = {d.reviewer for d in store.decisions.current().values()}
        exports = [(e.actor, e.detail) for e in AuditTrail(store).recent() if e.action == "export"]
    assert reviewers == {"rita"}
    assert exports == [("rita", "decisions, csv, all reviewers, all sources")]  # the trail names who


def test_an_educator_builds_an_assignment_and_reads_the_class(
    shared_server: str, browser: Any, shots: Path
) -> None:
    from playwright.sync_api import expect

    erin = Journey(browser, shared_server, shots, "educator", "erin")
    erin.sign_in()
    erin.go("Assignments")
    erin.page.get_by_label("Name").fill("Board review 1")
    erin.page.get_by_text("a list of case ids").click()
    erin.settle()
    erin.page.get_by_label("Case ids, one per line (or separated by commas)").fill(
        "case-normal, case-phantom"
    )
    erin.page.get_by_role("button", name="Create assignment").click()
    expect(erin.page.get_by_text("Board review 1 · 2 cases")).to_be_visible()
    erin.shot("01_assignments")
    erin.go("Class")
    expect(erin.page.get_by_role("heading", name="Per student")).to_be_visible()
    erin.shot("02_class_students")
    erin.page.get_by_role("tab", name="Cases").click()
    erin.settle()
    expect(erin.page.get_by_role("heading", name="Hard cases first")).to_be_visible()
    erin.shot("03_class_cases")
    erin.page.get_by_role("tab", name="Feedback").click()
    erin.settle()
    expect(erin.page.get_by_text("0 of 1 finding found, no over-call")).to_be_visible()  # kim's impression
    erin.page.get_by_label("Note for the student").last.fill("Look at the right apex again.")
    erin.page.get_by_role("button", name="Accept").last.click()
    expect(erin.page.get_by_text("Agreed by erin: Look at the right apex again.")).to_be_visible()
    erin.shot("04_class_feedback")
