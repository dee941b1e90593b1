"""The Review page in a real browser, as a person works it: the image first and wholly on screen,
the keyboard flow (a, d, Esc out of a text box, ?, j), j/k following the worklist's filter (kept
in the URL and across pages, dropdowns opening at one click), a drawn box moved, then deleted
with the deletion recorded, drawing on a zoomed view, the R/L marker, old addresses, and
screenshots at 1280x720 and 1920x1080 (copied to ``<repo>/screenshots/``).

One server and one browser serve the whole module; each test works as its own reviewer, on
cases the others leave alone where it matters.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from data.store import Store
from tests.workstation.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MARKS,
    STEP_TIMEOUT_MS,
    image_box,
    open_canvas,
    settle,
    wholly_on_screen,
)
from tests.workstation.conftest import seed_store
from tests.workstation.served import streamlit_server
from workstation.overlay import orientation_marks, placeholder, render

pytestmark = MARKS
LAPTOP = (1280, 720)
DESKTOP = (1920, 1080)
CARDS = '[class*="st-key-flag_card_"]'


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("review-browser")
    with Store.open(folder / "audit.duckdb") as store:
        seed_store(store, folder / "images")
    return folder / "audit.duckdb"


@pytest.fixture(scope="module")
def url(seeded: Path) -> Iterator[str]:
    with streamlit_server(seeded, seeded.parent / "streamlit.log") as address:
        yield address


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _page(browser: Any, size: tuple[int, int] = LAPTOP) -> Any:
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    return page


def _open(page: Any, url: str, case_id: str, reviewer: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/review?case={case_id}&reviewer={reviewer}")
    expect(page.get_by_role("heading", name=case_id)).to_be_visible()
    image_box(page)
    settle(page)


def _image_pixels(page: Any) -> np.ndarray:
    """The picture the viewer shows, decoded from its data URL."""
    source = page.locator(".cxr-frame img").first.get_attribute("src")
    assert source and source.startswith("data:image/jpeg;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).convert("RGB"))


def test_the_keyboard_flow(browser: Any, url: str, seeded: Path) -> None:
    from playwright.sync_api import expect

    page = _page(browser)
    _open(page, url, "case-ptx", "keys")
    cards = page.locator(CARDS)
    urgent, missing = cards.filter(has_text="URGENT"), cards.filter(has_text="MISSING")
    assert wholly_on_screen(image_box(page), LAPTOP)
    expect(urgent.get_by_text("focused")).to_be_visible()

    page.keyboard.press("a")
    expect(urgent.get_by_text("Accepted by keys")).to_be_visible()
    expect(missing.get_by_text("focused")).to_be_visible()  # the focus moved on, and shows
    panel = page.locator(".st-key-rv_flags").bounding_box()
    card = missing.bounding_box()
    assert panel and card and panel["y"] <= card["y"] and card["y"] + 40 <= panel["y"] + panel["height"]

    # A key typed into a text box is text; Esc leaves the box and the keys work again.
    note = missing.get_by_placeholder("Note (optional); Enter or Esc, then a or d")
    note.click()
    page.keyboard.type("d")
    page.wait_for_timeout(800)
    expect(note).to_have_value("d")
    expect(missing.get_by_text("Dismissed by keys")).to_have_count(0)
    page.keyboard.press("Escape")
    settle(page)
    page.keyboard.press("d")
    expect(missing.get_by_text("Dismissed by keys")).to_be_visible()
    expect(page.get_by_text("Case complete")).to_be_visible()

    page.keyboard.press("?")
    expect(page.get_by_text("next case with flags you have not decided")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    expect(page.get_by_role("heading", name="case-ptx")).to_have_count(0)

    with Store.open(seeded, lock_timeout_s=10) as store:
        audit = store.audits.latest("case-ptx")
        assert audit is not None
        stored = [store.decisions.current_for(flag_id, "keys") for flag_id in audit.flag_ids]
    assert [(d.decision, d.note) for d in stored if d] == [("accept", None), ("dismiss", "d")]


def test_j_and_k_follow_the_worklist_filter_which_stays_in_the_url(browser: Any, url: str) -> None:
    from playwright.sync_api import expect

    page = _page(browser)
    page.goto(f"{url}/?reviewer=filters")
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    settle(page)

    def choose(label: str, option: str) -> None:
        page.get_by_label(label).click()  # one click opens the list, even right after a rerun
        expect(page.get_by_role("listbox")).to_be_visible()
        page.get_by_role("option", name=option, exact=True).click()
        settle(page)

    choose("Images", "real images only")
    choose("Sort", "case id")
    assert "images=real" in page.url and "sort=case+id" in page.url  # bound widgets write their labels
    page.get_by_placeholder("case or image id").fill("case-eff")
    page.keyboard.press("Enter")
    settle(page)
    page.get_by_role("button", name="Open in Review").click()
    expect(page.get_by_role("heading", name="case-eff")).to_be_visible()

    # In case-id order without the phantom: eff, normal, ptx (the unfiltered order starts with ptx).
    for expected in ("case-normal", "case-ptx"):
        settle(page)
        page.keyboard.press("j")
        expect(page.get_by_role("heading", name=expected)).to_be_visible()
    settle(page)
    page.keyboard.press("j")
    expect(page.get_by_text("That was the last case of the worklist.")).to_be_visible()
    page.keyboard.press("k")
    expect(page.get_by_role("heading", name="case-normal")).to_be_visible()

    page.get_by_role("link", name="Worklist").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    settle(page)
    assert "images=real" in page.url
    page.reload()
    expect(page.get_by_text("Cases matching")).to_be_visible()
    settle(page)
    expect(page.locator('[data-testid="stMetricValue"]').first).to_have_text("3")  # the phantom stays out


def test_a_drawn_box_is_moved_then_deleted_and_the_deletion_is_recorded(
    browser: Any, url: str, seeded: Path
) -> None:
    from playwright.sync_api import expect

    page = _page(browser)
    _open(page, url, "case-normal", "boxes")
    frame = open_canvas(page)

    def at(x: float, y: float) -> tuple[float, float]:
        return frame["x"] + frame["width"] * x, frame["y"] + frame["height"] * y

    def drag(start: tuple[float, float], end: tuple[float, float]) -> None:
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*end, steps=10)
        page.mouse.up()

    def save() -> None:
        page.get_by_role("button", name="Save", exact=True).click()
        settle(page)

    def current() -> list[Any]:
        with Store.open(seeded, lock_timeout_s=10) as store:
            return [b for b in store.reviewer_findings.for_case("case-normal") if b.reviewer == "boxes"]

    drag(at(0.2, 0.2), at(0.4, 0.4))
    expect(page.get_by_text("Unsaved: 1 new box")).to_be_visible()
    save()
    (drawn,) = current()

    page.get_by_role("button", name="Edit").click()
    page.mouse.click(*at(0.3, 0.3))
    drag(at(0.3, 0.3), at(0.5, 0.3))
    expect(page.get_by_text("Unsaved: 1 moved or resized")).to_be_visible()
    save()
    (moved,) = current()
    assert moved.finding_id == drawn.finding_id and moved.box.x0 > drawn.box.x0 + 0.1

    page.get_by_role("button", name="Edit").click()
    page.mouse.click(*at(0.5, 0.3))
    page.get_by_role("button", name="Delete selected").click()
    expect(page.get_by_text("Saving deletes #1 pleural effusion")).to_be_visible()
    save()
    assert current() == []
    expect(page.get_by_text("deleted by boxes")).to_be_visible()
    with Store.open(seeded, lock_timeout_s=10) as store:
        (gone,) = store.reviewer_findings.deleted("case-normal")
    assert (gone.finding.finding_id, gone.deleted_by) == (drawn.finding_id, "boxes")


def test_drawing_on_a_zoomed_view_lands_where_it_was_drawn(browser: Any, url: str, seeded: Path) -> None:
    page = _page(browser)
    _open(page, url, "case-eff", "zoomer")
    before = page.locator(".cxr-frame img").first.get_attribute("src")
    shown = image_box(page)
    page.mouse.move(shown["x"] + shown["width"] * 0.8, shown["y"] + shown["height"] * 0.5)
    for _ in range(4):  # the mouse wheel zooms about the pointer: into the image's right side
        page.mouse.wheel(0, -120)
    page.wait_for_function(
        "(old) => [...document.querySelectorAll('*')].some((e) => e.shadowRoot"
        " && e.shadowRoot.querySelector('.cxr-frame img')?.getAttribute('src') !== old)",
        arg=before,
    )
    settle(page)

    frame = open_canvas(page)
    page.mouse.move(frame["x"] + frame["width"] * 0.4, frame["y"] + frame["height"] * 0.4)
    page.mouse.down()
    page.mouse.move(frame["x"] + frame["width"] * 0.6, frame["y"] + frame["height"] * 0.6, steps=10)
    page.mouse.up()
    page.get_by_role("button", name="Save", exact=True).click()
    settle(page)

    with Store.open(seeded, lock_timeout_s=10) as store:
        (box,) = [b for b in store.reviewer_findings.for_case("case-eff") if b.reviewer == "zoomer"]
    # The middle fifth of a view zoomed in on the right side: small, and right of the centre.
    assert box.box.x0 > 0.5 and box.box.width < 0.15


def test_the_rl_marker_puts_the_patients_right_on_the_viewers_left(browser: Any, url: str) -> None:
    page = _page(browser)
    _open(page, url, "case-ptx", "marker")
    assert "R/L marker" in (page.locator(".cxr-frame img").first.get_attribute("alt") or "")

    pixels = _image_pixels(page)
    height, width = pixels.shape[:2]
    expected = np.asarray(
        render(placeholder(width, height), [], max_side=max(width, height), orientation=True)
    )
    (r_letter, r_rect), (l_letter, l_rect) = orientation_marks((width, height))

    def patch(image: np.ndarray, rect: tuple[float, float, float, float]) -> np.ndarray:
        x0, y0, x1, y1 = (round(v) for v in rect)
        return image[y0 : y1 + 1, x0 : x1 + 1].astype(float)

    def difference(a: np.ndarray, b: np.ndarray) -> float:
        rows, columns = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        return float(np.abs(a[:rows, :columns] - b[:rows, :columns]).mean())

    shown_left, shown_right = patch(pixels, r_rect), patch(pixels, l_rect)
    drawn_r, drawn_l = patch(expected, r_rect), patch(expected, l_rect)
    assert (r_letter, l_letter) == ("R", "L")
    # Each corner shows its own letter (JPEG blurs a little): the left is R, not L, and the right L.
    assert difference(shown_left, drawn_r) < 12 < difference(shown_left, drawn_l)
    assert difference(shown_right, drawn_l) < 12 < difference(shown_right, drawn_r)


def test_an_old_address_opens_the_page_it_meant(browser: Any, url: str) -> None:
    from playwright.sync_api import expect

    page = _page(browser)
    page.goto(f"{url}/worklist?reviewer=old")

    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    settle(page)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    assert page.url.split("?")[0].rstrip("/") == url


@pytest.mark.parametrize("size", [LAPTOP, DESKTOP], ids=["1280x720", "1920x1080"])
def test_the_pages_at_laptop_and_desktop_sizes(
    browser: Any, url: str, shots: Path, size: tuple[int, int]
) -> None:
    from playwright.sync_api import expect

    name = f"{size[0]}x{size[1]}"
    page = _page(browser, size)
    _open(page, url, "case-ptx", "look")
    assert wholly_on_screen(image_box(page), size)
    page.screenshot(path=str(shots / f"review_{name}.png"))
    assert wholly_on_screen(open_canvas(page), size)
    page.screenshot(path=str(shots / f"review_drawing_{name}.png"))
    page.goto(f"{url}/?reviewer=look")
    expect(page.get_by_text("Cases matching")).to_be_visible()
    settle(page)
    page.screenshot(path=str(shots / f"worklist_{name}.png"))
    page.goto(f"{url}/evaluation?reviewer=look")
    expect(page.get_by_role("heading", name="By flag type")).to_be_visible()
    settle(page)
    page.screenshot(path=str(shots / f"evaluation_{name}.png"), full_page=True)
