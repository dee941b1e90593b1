"""What the browser tests share: a `streamlit run` server on 127.0.0.1 over a database, Debian's
Chromium through Playwright (no browser download), and waiting for a Streamlit run to finish."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STEP_TIMEOUT_MS = 20_000

MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.is_file(), reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    ),
    pytest.mark.skipif(
        find_spec("playwright") is None, reason="playwright is not installed (pip install playwright)"
    ),
]


def settle(page: Any) -> None:
    """Wait until Streamlit has finished the current run."""
    from playwright.sync_api import expect

    page.wait_for_timeout(400)
    expect(page.locator('[data-testid="stStatusWidget"]')).to_have_count(0)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0)


def image_box(page: Any) -> dict[str, float]:
    """Where the Review image is on the page (the viewer's <img>, inside its shadow root)."""
    image = page.locator(".cxr-frame img").first
    image.wait_for(state="visible")
    page.wait_for_function(
        "() => [...document.querySelectorAll('*')].some((e) => e.shadowRoot"
        " && e.shadowRoot.querySelector('.cxr-frame img')?.complete)"
    )
    found = image.bounding_box()
    assert found is not None
    return dict(found)


def wholly_on_screen(box: dict[str, float], size: tuple[int, int]) -> bool:
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size[0]
        and box["y"] + box["height"] <= size[1]
    )


def open_canvas(page: Any) -> dict[str, float]:
    """Switch the Review image to drawing; the drawing canvas's box on the page once it has settled."""
    from playwright.sync_api import expect

    page.get_by_text("Draw", exact=True).click()
    canvas = page.locator("canvas.upper-canvas").first
    expect(canvas).to_be_visible()
    settle(page)
    box = canvas.bounding_box()
    assert box is not None
    return dict(box)
